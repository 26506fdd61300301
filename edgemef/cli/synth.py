"""`edgemef synth`: render synthetic bracket sets (under/over + EV0, label, radiance) to disk."""
from __future__ import annotations

from pathlib import Path

import click


def _parse_size(ctx, param, value: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not HxW, e.g. 256x256") from None
    if h < 32 or w < 32 or h > 4096 or w > 4096:
        raise click.BadParameter(f"{h}x{w}: each side must be 32..4096 pixels")
    return h, w


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", "-n", type=click.IntRange(min=1), default=16, show_default=True,
              help="Number of bracket sets to render.")
@click.option("--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True,
              help="Sequence seed; set i uses a seed derived from (seed, i), as SyntheticBrackets does.")
@click.option("--size", default="256x256", show_default=True, callback=_parse_size,
              help="Frame size as HxW (height x width).")
@click.option("--ev-gap", nargs=2, type=float, default=(2.0, 6.0), show_default=True,
              help="Range MIN MAX of the EV difference between the over and the under frame.")
@click.option("--contact-rows", type=click.IntRange(min=0), default=8, show_default=True,
              help="Sets shown in OUT/contact_sheet.png (rows of under | over | ev0 | label); 0 for none.")
@click.option("--overwrite", is_flag=True,
              help="Write into a non-empty OUT; set folders left by an earlier `edgemef synth` run are removed.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def synth_cmd(out, count, seed, size, ev_gap, contact_rows, overwrite, quiet):
    """Render COUNT synthetic bracket sets into OUT.

    Each set goes to OUT/<index>/: under.png and over.png (the brackets, so that
    `edgemef eval --pairs OUT` and `edgemef fuse` see exactly two images), ref/ev0.png (the
    correctly exposed frame), ref/label.png (the fused reference), ref/radiance.exr or .npy
    (linear scene radiance) and meta.json (seeds and exposure times). Example:

        edgemef synth runs/synth --count 100 --seed 1 --size 256x384 --ev-gap 2 4
    """
    import sys
    import time

    from tqdm import tqdm

    from edgemef.data.brackets import item_seed, render_bracket_set
    from edgemef.data.fastops import tune_malloc
    from edgemef.data.writer import prepare_out, write_contact_sheet, write_set
    from edgemef.errors import EdgemefError

    lo, hi = ev_gap
    if not 0.0 < lo <= hi <= 16.0:
        raise EdgemefError(f"--ev-gap {lo:g} {hi:g}: need 0 < MIN <= MAX <= 16")
    prepare_out(out, overwrite)
    tune_malloc()
    width = max(4, len(str(count - 1)))
    shown = []
    t0 = time.perf_counter()
    for i in tqdm(range(count), desc="synth", unit="set", file=sys.stderr, disable=quiet):
        s = render_bracket_set(item_seed(seed, i), size, (lo, hi))
        write_set(out / f"{i:0{width}d}", s, index=i, sequence_seed=seed)
        if len(shown) < contact_rows:
            shown.append(s)
    if shown:
        write_contact_sheet(out / "contact_sheet.png", shown)
    if not quiet:
        dt = time.perf_counter() - t0
        click.echo(f"wrote {count} sets ({size[0]}x{size[1]}) to {out} in {dt:.1f} s "
                   f"({dt / count * 1e3:.0f} ms/set incl. writing)")
