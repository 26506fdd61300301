"""``edgemef bench``: every export target and precision that runs here, the PyTorch reference,
OpenCV Mertens and ``enfuse``, in one run on the same brackets.

Rows come from the model registry (``edgemef.models.MODELS``) and the targets table
(``edgemef.export.targets.matrix``); artifacts are made by :class:`edgemef.export.pipeline.Exporter`
(one per network, so the fp32 ONNX, the calibration table and the QDQ graphs are shared). Each
row is timed at the benchmark resolution on one real set resized to it (median and p90 after
warm-up), scored (MEF-SSIM) on the given sets and compared with the PyTorch output (PSNR), and
set against the CPU's measured peak (:mod:`edgemef.benchmarks.compute_bound`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from edgemef.benchmarks import bench_methods as bm
from edgemef.benchmarks.bench_rows import classical_rows, network_rows, new_row, planned_targets
from edgemef.errors import EdgemefError


@dataclass
class BenchConfig:
    """Settings of one benchmark run (see ``edgemef bench --help``)."""

    models: list[str]
    out_dir: Path
    sets: list[tuple[str, list[Path]]]
    pairs_label: str
    weights: Path | None = None
    random_weights: bool = False
    shape: tuple[int, int] = (720, 1280)
    threads: int = 2
    max_pairs: int | None = None
    repeats: int = 20
    warmup: int = 3
    targets: list[str] | None = None
    precisions: list[str] | None = None
    pairs_dir: Path | None = None
    calib_dir: Path | None = None
    calib_synthetic: int = 16
    quick: bool = False
    progress: bool = True
    peak_size: int = 2048
    extra: dict = field(default_factory=dict)


def load_networks(cfg: BenchConfig) -> list[tuple[str, object | None, str | None]]:
    """(name, Network or None, reason when skipped) per model, before any slow work.

    Raises:
        EdgemefError: a single model without weights (and no --random-weights), bad weights.
    """
    from edgemef.export.source import bundled_weights, from_module, load_network

    out = []
    for name in cfg.models:
        if cfg.random_weights:
            import torch

            from edgemef.models import create_model

            torch.manual_seed(0)
            out.append((name, from_module(name, create_model(name)), None))
        elif cfg.weights is not None or bundled_weights(name).is_file():
            out.append((name, load_network(name, cfg.weights), None))
        elif len(cfg.models) == 1:
            raise EdgemefError(f"no trained weights for '{name}' (looked for {bundled_weights(name)}): pass "
                               f"--weights FILE (.safetensors), or --random-weights to time an untrained network")
        else:
            out.append((name, None, f"no trained weights at {bundled_weights(name)} (pass --random-weights)"))
    if all(net is None for _, net, _ in out):
        raise EdgemefError("no registered model has trained weights: pass --random-weights to time untrained ones")
    return out


def derive(rows: list[dict], peaks: dict) -> None:
    """Ratios to Mertens and enfuse, alignment + fusion, compute bound (in place)."""
    from edgemef.benchmarks.compute_bound import bound_ms

    def ok_ms(fmt: str):
        r = next((r for r in rows if r["format"] == fmt and r["status"] == "ok"), None)
        return r["latency_ms"] if r else None

    mertens, enfuse, align = ok_ms("mertens"), ok_ms("enfuse"), ok_ms("align")
    for r in rows:
        lat = r["latency_ms"]
        if r["status"] != "ok" or lat is None:
            continue
        if mertens:
            r["x_mertens"] = lat / mertens
        if r["kind"] in ("network", "reference"):
            kind = "int8" if r["precision"] == "int8" else "fp32"
            peak = peaks.get("int8_gops" if kind == "int8" else "fp32_gflops")
            if peak and r.get("macs"):
                r["peak"], r["bound_ms"] = kind, bound_ms(r["macs"], peak)
                r["x_bound"] = (r["net_ms"] or lat) / r["bound_ms"]
        if r["format"] == "enfuse":
            r["align_fuse_ms"] = lat
        elif r["kind"] in ("network", "reference", "classical") and align is not None:
            r["align_fuse_ms"] = align + lat
        if enfuse and r["align_fuse_ms"] is not None:
            r["x_enfuse"] = r["align_fuse_ms"] / enfuse


def run_bench(cfg: BenchConfig, networks: list | None = None) -> dict:
    """Run every row; return the result (what bench.json holds, without the file paths).

    ``networks``: what :func:`load_networks` returned for ``cfg`` (loaded here when None).
    """
    import time

    import cv2
    import torch
    from tqdm import tqdm

    from edgemef.benchmarks.compute_bound import combine_peaks, measure_peaks

    load_start = os.getloadavg()
    started = time.time()
    networks = networks if networks is not None else load_networks(cfg)
    plan = planned_targets(cfg.targets, cfg.precisions)
    torch_threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(cfg.threads)
    cv2.setNumThreads(cfg.threads)
    rows: list[dict] = []
    models: dict = {}
    try:
        sets = bm.load_sets(cfg.sets, cfg.max_pairs)
        frames = bm.bench_frames(cfg.sets[0][1], cfg.shape)
        from edgemef.align import align_brackets
        from edgemef.fusion import pick_reference

        aligned = align_brackets(frames, pick_reference(frames)).images
        total = 5 + sum(1 + len(plan) if net is not None else 1 for _, net, _ in networks)
        peak = {"repeats": 3, "min_seconds": 0.5, "warmup": 1} if cfg.quick else {"repeats": 5, "min_seconds": 2.0}
        with tqdm(total=total, desc="bench", unit="row", disable=not cfg.progress, leave=False) as bar:
            bar.set_postfix_str("CPU peak")
            early = measure_peaks(cfg.threads, cfg.peak_size, **peak)
            bar.update(1)
            for name, net, why in networks:
                if net is None:
                    row = new_row(name, "-", "-", "network", cfg.threads)
                    rows.append({**row, "status": "skipped", "reason": why})
                    bar.update(1)
                    continue
                got, models[name] = network_rows(cfg, name, net, sets, frames, aligned, bar)
                rows += got
            rows += classical_rows(cfg, sets, frames, aligned, bar)
            bar.set_postfix_str("CPU peak")
            late = measure_peaks(cfg.threads, cfg.peak_size, **peak)
            bar.update(1)
        peaks = combine_peaks(early, late)
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv_threads)
    derive(rows, peaks)
    from edgemef.benchmarks.compute_bound import bound_ms

    for info in models.values():
        for kind, key in (("fp32", "fp32_gflops"), ("int8", "int8_gops")):
            info[f"bound_{kind}_ms"] = bound_ms(info["macs"], peaks[key]) if peaks.get(key) and info["macs"] else None
    return {"settings": settings(cfg, sets), "machine": machine(load_start), "peaks": peaks, "models": models,
            "rows": rows, "seconds": time.time() - started}


def settings(cfg: BenchConfig, sets) -> dict:
    h, w = cfg.shape
    return {"models": cfg.models, "shape": [h, w], "resolution": f"{h}x{w}", "threads": cfg.threads,
            "repeats": cfg.repeats, "warmup": cfg.warmup, "pairs_dir": cfg.pairs_label, "pairs": [s.name for s in sets],
            "timing_set": cfg.sets[0][0], "max_pairs": cfg.max_pairs, "targets": cfg.targets,
            "precisions": cfg.precisions, "quick": cfg.quick, "random_weights": cfg.random_weights,
            "weights": str(cfg.weights) if cfg.weights else None,
            "calibration": str(cfg.calib_dir) if cfg.calib_dir else f"bundled samples + {cfg.calib_synthetic} synthetic sets",
            **cfg.extra}


def machine(load_start) -> dict:
    import importlib.metadata as md
    import platform

    import cv2

    versions = {"opencv": cv2.__version__}
    for dist in ("edgemef", "onnxruntime", "openvino", "torch", "numpy"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_start": [round(v, 2) for v in load_start],
            "load_average_end": [round(v, 2) for v in os.getloadavg()], "versions": versions}
