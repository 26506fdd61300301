"""The de-ghosting study (Su, NTU 2025, Table 4.4 analogue): does training on synthesised
dynamic data keep ghosts out, at no cost on static scenes?

Test data: :func:`edgemef.data.dynamic_testset.render_motion_pair` -- objects that really move
between the rendered exposures (the over frame is the reference, the label follows its
geometry) and the static twin of each scene (the same scene, camera and noise with the objects
held still). Training never sees these seeds (:func:`~edgemef.data.dynamic_testset.test_seed`).

Every method fuses the under/over pair. Scores against the label: PSNR, SSIM, MS-SSIM, VIF
(:func:`edgemef.train.synthetic_eval.score_synthetic`), plus ``psnr_motion``: PSNR over the
pixels where an object is in either frame (dilated by 4 px), where ghosts appear. The first
``--run`` is the baseline the others are compared with (dB of PSNR). Side-by-side crops around
the moving objects show the ghosts.

A second table gives each method's **ghost cost**, its static-set minus dynamic-set PSNR: what
motion costs it (a dynamic recipe's gain over a baseline is the baseline's ghost cost minus its
own, plus its change on static scenes), and where that extra error lies (:func:`ghost_split`):
where the reference frame is clipped inside the motion region, no method can know what moved there.

    python -m edgemef.train.deghost_study --run static=runs/exp_long/densefuse.safetensors \\
        --run dynamic=runs/study_dynamic/densefuse.safetensors \\
        --run dynamic+offsets=runs/study_dynamic_shift/densefuse.safetensors \\
        --baselines mertens --sets 32 --out runs/deghost
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from edgemef import netio
from edgemef.errors import EdgemefError
from edgemef.helpformat import DefaultsFormatter
from edgemef.io import atomic_write_bytes
from edgemef.train.synthetic_eval import SYNTHETIC_METRICS, LabelledSet, score_synthetic

STUDY_SEED = 4404
COLUMNS = tuple(SYNTHETIC_METRICS) + ("psnr_motion",)
DILATE = 4
CLIPPED = 0.98  # a reference (over) pixel whose brightest channel reaches this shows nothing
REGIONS = ("motion, reference clipped", "motion, reference usable", "outside motion")


def motion_mask(alpha: dict[str, np.ndarray], dilate: int = DILATE) -> np.ndarray:
    """Bool (H, W): where an object covers the under or the over frame, dilated by ``dilate`` px."""
    m = ((alpha["under"] > 0.05) | (alpha["over"] > 0.05)).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1))
    return cv2.dilate(m, k) > 0


def _db(mse: float) -> float:
    """PSNR (dB, 8-bit peak) of a mean squared error on the 0-255 scale."""
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def masked_psnr(image: np.ndarray, label: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB, 8-bit peak) of the RGB pixels inside ``mask``, both images rounded to 8 bits."""
    a = np.round(np.clip(image, 0, 1) * 255.0)[mask]
    b = np.round(np.clip(label, 0, 1) * 255.0)[mask]
    return _db(float(np.mean((a - b) ** 2)) if a.size else 0.0)


