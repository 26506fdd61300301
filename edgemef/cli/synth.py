"""`edgemef synth`: render synthetic bracket sets (under/over + EV0, label, radiance) to disk.

``--dynamic`` and ``--dynamic-test`` write the dynamic-scene sets of :mod:`edgemef.data.dynamic`
and :mod:`edgemef.data.dynamic_testset` instead (see :func:`_write_dynamic`).
"""
from __future__ import annotations

from pathlib import Path

import click

from edgemef.sizes import click_callback, parse_hw


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", "-n", type=click.IntRange(min=1), default=16, show_default=True,
              help="Number of bracket sets to render.")
@click.option("--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True,
              help="Sequence seed; set i uses a seed derived from (seed, i), as SyntheticBrackets does.")
@click.option("--size", default="256x256", show_default=True,
              callback=click_callback(parse_hw, minimum=32, maximum=4096), help="Frame size as HxW (height x width).")
@click.option("--ev-gap", nargs=2, type=float, default=(2.0, 6.0), show_default=True,
              help="Range MIN MAX of the EV difference between the over and the under frame.")
@click.option("--contact-rows", type=click.IntRange(min=0), default=8, show_default=True,
              help="Sets shown in OUT/contact_sheet.png (rows of under | over | ev0 | label); 0 for none.")
@click.option("--overwrite", is_flag=True,
              help="Write into a non-empty OUT; set folders left by an earlier `edgemef synth` run are removed.")
@click.option("--dynamic", is_flag=True,
              help="Write dynamic sets: objects inserted into the under frame inside boxes found on the "
                   "over/label mask (over and label untouched), with mask, alpha and boxes.json.")
@click.option("--dynamic-test", is_flag=True,
              help="Write a moving-object test set to OUT/test_dynamic and its static twin to OUT/test_static "
                   "(seeds from a stream apart from the training seeds).")
@click.option("--cutouts", type=click.Path(path_type=Path), default=None,
              help="Folder of RGBA PNG cut-outs to insert instead of the generated figures (with --dynamic/--dynamic-test).")
@click.option("--mask-epsilon", type=click.FloatRange(min=0.0, max=1.8), default=0.5, show_default=True,
              help="Mask threshold on the over-label RGB distance, on [0, 1] pixel values.")
@click.option("--mask-tau", type=click.FloatRange(min=0.0, max=255.0), default=245.0, show_default=True,
              help="Mask threshold on the over frame's grey level, on the 8-bit scale 0..255.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def synth_cmd(out, count, seed, size, ev_gap, contact_rows, overwrite, dynamic, dynamic_test, cutouts,
              mask_epsilon, mask_tau, quiet):
    """Render COUNT synthetic bracket sets into OUT.

    Each set goes to OUT/<index>/: under.png and over.png (the brackets, so that
    `edgemef eval --pairs OUT` and `edgemef fuse` see exactly two images), ref/ev0.png (the
    correctly exposed frame), ref/label.png (the fused reference), ref/radiance.exr or .npy
    (linear scene radiance) and meta.json (seeds and exposure times). Example:

        edgemef synth runs/synth --count 100 --seed 1 --size 256x384 --ev-gap 2 4

    With --dynamic, OUT/<index>/ holds a dynamic set instead: under.png with moving objects
    inserted in the boxes (brightness fitted per box), over.png untouched, ref/label.png,
    ref/under_static.png, ref/mask.png, ref/alpha.png, boxes.json; OUT/contact_sheet.png shows
    masks, boxes and frames. --dynamic-test writes COUNT test sets with real motion to
    OUT/test_dynamic/<index>/ and their static twins to OUT/test_static/<index>/, and
    OUT/test_contact_sheet.png. Example:

        edgemef synth runs/dyn --count 200 --dynamic --dynamic-test --cutouts my_people/
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
    from edgemef.cli import option_given

    for name, flag in (("cutouts", "--cutouts"), ("mask_epsilon", "--mask-epsilon"), ("mask_tau", "--mask-tau")):
        if option_given(name) and not (dynamic or dynamic_test):
            raise EdgemefError(f"{flag} needs --dynamic or --dynamic-test")
    if dynamic or dynamic_test:
        from edgemef.data.silhouettes import figure_source

        source = figure_source(cutouts)  # a bad folder fails before anything is written
        prepare_out(out, overwrite)
        tune_malloc()
        _write_dynamic(out, count, seed, size, (lo, hi), contact_rows, overwrite, dynamic, dynamic_test,
                       source, mask_epsilon, mask_tau, quiet)
        return
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
        click.echo(f"wrote {count} set{'s' * (count != 1)} ({size[0]}x{size[1]}, H x W) to {out} in {dt:.1f} s "
                   f"({dt / count * 1e3:.0f} ms/set incl. writing)")


def _write_dynamic(out, count, seed, size, ev_gap, contact_rows, overwrite, dynamic, dynamic_test, source,
                   epsilon, tau, quiet):
    """The --dynamic / --dynamic-test loops: render, write, contact sheets, summary."""
    import sys
    import time

    from tqdm import tqdm

    from edgemef.data.brackets import item_seed, render_bracket_set
    from edgemef.data.dynamic import dynamic_seed, synthesize_dynamic
    from edgemef.data.dynamic_io import dynamic_sheet, motion_sheet, write_dynamic_set, write_motion_pair, write_sheet
    from edgemef.data.dynamic_testset import render_motion_pair, test_seed
    from edgemef.data.writer import prepare_out

    width = max(4, len(str(count - 1)))
    t0 = time.perf_counter()
    if dynamic:
        shown, boxes, empty = [], 0, 0
        for i in tqdm(range(count), desc="synth dynamic", unit="set", file=sys.stderr, disable=quiet):
            s = item_seed(seed, i)
            ds = synthesize_dynamic(render_bracket_set(s, size, ev_gap), dynamic_seed(s), source, epsilon, tau)
            write_dynamic_set(out / f"{i:0{width}d}", ds, index=i, sequence_seed=seed, dynamic_seed=dynamic_seed(s))
            boxes += len(ds.boxes)
            empty += not ds.boxes
            if len(shown) < contact_rows:
                shown.append(ds)
        if shown:
            write_sheet(out / "contact_sheet.png", dynamic_sheet(shown))
        if not quiet:
            click.echo(f"wrote {count} dynamic set{'s' * (count != 1)} ({size[0]}x{size[1]}, H x W, "
                       f"{boxes} inserted objects, "
                       f"{empty} sets without a qualifying box) to {out}")
    if dynamic_test:
        for kind in ("dynamic", "static"):
            prepare_out(out / f"test_{kind}", overwrite)
        shown = []
        for i in tqdm(range(count), desc="synth dynamic test", unit="pair", file=sys.stderr, disable=quiet):
            p = render_motion_pair(test_seed(seed, i), size, ev_gap, source)
            write_motion_pair(out, f"{i:0{width}d}", p, i, seed)
            if len(shown) < contact_rows:
                shown.append(p)
        if shown:
            write_sheet(out / "test_contact_sheet.png", motion_sheet(shown))
        if not quiet:
            click.echo(f"wrote {count} dynamic test sets to {out / 'test_dynamic'} and their static twins "
                       f"to {out / 'test_static'}")
    if not quiet:
        click.echo(f"done in {time.perf_counter() - t0:.1f} s")
