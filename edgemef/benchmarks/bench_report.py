"""What ``edgemef bench`` prints and writes: the table, bench.json and bench.png (atomically)."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

COLUMNS = [  # (header, row key, format)
    ("model", "model", "s"), ("format", "format", "s"), ("prec", "precision", "s"), ("compute", "compute", "s"),
    ("size MB", "size_mb", ".2f"), ("median ms", "latency_ms", ".1f"), ("p90 ms", "p90_ms", ".1f"),
    ("fps", "fps", ".2f"), ("x mertens", "x_mertens", ".2f"), ("net ms", "net_ms", ".1f"),
    ("bound ms", "bound_ms", ".1f"), ("x bound", "x_bound", ".2f"), ("align+fuse ms", "align_fuse_ms", ".1f"),
    ("x enfuse", "x_enfuse", ".2f"), ("MEF-SSIM", "mef_ssim", ".4f"), ("PSNR dB", "psnr_db", ".2f"),
    ("status", "status", "s"),
]
STATUS_WIDTH = 60


def _cell(row: dict, key: str, fmt: str) -> str:
    v = row.get(key)
    if key == "status":
        text = v if not row.get("reason") else f"{v}: {row['reason']}"
        return text if len(text) <= STATUS_WIDTH else text[:STATUS_WIDTH - 3] + "..."
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, fmt) if fmt != "s" else str(v)


def header_lines(result: dict) -> list[str]:
    s, m, p = result["settings"], result["machine"], result["peaks"]
    la = " ".join(f"{v:.2f}" for v in m["load_average_start"])
    lines = [f"edgemef bench: {', '.join(s['models'])} at {s['resolution']} (H x W, as --shape), threads {s['threads']}, "
             f"median/p90 of {s['repeats']} calls after {s['warmup']} warm-up; {len(s['pairs'])} set(s) from "
             f"{s['pairs_dir']} (timing set: {s['timing_set']} resized)",
             f"machine: {m['cpu']}, {m['cpus']} CPUs, load average {la} at start "
             f"(end {' '.join(f'{v:.2f}' for v in m['load_average_end'])})"]
    fp32, int8 = p.get("fp32_gflops"), p.get("int8_gops")
    lines.append(f"CPU peak measured in this run (best of {p.get('windows', 1)} windows: before and after the rows), "
                 f"threads {p['threads']}, {p['size']}x{p['size']} matrix products: "
                 f"fp32 {fp32 or float('nan'):.1f} GFLOP/s ({p.get('fp32_method')}), "
                 f"int8 {int8 or float('nan'):.1f} GOP/s ({p.get('int8_method')})")
    for name, info in result["models"].items():
        b32, b8 = info.get("bound_fp32_ms"), info.get("bound_int8_ms")
        if info["random_weights"]:
            lines.append(f"WARNING: {name} runs RANDOM-INIT weights (--random-weights): latency is real, "
                         f"MEF-SSIM and PSNR say nothing about a trained network")
        if info["macs"] is None:
            lines.append(f"{name}: MACs not counted ({info['macs_error']}); no compute bound; weights {info['weights']}")
            continue
        lines.append(f"{name}: {info['macs'] / 1e9:.2f} GMAC in {info['conv_layers']} conv layers per "
                     f"{info['network_input'][2]}x{info['network_input'][3]} (H x W) call -> bound "
                     f"{b32 or float('nan'):.1f} ms fp32, {b8 or float('nan'):.1f} ms int8; timed on "
                     f"{info.get('timing_set', s['timing_set'])}; weights {info['weights']}")
    return lines


def footnotes(result: dict) -> list[str]:
    lines = [
        "median/p90 ms: one whole fusion call at the benchmark size (networks: prepare input + network + "
        "colour/chroma back to RGB; enfuse: the subprocess with PNG/TIFF I/O and process start). net ms: "
        "the network alone.",
        "x mertens: median / Mertens' median in this run. bound ms: the network's conv MACs x 2 / the CPU peak "
        "measured above (int8 rows against the int8 peak, fp32/fp16 against the fp32 peak); x bound: net ms / "
        "bound ms (1.0 = at the hardware limit).",
        "compute: the precision that ran. OpenVINO IRs run with INFERENCE_PRECISION_HINT=f32, so the fp16 IR "
        "(fp16 weights) computes in f32 on this CPU; ONNX Runtime runs the fp16 ONNX with fp16 tensors.",
        "align+fuse ms: alignment median (the 'align' row: AGC + SIFT + homography + warp) + the row's fusion "
        "median; enfuse does no alignment (its own time). x enfuse: align+fuse / enfuse (< 1: faster than enfuse).",
        "MEF-SSIM: mean over the sets at their own size, aligned once and shared by every row; PSNR dB: mean "
        "against the PyTorch fp32 output on the same sets (120 = identical).",
    ]
    return lines


def format_table(result: dict) -> str:
    """The whole printed report: header lines, the table, footnotes and the target verdict."""
    cells = [[h for h, _, _ in COLUMNS]] + [[_cell(r, k, f) for _, k, f in COLUMNS] for r in result["rows"]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]

    def line(row):
        return "  ".join((c.ljust(w) if i in (0, 1, 2, 3, len(COLUMNS) - 1) else c.rjust(w))
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    table = [line(cells[0]), "-" * len(line(cells[0]))] + [line(r) for r in cells[1:]]
    out = header_lines(result) + [""] + table + [""] + [f"note: {n}" for n in footnotes(result)]
    out += verdict_lines(result)
    return "\n".join(out)


INT8_BOUND_TARGET = 1.5
"""The issue's target: an INT8 network within this factor of its int8 compute bound."""


