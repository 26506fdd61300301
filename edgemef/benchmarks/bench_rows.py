"""The rows of ``edgemef bench``: which targets run, the network rows and the classical ones.

A network gets one PyTorch fp32 reference row and one row per (target, precision) of the targets
table; each exported artifact is made by the network's one :class:`~edgemef.export.pipeline.Exporter`
(shared fp32 ONNX, calibration and QDQ caches), loaded with :func:`edgemef.runtimes.load` and
timed and scored by :mod:`edgemef.benchmarks.bench_methods`. A row that fails keeps its reason.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from edgemef.benchmarks import bench_methods as bm
from edgemef.errors import EdgemefError

if TYPE_CHECKING:
    from edgemef.benchmarks.bench import BenchConfig

MODEL_FILE_SUFFIXES = (".onnx", ".xml", ".bin", ".ort", ".engine")


def _module_found(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def skip_reason(target) -> str | None:
    """Why a target cannot be benchmarked on this machine, or None."""
    if target.needs_gpu:
        return "needs NVIDIA GPU + " + " + ".join(target.run_requires)
    missing = [m for m in dict.fromkeys(target.export_requires + target.run_requires) if not _module_found(m)]
    if missing:
        return "needs " + ", ".join(missing) + " (not installed)"
    return None


def planned_targets(targets: list[str] | None, precisions: list[str] | None) -> list[tuple[str, str]]:
    """(target, precision) rows of the targets table after the filters."""
    from edgemef.export.targets import matrix

    return [(t, p) for t, p in matrix(runnable_only=False)
            if (not targets or t in targets) and (not precisions or p in precisions)]


def new_row(model: str, fmt: str, precision: str, kind: str, threads: int) -> dict:
    return {"model": model, "format": fmt, "precision": precision, "kind": kind, "status": "ok", "reason": None,
            "threads": threads, "backend": None, "compute": None, "size_mb": None, "latency_ms": None,
            "p90_ms": None, "min_ms": None, "net_ms": None, "fps": None, "x_mertens": None, "bound_ms": None,
            "x_bound": None, "peak": None, "align_fuse_ms": None, "x_enfuse": None, "mef_ssim": None,
            "psnr_db": None, "psnr_db_min": None, "pairs": 0, "artifact": None, "notes": []}


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if isinstance(err, EdgemefError) else f"{type(err).__name__}: {text}"


def measure_row(row: dict, fuser, frames, sets, cfg: BenchConfig, reference=None, keep=None) -> None:
    """Fill a row's latency and quality columns from a fuser."""
    t = bm.time_fuser(fuser, frames, cfg.warmup, cfg.repeats)
    row.update(latency_ms=t["total"]["median"], p90_ms=t["total"]["p90"], min_ms=t["total"]["min"],
               fps=1e3 / t["total"]["median"], timing=t)
    if t["infer"] is not None:
        row["net_ms"] = t["infer"]["median"]
    if sets:
        row.update(bm.score_fuser(fuser, sets, reference, keep), pairs=len(sets))


def _artifact_mb(files) -> float:
    return sum(f.stat().st_size for f in files if f.suffix in MODEL_FILE_SUFFIXES
               and not f.name.endswith(".calib.json")) / 1e6