def _sq_error(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """(H, W) squared error of the 8-bit RGB pixels, channel mean (what PSNR averages)."""
    return ((np.round(np.clip(image, 0, 1) * 255.0) - np.round(np.clip(label, 0, 1) * 255.0)) ** 2).mean(-1)


def reference_clipped(labelled) -> np.ndarray:
    """Bool (H, W): where the set's reference (its last, over-exposed frame) shows nothing (:data:`CLIPPED`)."""
    return np.asarray(labelled.images[-1]).max(-1) >= CLIPPED


def ghost_split(dyn_out, sta_out, dyn, sta, masks) -> dict[str, float]:
    """Where motion costs a method: the extra squared error of its dynamic-set outputs over its
    static-twin outputs (8-bit, against each set's label), as shares of the total, in three regions
    (:data:`REGIONS`): inside the motion mask where the reference frame is clipped (there the
    reference shows nothing of what moved, so no method can know it), inside the motion mask
    elsewhere, and outside it. Also ``'clipped_motion_pixels'``, the share of pixels in the first
    region, and ``'extra_mse'``: per region, the extra squared error (8-bit) summed there and divided
    by all the test pixels, so that methods scored on the same sets compare in absolute terms (the
    shares of two methods are shares of different totals). Shares are of the summed extra error; a
    negative share means the method did better there.
    """
    extra = dict.fromkeys(REGIONS, 0.0)
    pixels, count = [], 0
    for fd, fs, d, s, m in zip(dyn_out, sta_out, dyn, sta, masks):
        diff = _sq_error(fd, d.label) - _sq_error(fs, s.label)
        clip = reference_clipped(d)
        for name, region in zip(REGIONS, (m & clip, m & ~clip, ~m)):
            extra[name] += float(diff[region].sum())
        pixels.append(float((m & clip).mean()))
        count += m.size
    total = sum(extra.values())
    shares = {k: (v / total if total else 0.0) for k, v in extra.items()}
    return {**shares, "clipped_motion_pixels": float(np.mean(pixels)) if pixels else 0.0,
            "extra_mse": {k: (v / count if count else 0.0) for k, v in extra.items()}}


def ghost_free_gain(base_out, dyn_out, sta_out, dyn, sta, masks, clipped_kept: float = 1.0) -> float:
    """What a method would gain over a baseline on the dynamic sets with its own ghosts removed where
    the reference frame shows the scene, and ``clipped_kept`` of its extra error kept where it is
    clipped (0: no ghost cost at all): the mean PSNR (8-bit, as :func:`ghost_split` counts) of its
    dynamic-set errors with those regions' errors replaced by its static twins', minus the
    baseline's mean dynamic-set PSNR. A what-if on the method's own outputs, not a bound.
    """
    ours, base = [], []
    for fb, fd, fs, d, s, m in zip(base_out, dyn_out, sta_out, dyn, sta, masks):
        clip = reference_clipped(d)
        ed, es = _sq_error(fd, d.label), _sq_error(fs, s.label)
        err = np.where(m & ~clip, es, ed)
        err = np.where(m & clip, es + clipped_kept * (ed - es), err)
        ours.append(_db(float(err.mean())))
        base.append(_db(float(_sq_error(fb, d.label).mean())))
    return float(np.mean(ours) - np.mean(base))


def render_study_sets(n: int, seed: int = STUDY_SEED, size=(256, 256), progress: bool = True):
    """(dynamic sets, static sets, motion masks, pairs) for the first ``n`` test seeds."""
    from edgemef.data.dynamic_testset import render_motion_pair, test_seed

    dyn, sta, masks, pairs = [], [], [], []
    for i in tqdm(range(n), desc="rendering motion pairs", disable=not progress, leave=False):
        p = render_motion_pair(test_seed(seed, i), tuple(size))
        for out, bs, kind in ((dyn, p.dynamic, "dynamic"), (sta, p.static, "static")):
            times = [bs.exposure_times[0], bs.exposure_times[2]]
            out.append(LabelledSet(f"{kind}_{i:03d}", [bs.under, bs.over], times,
                                   np.clip(bs.label, 0.0, 1.0), bs.radiance))
        masks.append(motion_mask(p.alpha))
        pairs.append(p)
    return dyn, sta, masks, pairs


class _Recorder:
    """Wraps a fusion method: keeps every output by set name (for psnr_motion and the crops)."""

    def __init__(self, fn):
        self.fn, self.out = fn, []
        self.takes_times = getattr(fn, "takes_times", False)

    def __call__(self, images, times=None):
        y = self.fn(images, times) if self.takes_times else self.fn(images)
        self.out.append(np.clip(y, 0.0, 1.0))
        return y


def score_method(fn, dyn, sta, masks) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """Means of :data:`COLUMNS` on the dynamic and the static sets, and the fused images."""
    res, outs = {}, {}
    for kind, sets in (("dynamic", dyn), ("static", sta)):
        rec = _Recorder(fn)
        r = score_synthetic(rec, sets, desc=kind)
        fused = rec.out
        pm = [masked_psnr(f, s.label, m) for f, s, m in zip(fused, sets, masks)]
        r["mean"]["psnr_motion"] = float(np.mean(pm))
        for name, v in zip(r["per_scene"], pm):
            r["per_scene"][name]["psnr_motion"] = v
        res[kind], outs[kind] = r, fused
    res["ghost"] = {"cost_db": res["static"]["mean"]["psnr"] - res["dynamic"]["mean"]["psnr"],
                    **ghost_split(outs["dynamic"], outs["static"], dyn, sta, masks)}
    return res, outs


def crop_box(alpha: dict[str, np.ndarray], side: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): a square window of ``side`` px centred on the objects of both frames."""
    m = (alpha["under"] > 0.05) | (alpha["over"] > 0.05)
    H, W = m.shape
    ys, xs = np.nonzero(m)
    cy, cx = (int(ys.mean()), int(xs.mean())) if ys.size else (H // 2, W // 2)
    side = min(side, H, W)
    y0, x0 = int(np.clip(cy - side // 2, 0, H - side)), int(np.clip(cx - side // 2, 0, W - side))
    return y0, y0 + side, x0, x0 + side


def crops_sheet(pairs, outputs: dict[str, list[np.ndarray]], rows: list[int], side: int = 128,
                cell: int = 160) -> np.ndarray:
    """Rows of crops around the moving objects: under | over | label | each method's fusion."""
    from edgemef.data.dynamic_io import grid

    names = list(outputs)
    table = []
    for i in rows:
        p = pairs[i]
        y0, y1, x0, x1 = crop_box(p.alpha, side)
        ims = [p.dynamic.under, p.dynamic.over, p.dynamic.label] + [outputs[n][i] for n in names]
        table.append([cv2.resize(np.ascontiguousarray(im[y0:y1, x0:x1], np.float32), (cell, cell),
                                 interpolation=cv2.INTER_NEAREST) for im in ims])
    return grid(table, ["under", "over (ref)", "label"] + names)


def markdown(results: dict, baseline: str | None) -> str:
    """The study table: one row per method, dynamic and static columns, PSNR change vs baseline."""
    head = ["method"] + [f"{k} {c}" for k in ("dynamic", "static") for c in COLUMNS]
    if baseline:
        head += ["dyn. dPSNR", "static dPSNR"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        cells = [name] + [f"{r[k]['mean'][c]:.4f}" if c in ("ssim", "ms_ssim", "vif") else f"{r[k]['mean'][c]:.2f}"
                          for k in ("dynamic", "static") for c in COLUMNS]
        if baseline:
            b = results[baseline]
            cells += [f"{r[k]['mean']['psnr'] - b[k]['mean']['psnr']:+.2f}" for k in ("dynamic", "static")]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| method | ghost cost (static - dynamic PSNR, dB) | " + " | ".join(
        f"share of the extra error: {r}" for r in REGIONS) + " | " + " | ".join(
        f"extra MSE: {r}" for r in REGIONS) + " |", "|" + "---|" * (2 + 2 * len(REGIONS))]
    for name, r in results.items():
        g = r["ghost"]
        lines.append(f"| {name} | {g['cost_db']:.2f} | " + " | ".join(f"{g[k]:.2f}" for k in REGIONS) + " | "
                     + " | ".join(f"{g['extra_mse'][k]:.1f}" for k in REGIONS) + " |")
    clipped = next(iter(results.values()))["ghost"]["clipped_motion_pixels"] if results else 0.0
    lines += ["", f"(the motion mask with the reference clipped is {100 * clipped:.1f} % of the pixels; "
              "extra MSE: 8-bit squared error over the static twins, per region, divided by all test pixels)"]
    return "\n".join(lines) + "\n"


