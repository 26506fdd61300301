"""The text ``edgemef export`` prints after an export (torch-free)."""
from __future__ import annotations


def human_size(n: int) -> str:
    """Bytes as '345.4 KB' / '1.2 MB'."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _shapes(io: dict) -> str:
    return "; ".join(f"{name} ({', '.join(str(d) for d in dims)})" for name, dims in io.items())


def fallback_line(fb: dict) -> str:
    """One line on an int8 export's accuracy-aware fallback (the manifest's calibration.fallback)."""
    steps = fb["steps"]
    kept = ", ".join(fb["groups"]) or "none needed"
    back = fb.get("requantized") or []
    if back:
        kept += f" ({len(back)} of their blocks back in int8)"
    n, n8 = fb["compute_ops"], fb["compute_ops_int8"]
    mostly = " (mostly fp32: expect about fp32 speed; fp16 may serve better)" if 2 * n8 < n else ""
    return (f"int8 fallback: kept fp32 {kept}; {n8}/{n} compute ops int8{mostly}; "
            f"probe PSNR {steps[0]['psnr_db_min']:.1f} -> {steps[-1]['psnr_db_min']:.1f} dB (aim {fb['target_db']:.0f})")


def summary_lines(result) -> list[str]:
    """Lines describing an :class:`~edgemef.export.pipeline.ExportResult`."""
    m, io = result.manifest, result.io
    lines = []
    if result.engine_built:
        size = sum(f.stat().st_size for f in result.files if f.suffix in (".onnx", ".xml", ".bin", ".ort", ".engine")
                   and not f.name.endswith(".calib.json"))
        lines.append(f"exported {m.model} -> {result.artifact} ({result.target}, {m.precision}, {human_size(size)})")
    else:
        onnx = next(f for f in result.files if f.suffix == ".onnx")
        lines.append(f"exported {m.model} -> {onnx} (TensorRT-ready ONNX, {m.precision}, "
                     f"{human_size(onnx.stat().st_size)}); engine {result.artifact} NOT built here")
    lines.append("  files: " + ", ".join(f.name for f in result.files))
    if io:
        lines.append(f"  input/output: {_shapes(io)}" + ("" if m.shape else " (H, W dynamic)"))
    if m.calibration:
        c = m.calibration
        lines.append(f"  calibration: {c['method']} over {c['samples']} inputs ({', '.join(c['sources'])}), "
                     f"table {c.get('table', '-')} digest {c['digest']}")
    fb = (m.calibration or {}).get("fallback")
    if fb is not None:
        lines.append(f"  {fallback_line(fb)}")
    p = m.parity or {}
    if p:
        tol = p["thresholds"]["mef_ssim_delta_abs"]
        if p["mef_ssim_delta"] is None:
            mef = "MEF-SSIM undefined"
        else:
            mef = (f"MEF-SSIM {p['mef_ssim_ref']:.4f} -> {p['mef_ssim']:.4f} (delta {p['mef_ssim_delta']:+.4f}"
                   + (f", limit {tol}" if tol else "") + ")")
        asked = p.get("requested") or p["pairs"]
        fewer = f" (of {asked} asked: no more hold {m.exposures} exposures)" if asked > p["pairs"] else ""
        lines.append(f"  parity vs PyTorch on {p['pairs']} pair(s){fewer} from {p.get('set', '?')} via {p['backend']}: "
                     f"PSNR min {p['psnr_db_min']:.2f} dB (mean {p['psnr_db_mean']:.2f}, needs >= "
                     f"{p['thresholds']['psnr_db_min']:.0f}), {mef}: passed")
        if p.get("proxy"):
            lines.append(f"  note: parity {p['proxy']}")
    if result.latency_ms is not None:
        i = result.latency_info
        lines.append(f"  latency here: {result.latency_ms:.0f} ms per 720x1280 (H x W) network call "
                     f"({i.get('backend')} {i.get('version') or ''}, {i.get('threads')} threads, "
                     f"compute {i.get('precision')})")
    elif not result.engine_built:
        lines.append("  latency: not measured (TensorRT runs on the device)")
    for note in result.notes:
        lines.append(f"  {note}")
    art = result.artifact
    lines.append("  next:")
    if not result.engine_built:
        script = next(f for f in result.files if f.name.endswith(".trtexec.sh"))
        lines.append(f"    bash {script}   # on the Jetson/GPU box: builds {art}")
    lines.append(f"    edgemef fuse --model {art} a.jpg b.jpg -o fused.png")
    from edgemef.cli import COMMANDS

    if "bench" in COMMANDS:  # bench takes a registry model and filters the targets table
        lines.append(f"    edgemef bench --model {m.model} --targets {result.target} --precisions {m.precision}")
    return lines