def verdict_lines(result: dict) -> list[str]:
    """The target lines ('alignment plus fusion faster than enfuse'; each network's best INT8 row
    against its int8 compute bound), and failures worth reading in full."""
    rows = result["rows"]
    nets = [r for r in rows if r["kind"] in ("network", "reference") and r.get("x_enfuse") is not None]
    out = []
    if nets:
        best = min(nets, key=lambda r: r["align_fuse_ms"])
        enfuse = next(r for r in rows if r["format"] == "enfuse")
        verdict = "met" if best["x_enfuse"] < 1 else "NOT met"
        mertens = next((r for r in rows if r["format"] == "mertens" and r.get("x_enfuse") is not None), None)
        out.append(f"target 'alignment + fusion faster than enfuse': {verdict} (fastest network row "
                   f"{best['model']} {best['format']} {best['precision']}: {best['align_fuse_ms']:.1f} ms vs "
                   f"enfuse {enfuse['latency_ms']:.1f} ms, x{best['x_enfuse']:.2f}"
                   + (f"; align + Mertens: {mertens['align_fuse_ms']:.1f} ms, x{mertens['x_enfuse']:.2f})"
                      if mertens else ")"))
    int8 = [r for r in rows if r["kind"] == "network" and r["precision"] == "int8" and r.get("x_bound") is not None]
    for model in dict.fromkeys(r["model"] for r in int8):
        best = min((r for r in int8 if r["model"] == model), key=lambda r: r["x_bound"])
        verdict = "met" if best["x_bound"] <= INT8_BOUND_TARGET else "NOT met"
        out.append(f"target '{model} INT8 within {INT8_BOUND_TARGET}x of its int8 compute bound': {verdict} "
                   f"(best row {best['format']} int8: network {best['net_ms']:.1f} ms vs bound "
                   f"{best['bound_ms']:.1f} ms, x{best['x_bound']:.2f})")
    for r in rows:
        if r["status"] == "failed" and r["reason"] and len(r["reason"]) > STATUS_WIDTH - 8:
            out.append(f"failed {r['model']} {r['format']} {r['precision']}: {r['reason']}")
    return out


def rounded(value, key: str = ""):
    """Floats rounded for JSON (ms to 3 decimals, ratios and scores to 5); NaN/inf -> None."""
    if isinstance(value, dict):
        return {k: rounded(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, key) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 3 if key.endswith("ms") or key in ("median", "p90", "min", "mean") else 6)
    return value


def write_json(result: dict, path: Path) -> Path:
    from edgemef.io import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(rounded(result), indent=2) + "\n").encode())
    return path


def write_chart(result: dict, path: Path) -> Path:
    """Bar chart: median latency per row (p90 whisker, compute bound marked) and MEF-SSIM."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgemef.io import atomic_write_bytes

    rows = [r for r in result["rows"] if r["status"] == "ok" and r["latency_ms"]]
    labels = [f"{r['model']} {r['format']} {r['precision']}".replace("- ", "").replace(" -", "") for r in rows]
    y = list(range(len(rows)))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.45 * len(rows) + 2.2), sharey=True,
                                   gridspec_kw={"width_ratios": [3, 1.3]})
    lat = [r["latency_ms"] for r in rows]
    err = [[0] * len(rows), [max(0.0, r["p90_ms"] - r["latency_ms"]) for r in rows]]
    colours = ["tab:blue" if r["kind"] == "network" else "tab:gray" if r["kind"] != "reference" else "tab:purple"
               for r in rows]
    ax1.barh(y, lat, xerr=err, color=colours, capsize=2)
    bounds = [(i, r["bound_ms"]) for i, r in enumerate(rows) if r.get("bound_ms")]
    if bounds:
        ax1.scatter([b for _, b in bounds], [i for i, _ in bounds], marker="|", s=300, color="red", zorder=3,
                    label="compute bound (conv MACs / measured peak)")
        ax1.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, frameon=False)
    ax1.set_xscale("log")
    ax1.set_yticks(y, labels, fontsize=8)
    ax1.invert_yaxis()
    s = result["settings"]
    ax1.set_xlabel(f"latency ms at {s['resolution']} (H x W), threads {s['threads']} (median, whisker p90; log scale)")
    ax2.barh(y, [r["mef_ssim"] or 0 for r in rows], color=colours)
    ax2.set_xlim(0, 1)
    ax2.set_xlabel(f"MEF-SSIM (mean over {len(s['pairs'])} set(s))")
    fig.suptitle(f"edgemef bench: {', '.join(s['models'])}", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path
