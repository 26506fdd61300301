"""What an HDR network can score on fusion metrics, before any training: its display ceiling.

An HDR network (STHDR) outputs radiance; ``edgemef fuse`` shows it through a tone map
(:func:`edgemef.netio.tonemap`). Fusion metrics such as MEF-SSIM and Q^AB/F compare the displayed
image with the input frames, so the tone map alone bounds the score. This benchmark measures that
bound with no network at all:

* synthetic labelled sets (``--synthetic N``): the renderer's true radiance, shown by each tone
  map (re-exposed at the renderer's exposure ratios for 'exposure-fusion'): what a perfect HDR
  network would score;
* real pairs (``--pairs DIR``, e.g. mefb-dev): the classical HDR merge of the frames
  (:func:`edgemef.hdr.merge_radiance`, estimated exposure ratios), shown by each tone map;

'exposure-fusion' is scored twice: re-exposed by a pure gamma, and in the frames' own tone curves
(:mod:`edgemef.tonecurve`); 'reference-fusion' (the reference frame as captured, the others
re-exposed in their tone curves) is what ``edgemef fuse`` shows. Mertens exposure fusion of the
same frames stands beside them, scored the same way.

    python -m edgemef.benchmarks.hdr_display --pairs ../shared/data/mefb-dev --synthetic 32
"""
from __future__ import annotations

import json
import sys

import click
import numpy as np
from tqdm import tqdm

from edgemef.errors import EdgemefError
from edgemef.fusion import fuse_mertens
from edgemef.hdr import exposure_ratios, merge_radiance
from edgemef.io import atomic_write_bytes, find_bracket_sets, load_brackets, shrink
from edgemef.metrics import score
from edgemef.netio import TONEMAPS, tonemap

METRICS = ("mef_ssim", "qabf")
MATCHED = "exposure-fusion in the frames' own tone curves"
WITH_FRAMES = ("reference-fusion",)  # the tone maps that need the frames themselves


def score_rows(items, label: str, desc: str) -> dict[str, dict[str, float]]:
    """Mean metrics per row over ``items`` = [(frames, ratios, radiance)]: the radiance shown by
    each tone map, and Mertens of the frames."""
    matched = f"{label}, {MATCHED}"
    rows: dict[str, list[dict]] = {f"{label}, {t}": [] for t in TONEMAPS if t not in WITH_FRAMES}
    rows[matched] = []
    rows.update({f"{label}, {t}": [] for t in WITH_FRAMES})
    rows["Mertens (the frames themselves)"] = []
    for frames, ratios, radiance in tqdm(items, desc=desc, leave=False, file=sys.stderr):
        for t in TONEMAPS:
            shown = tonemap(radiance, t, ratios=ratios, frames=frames if t in WITH_FRAMES else None)
            rows[f"{label}, {t}"].append(score(shown, frames, names=list(METRICS)))
        shown = tonemap(radiance, "exposure-fusion", ratios=ratios, frames=frames)
        rows[matched].append(score(shown, frames, names=list(METRICS)))
        rows["Mertens (the frames themselves)"].append(score(fuse_mertens(frames), frames, names=list(METRICS)))
    return {k: {m: float(np.mean([r[m] for r in v])) for m in METRICS} for k, v in rows.items()}


def print_rows(heading: str, rows: dict[str, dict[str, float]]) -> None:
    click.echo(heading)
    click.echo("| shown image | " + " | ".join(METRICS) + " |")
    click.echo("|---|" + "---|" * len(METRICS))
    for name, r in rows.items():
        click.echo(f"| {name} | " + " | ".join(f"{r[m]:.4f}" for m in METRICS) + " |")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pairs", "pairs_dir", default="", help="Folder of real bracket pairs (<scene>/<scene>_A.*, _B.*).")
@click.option("--synthetic", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also score this many synthetic labelled sets (the renderer's true radiance).")
@click.option("--synthetic-size", type=click.IntRange(min=32), default=256, show_default=True,
              help="Side of the synthetic sets in pixels.")
@click.option("--max-side", type=click.IntRange(min=0), default=512, show_default=True,
              help="Downscale real pairs so the longer side is at most this (0: full size).")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="Only the first N real pairs (0: all).")
@click.option("--json", "json_path", default="", help="Also write the tables to this JSON file (atomically).")
def main(pairs_dir, synthetic, synthetic_size, max_side, limit, json_path):
    """The MEF-SSIM and Q^AB/F an HDR network's output reaches through each display tone map."""
    try:
        if not pairs_dir and not synthetic:
            raise EdgemefError("nothing to score: give --pairs DIR and/or --synthetic N")
        sets = find_bracket_sets(pairs_dir)[: limit or None] if pairs_dir else []
        if pairs_dir and not sets:
            raise EdgemefError(f"{pairs_dir}: no bracket sets found")
        record = {}
        if synthetic:
            from edgemef.train.synthetic_eval import SYNTHETIC_SEED, synthetic_sets

            labelled = synthetic_sets(synthetic, SYNTHETIC_SEED, (synthetic_size,) * 2)
            items = [(s.images, np.asarray(s.times) / s.times[-1], s.hdr) for s in labelled]
            rows = score_rows(items, "true radiance", "synthetic")
            record["synthetic"] = {"count": synthetic, "seed": SYNTHETIC_SEED, "rows": rows}
            print_rows(f"{synthetic} synthetic sets ({synthetic_size}px): a perfect HDR network, shown", rows)
        if sets:
            items = []
            for _, files in tqdm(sets, desc="loading", leave=False, file=sys.stderr):
                frames = shrink([b.image for b in load_brackets(files)], max_side)
                ratios = exposure_ratios(frames)
                items.append((frames, ratios.ratios, merge_radiance(frames, ratios)))
            rows = score_rows(items, "classical merge", "pairs")
            record["pairs"] = {"folder": pairs_dir, "count": len(sets), "max_side": max_side, "rows": rows}
            print_rows(f"{len(sets)} pairs from {pairs_dir} (longer side <= {max_side or 'full'}): "
                       "classical HDR merge, shown", rows)
        if json_path:
            atomic_write_bytes(json_path, (json.dumps(record, indent=2) + "\n").encode())
    except EdgemefError as e:
        raise click.ClickException(str(e)) from None


if __name__ == "__main__":
    main()