def _parse_run(text: str, option: str = "--run", form: str = "NAME=WEIGHTS",
               example: str = "static=runs/a/densefuse.safetensors") -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise EdgemefError(f"{option} '{text}': expected {form} (e.g. {example})")
    return name, value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgemef.train.deghost_study", formatter_class=DefaultsFormatter,
                                 description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--run", action="append", default=[], metavar="NAME=WEIGHTS",
                    help="a trained network to score (repeat; the first is the baseline of the dPSNR columns)")
    ap.add_argument("--tonemap", action="append", default=[], metavar="NAME=TONEMAP",
                    help="show run NAME's radiance (an HDR network: STHDR) by this tone map instead of its "
                         "weights' own (repeat; see edgemef.netio.TONEMAPS)")
    ap.add_argument("--baselines", default="mertens", help="comma-separated classical methods to score too ('' none)")
    ap.add_argument("--sets", type=int, default=32, help="number of motion pairs (each: a dynamic and a static set)")
    ap.add_argument("--size", type=int, default=256, help="side of the rendered sets in pixels")
    ap.add_argument("--seed", type=int, default=STUDY_SEED, help="test-sequence seed (apart from training seeds)")
    ap.add_argument("--crops", type=int, default=6, help="rows of side-by-side crops (the largest motion-region "
                                                          "PSNR gaps between the first two runs)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--out", type=Path, default=Path("runs/deghost"), help="folder for study.json, study.md, crops.png")
    args = ap.parse_args(argv)
    try:
        import torch

        from edgemef.fusion import get_method
        from edgemef.train.evaluate import ModelMethod

        torch.set_num_threads(args.threads)
        if args.sets < 1:
            raise EdgemefError("--sets must be >= 1")
        if args.size < 176:
            raise EdgemefError(f"--size {args.size}: MS-SSIM needs at least 176 px a side")
        runs = [_parse_run(r) for r in args.run]
        tonemaps = dict(_parse_run(t, "--tonemap", "NAME=TONEMAP", "sthdr=reinhard") for t in args.tonemap)
        unknown = sorted(set(tonemaps) - {name for name, _ in runs})
        if unknown:
            raise EdgemefError(f"--tonemap names no --run: {', '.join(unknown)}")
        bad = sorted(set(tonemaps.values()) - set(netio.TONEMAPS))
        if bad:
            raise EdgemefError(f"unknown tone map(s) {', '.join(bad)} (use {', '.join(netio.TONEMAPS)})")
        methods = {name: ModelMethod(path, tonemaps.get(name)) for name, path in runs}
        methods.update({b: get_method(b) for b in args.baselines.split(",") if b.strip()})
        if not methods:
            raise EdgemefError("nothing to score: give --run NAME=WEIGHTS and/or --baselines")
        args.out.mkdir(parents=True, exist_ok=True)
    except EdgemefError as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    dyn, sta, masks, pairs = render_study_sets(args.sets, args.seed, (args.size, args.size))
    results, fused = {}, {}
    for name, fn in methods.items():
        results[name], fused[name] = score_method(fn, dyn, sta, masks)
    outputs = {name: o["dynamic"] for name, o in fused.items()}
    baseline = runs[0][0] if runs else None
    for name in (n for n, _ in runs[1:]):
        outs = (fused[baseline]["dynamic"], fused[name]["dynamic"], fused[name]["static"], dyn, sta, masks)
        results[name]["what_if"] = {"usable_ghosts_gone_db": ghost_free_gain(*outs),
                                    "no_ghost_cost_db": ghost_free_gain(*outs, clipped_kept=0.0)}
    table = markdown(results, baseline)
    record = {"sets": args.sets, "size": args.size, "seed": args.seed, "runs": dict(runs), "results": results}
    atomic_write_bytes(args.out / "study.json", (json.dumps(record, indent=2) + "\n").encode())
    atomic_write_bytes(args.out / "study.md", table.encode())
    rank = list(range(args.sets))
    if len(runs) >= 2:
        a, b = runs[0][0], runs[1][0]
        gap = [results[b]["dynamic"]["per_scene"][s.name]["psnr_motion"] -
               results[a]["dynamic"]["per_scene"][s.name]["psnr_motion"] for s in dyn]
        rank = list(np.argsort(gap)[::-1])
    from edgemef.data.dynamic_io import write_sheet

    write_sheet(args.out / "crops.png", crops_sheet(pairs, outputs, [int(i) for i in rank[: args.crops]]))
    print(f"{args.sets} motion pairs ({args.size}px, seed {args.seed}): dynamic sets and their static twins")
    print(table, end="")
    if baseline:
        for name in (n for n, _ in runs[1:]):
            dd = results[name]["dynamic"]["mean"]["psnr"] - results[baseline]["dynamic"]["mean"]["psnr"]
            ds = results[name]["static"]["mean"]["psnr"] - results[baseline]["static"]["mean"]["psnr"]
            ok = dd >= 1.0 and ds >= -0.3
            w = results[name]["what_if"]
            print(f"{name} vs {baseline}: dynamic {dd:+.2f} dB (target >= +1), static {ds:+.2f} dB "
                  f"(target >= -0.3): {'met' if ok else 'not met'}; what if {name} lost its ghosts where "
                  f"the reference shows the scene: {w['usable_ghosts_gone_db']:+.2f} dB, and everywhere: "
                  f"{w['no_ghost_cost_db']:+.2f} dB")
    print(f"wrote {args.out / 'study.json'}, {args.out / 'study.md'}, {args.out / 'crops.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