def network_rows(cfg: BenchConfig, name: str, net, sets, frames, aligned, bar) -> tuple[list[dict], dict]:
    """The PyTorch reference row and one row per planned (target, precision) of one network."""
    from edgemef.benchmarks.compute_bound import conv_macs
    from edgemef.export.pipeline import Exporter, ExportOptions
    from edgemef.export.targets import TARGETS
    from edgemef.netio import padded_size
    from edgemef.runtimes import load

    hp, wp = padded_size(*cfg.shape, net.manifest)
    try:
        from edgemef.netio import example_extra_inputs

        examples = example_extra_inputs(net.manifest)
        extra = [examples[e["name"]] for e in getattr(net.manifest, "extra_inputs", None) or []]
        macs = conv_macs(net.module, (1, net.in_channels, hp, wp), extra)
    except Exception as e:  # e.g. a network whose forward takes more than the brackets tensor
        macs = {"macs": None, "layers": [], "error": _one_line(e)}
    info = {"weights": "random init (seed 0, --random-weights)" if cfg.random_weights else str(net.weights),
            "weights_digest": net.weights_digest, "random_weights": cfg.random_weights, "exposures": net.manifest.exposures,
            "network_input": [1, net.in_channels, hp, wp], "macs": macs["macs"], "conv_layers": len(macs["layers"]),
            "macs_error": macs.get("error")}
    mine = [s for s in sets if len(s.frames) == net.manifest.exposures]
    timing_set = cfg.sets[0][0]
    if len(frames) != net.manifest.exposures:  # time on the first set this network can fuse
        match = next(((n, f) for n, f in cfg.sets if len(f) == net.manifest.exposures), None)
        if match is not None:
            from edgemef.align import align_brackets
            from edgemef.fusion import pick_reference

            timing_set, frames = match[0], bm.bench_frames(match[1], cfg.shape)
            aligned = align_brackets(frames, pick_reference(frames)).images
    info["timing_set"] = timing_set
    rows: list[dict] = []
    ref_out: dict = {}
    row = new_row(name, "pytorch", "fp32", "reference", cfg.threads)
    row.update(backend="torch", compute="fp32", macs=macs["macs"],
               size_mb=(net.weights.stat().st_size / 1e6) if net.weights else None)
    bar.set_postfix_str(f"{name} pytorch fp32")
    try:
        if len(frames) != net.manifest.exposures:
            raise EdgemefError(f"the timing set has {len(frames)} frames; '{name}' fuses {net.manifest.exposures}")
        measure_row(row, bm.TorchFuser(net.module, net.manifest), aligned, mine, cfg, keep=ref_out)
    except Exception as e:
        row.update(status="failed", reason=_one_line(e))
    rows.append(row)
    bar.update(1)
    parity_dir = cfg.pairs_dir
    exporter = Exporter(net, ExportOptions(parity_dir=parity_dir, parity_pairs=min(2, max(1, len(mine))),
                                           parity_max_side=512, latency=False, threads=cfg.threads,
                                           calib_dir=cfg.calib_dir, calib_synthetic=cfg.calib_synthetic))
    art_dir = cfg.out_dir / "artifacts"
    art_dir.mkdir(parents=True, exist_ok=True)
    for target, precision in planned_targets(cfg.targets, cfg.precisions):
        t = TARGETS[target]
        row = new_row(name, target, precision, "network", cfg.threads)
        row.update(backend=t.backend, macs=macs["macs"])
        bar.set_postfix_str(f"{name} {target} {precision}")
        why = skip_reason(t)
        if why:
            row.update(status="skipped", reason=why)
        else:
            try:
                result = exporter.export(target, precision, art_dir / f"{name}-{target}-{precision}{t.suffix}")
                row.update(artifact=str(result.artifact), size_mb=_artifact_mb(result.files),
                           notes=list(dict.fromkeys(result.notes)), export_parity=result.manifest.parity)
                rt = load(result.artifact, threads=cfg.threads)
                info_rt = rt.backend.info()
                row.update(compute=str(info_rt.get("precision")),
                           backend=f"{info_rt['backend']} {info_rt.get('version') or ''}".strip())
                measure_row(row, rt, aligned, mine, cfg, reference=ref_out)
            except Exception as e:
                row.update(status="failed", reason=_one_line(e))
        rows.append(row)
        bar.update(1)
    return rows, info


def classical_rows(cfg: BenchConfig, sets, frames, aligned, bar) -> list[dict]:
    """Alignment alone, OpenCV Mertens and (when on PATH) enfuse on the same frames."""
    from edgemef.align import align_brackets
    from edgemef.fusion import pick_reference

    rows = []
    row = new_row("-", "align", "-", "stage", cfg.threads)
    row.update(backend="opencv (AGC + SIFT + RANSAC homography)", compute="fp32")
    bar.set_postfix_str("alignment")
    try:
        ref = pick_reference(frames)
        stats = bm.time_call(lambda: align_brackets(frames, ref), cfg.warmup, cfg.repeats)
        row.update(latency_ms=stats["median"], p90_ms=stats["p90"], min_ms=stats["min"], fps=1e3 / stats["median"])
    except Exception as e:
        row.update(status="failed", reason=_one_line(e))
    rows.append(row)
    bar.update(1)
    row = new_row("-", "mertens", "fp32", "classical", cfg.threads)
    row.update(backend="opencv createMergeMertens", compute="fp32")
    bar.set_postfix_str("mertens")
    try:
        measure_row(row, bm.MertensFuser(), aligned, sets, cfg)
    except Exception as e:
        row.update(status="failed", reason=_one_line(e))
    rows.append(row)
    bar.update(1)
    row = new_row("-", "enfuse", "-", "classical", cfg.threads)
    binary = bm.enfuse_binary()
    bar.set_postfix_str("enfuse")
    if binary is None:
        row.update(status="skipped", reason="enfuse not on PATH (apt install enfuse)")
    else:
        fuser = bm.EnfuseFuser(binary, cfg.threads)
        row.update(backend=bm.enfuse_version(binary) or "enfuse", compute="-")
        try:
            measure_row(row, fuser, aligned, sets, cfg)
        except Exception as e:
            row.update(status="failed", reason=_one_line(e))
        finally:
            fuser.close()
    rows.append(row)
    bar.update(1)
    return rows
