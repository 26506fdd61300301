"""Alignment benchmark: recover known random homographies on real bracket pairs.

For every pair (under, over) under ``--pairs``: resize both to ``--size``, warp the over-exposed
frame by a random homography (scale 1 +- 5 %, rotation +- 3 degrees, translation +- 30 px, a tiny
perspective), register it to the under-exposed reference with :func:`edgemef.align.align_brackets`
and measure the corner error: the distance, at the four image corners, between where the recovered
and the true homography send them (ACE = mean of the four; the worst single corner is shown too).

Two truths are scored. "synthetic" is the inverse of the applied warp alone. Hand-held pairs are
not perfectly registered to begin with, so "pair-corrected" composes it with the pair's own
misalignment, estimated once per pair by full-resolution SIFT + full-resolution refinement on the
unwarped pair. The same run times the default pipeline and full-resolution SIFT (no downscale,
4,000 features), and ``--native`` repeats the accuracy measurement at each pair's own size.

    python -m edgemef.benchmarks.alignment --pairs ../shared/data/mefb-dev --trials 3 --seed 0
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass

import click
import cv2
import numpy as np
from tqdm import tqdm

from edgemef.align import align_brackets
from edgemef.io import find_bracket_sets, load_image
from edgemef.sizes import click_callback, parse_wh

FULL_RES = {"max_side": None, "n_features": 4000, "refine_side": None}


def random_homography(rng: np.random.Generator, width: int, height: int, *, scale: float = 0.05,
                      degrees: float = 3.0, shift: float = 30.0, perspective: float = 0.01) -> np.ndarray:
    """A random camera-shake homography about the image centre.

    ``perspective`` bounds the relative change of the projective denominator across the frame.
    """
    s = 1.0 + rng.uniform(-scale, scale)
    a = math.radians(rng.uniform(-degrees, degrees))
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    rot = np.array([[s * math.cos(a), -s * math.sin(a), 0], [s * math.sin(a), s * math.cos(a), 0], [0, 0, 1]])
    p = rng.uniform(-perspective / 2, perspective / 2, 2) / np.array([width, height])
    persp = np.array([[1, 0, 0], [0, 1, 0], [p[0], p[1], 1]])
    to_c = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], np.float64)
    back = np.array([[1, 0, cx + rng.uniform(-shift, shift)], [0, 1, cy + rng.uniform(-shift, shift)], [0, 0, 1]])
    hom = back @ persp @ rot @ to_c
    return hom / hom[2, 2]


def corner_errors(estimate: np.ndarray, truth: np.ndarray, width: int, height: int) -> np.ndarray:
    """Distances (4,) in pixels between the two homographies' images of the frame corners."""
    c = np.array([[[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]], np.float64)
    return np.linalg.norm(cv2.perspectiveTransform(c, estimate)[0] - cv2.perspectiveTransform(c, truth)[0], axis=1)


@dataclass
class Trial:
    """One registration: ACE vs the synthetic and the pair-corrected truth (px), worst corner of the
    latter (px), seconds, and whether it fell back to identity."""

    ace: float
    ace_corrected: float
    worst: float
    seconds: float
    fallback: bool
    stages: dict[str, float]


def run_trial(under: np.ndarray, over: np.ndarray, hom: np.ndarray, pair_hom: np.ndarray, repeat: int = 1, **kw) -> Trial:
    """Warp ``over`` by ``hom``, register it to ``under``; truth ``inv(hom)`` (and ``pair_hom @ inv(hom)``).

    The time is the fastest of ``repeat`` identical calls (robust to other processes' load).
    """
    h, w = under.shape[:2]
    moving = cv2.warpPerspective(over, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    sec, stages = float("inf"), {}
    for _ in range(repeat):
        t = time.perf_counter()
        res = align_brackets([under, moving], 0, **kw)
        if time.perf_counter() - t < sec:
            sec, stages = time.perf_counter() - t, res.timings
    truth = np.linalg.inv(hom)
    err = corner_errors(res.homographies[1], truth, w, h)
    corr = corner_errors(res.homographies[1], pair_hom @ truth, w, h)
    return Trial(float(err.mean()), float(corr.mean()), float(corr.max()), sec, not res.warped[1], stages)


def pair_misalignment(under: np.ndarray, over: np.ndarray) -> np.ndarray:
    """The pair's own homography over -> under by full-res SIFT + refinement (identity if none)."""
    return align_brackets([under, over], 0, **FULL_RES, snap_px=0.0).homographies[1]


def load_pair(files) -> tuple[np.ndarray, np.ndarray]:
    """(under, over) of a bracket set: darkest and brightest frame by mean luminance."""
    frames = sorted((load_image(f) for f in files), key=lambda b: b.luminance)
    return frames[0].image, frames[-1].image


def _ok(trials: list[Trial], attr: str) -> np.ndarray:
    return np.array([getattr(t, attr) for t in trials if not t.fallback])


def _accuracy(trials: list[Trial]) -> str:
    a, c, worst = _ok(trials, "ace"), _ok(trials, "ace_corrected"), _ok(trials, "worst")
    if a.size == 0:
        return "no successful registrations"
    return (f"ACE median {np.median(a):.2f} px (worst {a.max():.2f}) vs synthetic truth, "
            f"{np.median(c):.2f} px (worst {c.max():.2f}, worst corner {worst.max():.2f}) pair-corrected")


def _cell(ts: list[Trial], attr: str = "ace_corrected") -> str:
    ok = _ok(ts, attr)
    fb = len(ts) - ok.size
    return (f"{np.median(ok):6.2f}" if ok.size else "   -  ") + (f" ({fb} fb)" if fb else "      ")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pairs", "pairs_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of bracket sets (one sub-folder per scene, e.g. mefb-dev).")
@click.option("--size", default="1280x720", show_default=True, callback=click_callback(parse_wh, minimum=64),
              help="Working size WIDTHxHEIGHT for accuracy and timing.")
@click.option("--trials", default=1, show_default=True, type=click.IntRange(1), help="Random homographies per pair.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random homographies.")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1), help="OpenCV threads (cv2.setNumThreads).")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1),
              help="Time each registration this many times and keep the fastest.")
