"""What ``edgemef bench`` runs and how it times and scores one row.

A *fuser* has ``fuse(images) -> image`` (aligned float32 (H, W, 3) RGB frames, darkest first) and
``last_timings`` (seconds; 'infer' is the network part, 'total' overrides the wall time of the
call). Exported artifacts use :class:`edgemef.runtimes.Runtime` directly; this module adds the
PyTorch reference, OpenCV Mertens and the ``enfuse`` binary.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.metrics.reference import psnr_capped



@dataclass
class BenchSet:
    """One bracket set: its name and its frames aligned as the runtime aligns them."""

    name: str
    frames: list[np.ndarray]


def load_sets(found: list[tuple[str, list[Path]]], max_pairs: int | None) -> list[BenchSet]:
    """Read and align the first ``max_pairs`` sets (one alignment per set, shared by every row).

    Raises:
        EdgemefError: a set cannot be read.
    """
    from edgemef.align import align_brackets
    from edgemef.fusion import pick_reference
    from edgemef.io import load_brackets

    out = []
    for name, files in found[:max_pairs]:
        images = [b.image for b in load_brackets(files)]
        out.append(BenchSet(name, align_brackets(images, pick_reference(images)).images))
    return out


def bench_frames(files: list[Path], shape: tuple[int, int]) -> list[np.ndarray]:
    """A real set resized to the benchmark (H, W), not aligned (alignment is timed on these)."""
    import cv2

    from edgemef.io import load_brackets

    h, w = shape
    out = []
    for b in load_brackets(files):
        im = b.image
        interp = cv2.INTER_AREA if im.shape[0] * im.shape[1] > h * w else cv2.INTER_LINEAR
        out.append(np.ascontiguousarray(cv2.resize(im, (w, h), interpolation=interp)))
    return out


def stats_ms(seconds: list[float]) -> dict:
    """median, p90, min, mean (ms) and the sample count."""
    a = np.asarray(seconds, np.float64) * 1e3
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)), "min": float(a.min()),
            "mean": float(a.mean()), "n": int(a.size)}


def time_fuser(fuser, frames: list[np.ndarray], warmup: int, repeats: int) -> dict:
    """Latency of ``fuser.fuse(frames)`` after ``warmup`` calls: {'total': stats, 'infer': stats|None}."""
    for _ in range(warmup):
        fuser.fuse(frames)
    total, infer = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        fuser.fuse(frames)
        wall = time.perf_counter() - t
        timings = getattr(fuser, "last_timings", None) or {}
        total.append(timings.get("total", wall))
        if "infer" in timings:
            infer.append(timings["infer"])
    return {"total": stats_ms(total), "infer": stats_ms(infer) if infer else None}


def time_call(fn, warmup: int, repeats: int) -> dict:
    """Latency stats (ms) of ``fn()`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t)
    return stats_ms(seconds)


def score_fuser(fuser, sets: list[BenchSet], reference: dict[str, np.ndarray] | None = None,
                keep: dict[str, np.ndarray] | None = None) -> dict:
    """MEF-SSIM of the fuser on every set and PSNR against ``reference`` outputs (by set name).

    ``keep`` (if given) receives each output by set name (the PyTorch row keeps its outputs as the
    reference of the others).
    """
    from edgemef.metrics import mef_ssim

    scores, psnrs = [], []
    for s in sets:
        out = fuser.fuse(s.frames)
        if keep is not None:
            keep[s.name] = out
        scores.append(mef_ssim(out, s.frames))
        if reference and s.name in reference:
            psnrs.append(psnr_capped(out, reference[s.name]))
    finite = [v for v in scores if np.isfinite(v)]
    return {"mef_ssim": float(np.mean(finite)) if finite else None, "mef_ssim_sets": len(finite),
            "psnr_db": float(np.mean(psnrs)) if psnrs else None, "psnr_db_min": float(min(psnrs)) if psnrs else None}


class TorchFuser:
    """The PyTorch reference: ``prepare_input`` -> forward(x, *further inputs) -> ``finish_output``
    (as ``edgemef.export.parity.torch_fuse`` does), timing the three parts."""

    def __init__(self, module, manifest):
        self.module, self.manifest = module, manifest
        self.last_timings: dict[str, float] = {}

    def fuse(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        from edgemef.netio import finish_output, prepare_input

        t0 = time.perf_counter()
        x, ctx = prepare_input(images, self.manifest)
        extra = [torch.from_numpy(ctx.extra[e["name"]]) for e in getattr(self.manifest, "extra_inputs", None) or []]
        t1 = time.perf_counter()
        with torch.inference_mode():
            y = self.module(torch.from_numpy(x), *extra).float().numpy()
        t2 = time.perf_counter()
        out = finish_output(y, ctx, self.manifest)
        self.last_timings = {"preprocess": t1 - t0, "infer": t2 - t1, "postprocess": time.perf_counter() - t2}
        return out


class MertensFuser:
    """OpenCV Mertens as registered in :mod:`edgemef.fusion` (no network part)."""

    last_timings: dict = {}

    def fuse(self, images: list[np.ndarray]) -> np.ndarray:
        from edgemef.fusion import get_method

        return get_method("mertens")(images)


def enfuse_binary() -> str | None:
    """Path of the ``enfuse`` executable, or None."""
    return shutil.which("enfuse")


def enfuse_version(binary: str) -> str | None:
    try:
        text = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return (text.strip().splitlines() or [None])[0]


class EnfuseFuser:
    """The real ``enfuse`` binary on temp files: ``enfuse -o out.tif a.png b.png``.

    Inputs are written as 8-bit PNGs first (not timed); ``last_timings['total']`` is the
    subprocess alone (process start, reading the PNGs, fusing, writing the TIFF). ``threads``
    goes to ``OMP_NUM_THREADS``.
    """

    def __init__(self, binary: str, threads: int):
        self.binary = binary
        self.env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        self.dir = Path(tempfile.mkdtemp(prefix="edgemef-enfuse-"))
        self.last_timings: dict[str, float] = {}

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def fuse(self, images: list[np.ndarray]) -> np.ndarray:
        import cv2

        from edgemef.io import load_image, to_uint

        inputs = []
        for i, im in enumerate(images):
            path = self.dir / f"in{i}.png"
            cv2.imwrite(str(path), cv2.cvtColor(to_uint(im, 8), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
            inputs.append(str(path))
        out = self.dir / "out.tif"
        out.unlink(missing_ok=True)
        t = time.perf_counter()
        try:
            r = subprocess.run([self.binary, "-o", str(out), *inputs], capture_output=True, text=True,
                               env=self.env, timeout=600)
        except (OSError, subprocess.SubprocessError) as e:
            raise EdgemefError(f"enfuse could not run ({e})") from None
        self.last_timings = {"total": time.perf_counter() - t}
        if r.returncode != 0 or not out.is_file():
            last = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
            raise EdgemefError(f"enfuse failed: {last[:160]}")
        return np.clip(load_image(out).image[..., :3], 0.0, 1.0)
