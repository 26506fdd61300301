"""`edgemef demo`: the embedded default job, fuse the bundled samples with every method."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np


def side_by_side(tiles: list[tuple[str, np.ndarray]], height: int = 240) -> np.ndarray:
    """Label and concatenate float RGB images horizontally at one height (float RGB out)."""
    import cv2

    from edgemef.io import to_uint

    out = []
    for title, img in tiles:
        h, w = img.shape[:2]
        tile = cv2.resize(to_uint(img), (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
        cv2.rectangle(tile, (0, 0), (tile.shape[1], 22), (0, 0, 0), -1)
        cv2.putText(tile, title, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        out += [tile, np.full((height, 4, 3), 255, np.uint8)]
    return np.concatenate(out[:-1], axis=1).astype(np.float32) / 255.0


@click.command("demo")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("edgemef-demo"), show_default=True,
              help="Folder for the fused images and the side-by-side comparison PNGs.")
@click.option("--method", "-m", "methods", multiple=True,
              help="Method(s) to run (repeatable). Default: every registered method.")
@click.option("--align/--no-align", default=True, show_default=True, help="Align the brackets first.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the closing summary line (and errors).")
def demo_cmd(out_dir, methods, align, quiet):
    """Fuse the bundled sample brackets with every method and write a side-by-side per scene.

    This is the embedded default job: it needs no input and shows what edgemef does, with the
    time each stage took.
    """
    from edgemef.cli.fuse import format_timings
    from edgemef.errors import EdgemefError
    from edgemef.fusion import METHODS, fuse, method_file_tag, require_method
    from edgemef.io import load_brackets, save_image
    from edgemef.samples import sample_sets

    methods = list(methods) or list(METHODS)
    for method in methods:  # before any work; a known method that fails on a scene is skipped below
        require_method(method)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EdgemefError(f"{out_dir}: cannot create the output folder ({e.strerror})") from None
    say = (lambda line: None) if quiet else click.echo
    written, sheets = 0, 0
    for name, files in sample_sets():
        brackets = load_brackets(files)
        h, w = brackets[0].image.shape[:2]
        say(f"{name}: {len(brackets)} brackets, {w}x{h} (W x H)")
        tiles = [(f"input {i + 1}", b.image) for i, b in enumerate(brackets)]
        for method in methods:
            try:
                res = fuse(brackets, method=method, align=align)
            except EdgemefError as e:  # e.g. a 2-exposure network on a 3-exposure scene
                say(f"  {method:<10} skipped: {e}")
                continue
            path = save_image(out_dir / f"{name}_{method_file_tag(method)}.png", res.image)
            written += 1
            tiles.append((method, res.image))
            say(f"  {method:<10} -> {path}")
            for note in res.notes:
                say(f"    note: {note}")
            say("    " + format_timings(res.timings))
        sheet = save_image(out_dir / f"{name}_side_by_side.png", side_by_side(tiles))
        sheets += 1
        say(f"  comparison -> {sheet}")
    click.echo(f"wrote {written} fused images and {sheets} side-by-side comparisons to {out_dir}")