@click.option("--max-side", default=256, show_default=True, type=int, help="max_side of the default pipeline.")
@click.option("--n-features", default=1000, show_default=True, type=int, help="n_features of the default pipeline.")
@click.option("--native/--no-native", default=True, show_default=True, help="Also measure accuracy at each pair's native size.")
@click.option("--limit", default=0, type=click.IntRange(0), help="Use only the first N pairs (0: all).")
def main(pairs_dir, size, trials, seed, threads, repeat, max_side, n_features, native, limit):
    """Corner error and time of bracket alignment on real pairs with known synthetic homographies."""
    width, height = size
    cv2.setNumThreads(threads)
    sets = find_bracket_sets(pairs_dir)[: limit or None]
    rng = np.random.default_rng(seed)
    fast = {"max_side": max_side, "n_features": n_features}
    print(f"alignment benchmark: {len(sets)} pairs x {trials} trials, seed {seed}, OpenCV {cv2.__version__}, "
          f"cv2.getNumThreads()={cv2.getNumThreads()}, times = fastest of {repeat} calls, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"default pipeline: max_side={max_side}, n_features={n_features}; "
          f"full-res SIFT: no downscale, n_features=4000, refinement at full size")
    warm = [cv2.resize(im, (width, height)) for im in load_pair(sets[0][1])]
    align_brackets(warm, 0, **fast)  # warm-up: allocations, thread pool
    results: dict[str, list[Trial]] = {"fast": [], "full": [], "native": []}
    rows = []
    for name, files in tqdm(sets, desc="pairs", file=sys.stderr, unit="pair"):
        under0, over0 = load_pair(files)
        under = cv2.resize(under0, (width, height), interpolation=cv2.INTER_AREA)
        over = cv2.resize(over0, (width, height), interpolation=cv2.INTER_AREA)
        pair = pair_misalignment(under, over)
        pair0 = pair_misalignment(under0, over0) if native else None
        per: dict[str, list[Trial]] = {"fast": [], "full": [], "native": []}
        for _ in range(trials):
            hom = random_homography(rng, width, height)
            per["fast"].append(run_trial(under, over, hom, pair, repeat, **fast))
            per["full"].append(run_trial(under, over, hom, pair, repeat, **FULL_RES))
            if native:
                nh, nw = under0.shape[:2]
                per["native"].append(run_trial(under0, over0, random_homography(rng, nw, nh), pair0, **fast))
        for k in per:
            results[k].extend(per[k])
        shift = float(corner_errors(pair, np.eye(3), width, height).mean())
        rows.append((name, f"{under0.shape[1]}x{under0.shape[0]}", shift, per))

    head = (f"{'scene':<17} {'native':>9} {'own':>5} | {'ACE':>6} {'ACE corr':>13} {'ms':>6} | "
            f"{'full-res ACE corr':>17} {'ms':>6}" + (f" | {'native ACE corr':>15}" if native else ""))
    print(f"\nper pair at {width}x{height} (medians over trials; 'own' = the pair's own misalignment, px)")
    print(head)
    print("-" * len(head))
    for name, nsize, shift, per in rows:
        line = (f"{name:<17} {nsize:>9} {shift:5.2f} | {_cell(per['fast'], 'ace')[:6]:>6} {_cell(per['fast']):>13} "
                f"{1e3 * np.median([t.seconds for t in per['fast']]):6.1f} | {_cell(per['full']):>17} "
                f"{1e3 * np.median([t.seconds for t in per['full']]):6.1f}")
        print(line + (f" | {_cell(per['native']):>15}" if native else ""))
    print("-" * len(head))
    print("ACE = mean distance (px) of the 4 corners between recovered and true homography; "
          "'corr' = truth includes the pair's own misalignment; 'fb' = fallbacks to identity (excluded from ACE)")
    n = len(results["fast"])
    t_fast = 1e3 * float(np.median([t.seconds for t in results["fast"]]))
    t_full = 1e3 * float(np.median([t.seconds for t in results["full"]]))
    fb = {k: sum(t.fallback for t in v) for k, v in results.items()}
    p90 = 1e3 * float(np.percentile([t.seconds for t in results["fast"]], 90))
    print(f"\n{width}x{height} default pipeline : {_accuracy(results['fast'])}; fallbacks {fb['fast']}/{n}; "
          f"time median {t_fast:.1f} ms (p90 {p90:.1f})")
    print(f"{width}x{height} full-res SIFT    : {_accuracy(results['full'])}; fallbacks {fb['full']}/{n}; "
          f"time median {t_full:.1f} ms")
    stages = {k: 1e3 * float(np.median([t.stages[k] for t in results["fast"]])) for k in results["fast"][0].stages}
    print(f"{width}x{height} default pipeline stages (median ms): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    if native:
        print(f"native size, default pipeline: {_accuracy(results['native'])}; fallbacks {fb['native']}/{n}")
    a, c = _ok(results["fast"], "ace"), _ok(results["fast"], "ace_corrected")
    med = lambda v: float(np.median(v)) if v.size else float("nan")  # noqa: E731
    print(f"SUMMARY {width}x{height}: median corner error {med(a):.2f} px synthetic / {med(c):.2f} px pair-corrected "
          f"(target <= 1), worst {max(a, default=float('nan')):.2f} / {max(c, default=float('nan')):.2f} px, "
          f"fallbacks {fb['fast']}/{n}; align {t_fast:.1f} ms/pair (target <= 60) vs full-res SIFT {t_full:.1f} ms "
          f"({t_full / t_fast:.1f}x); cv2 threads {cv2.getNumThreads()}")


if __name__ == "__main__":
    main()
