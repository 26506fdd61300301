"""Render-speed benchmark of the synthetic bracket renderer.

    python -m edgemef.data.bench [--size 256x256] [--count 40] [--repeat 3]

Prints CPU time (this thread) and wall time per set, split into scene / camera frames / label,
after warming the texture bank and the noise pool. OpenCV runs single-threaded, as in a data
loader worker. On a shared machine take the min-of-repeats figures.
"""
from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np

from edgemef.data.brackets import bracket_times
from edgemef.data.camera import ev0_time, expose, highlight_time, random_camera
from edgemef.data.fastops import _noise_pool, tune_malloc
from edgemef.data.labels import render_label
from edgemef.data.scenes import render_radiance
from edgemef.data.textures import warm_bank
from edgemef.errors import EdgemefError
from edgemef.sizes import parse_hw

STAGES = ("scene", "frames", "label")


def bench(size: tuple[int, int], count: int, repeat: int) -> dict[str, np.ndarray]:
    """Per-set seconds ``(count,)`` per stage (min over ``repeat`` renders of the same seeds)."""
    cpu = np.full((count, len(STAGES)), np.inf)
    wall = np.full(count, np.inf)
    for _ in range(repeat):
        for i in range(count):
            w0 = time.perf_counter()
            t = [time.thread_time()]
            rng = np.random.default_rng(i)
            rad, _ = render_radiance(rng, size)
            t.append(time.thread_time())
            cam = random_camera(rng)
            for te in bracket_times(rng, ev0_time(cam, rad), (2.0, 6.0), highlight_time(cam, rad)):
                expose(cam, rad, te, rng)
            t.append(time.thread_time())
            render_label(cam, rad)
            t.append(time.thread_time())
            cpu[i] = np.minimum(cpu[i], np.diff(t))
            wall[i] = min(wall[i], time.perf_counter() - w0)
    return {"cpu": cpu, "wall": wall}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description="Render-speed benchmark of edgemef.data.")
    ap.add_argument("--size", default="256x256", help="HxW of the sets.")
    ap.add_argument("--count", type=int, default=40, help="Number of different seeds.")
    ap.add_argument("--repeat", type=int, default=3, help="Renders per seed (the fastest counts).")
    args = ap.parse_args(argv)
    try:
        h, w = parse_hw(args.size, "--size", minimum=32)
    except EdgemefError as e:
        ap.error(str(e))
    cv2.setNumThreads(1)
    tuned = tune_malloc()
    t0 = time.perf_counter()
    warm_bank()
    _noise_pool()
    print(f"warm-up (texture bank + noise pool, once per process): {time.perf_counter() - t0:.2f} s; "
          f"malloc tuned: {tuned}")
    r = bench((h, w), args.count, args.repeat)
    per = r["cpu"] * 1e3
    total = per.sum(axis=1)
    split = ", ".join(f"{n} {v:.1f}" for n, v in zip(STAGES, per.mean(axis=0)))
    print(f"{h}x{w}, {args.count} seeds, min of {args.repeat}: CPU ms/set mean {total.mean():.1f} "
          f"median {np.median(total):.1f} p90 {np.percentile(total, 90):.1f} ({split}); "
          f"wall ms/set mean {r['wall'].mean() * 1e3:.1f}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
