"""Which parts of a network lose accuracy in int8: per-module quantization sensitivity.

When an int8 export fails its parity check, this says where the accuracy goes. The compute ops
(Conv, ConvTranspose, MatMul, Gemm) are grouped by the module their weights belong to (the
initializer's name, ``merge.stage1.encoders.0.conv.weight`` -> ``merge.stage1`` at depth 2).
The other nodes join the group of the module they belong to (:func:`group_nodes`). For each
group, the QDQ graph of the export's flavour is built with only that group quantized (every other
node fp32, reading fp32 inputs; the structural fp32 nodes of :mod:`edgemef.calibration.sensitive`
stay fp32 as in the export), run on probe inputs, and compared with the fp32 graph: PSNR of the
display image (HDR outputs tone-mapped with the fp32 output's white point, as ``edgemef fuse``
shows them). The first row quantizes every group: what the export ships.

Probe inputs are the calibration inputs (the bundled samples plus synthetic brackets, or
``--calib DIR``), not the export's parity brackets, so the figures are a diagnosis, not the
verdict; the export's parity check on real brackets stays the verdict. :func:`fallback` turns
the ranking into accuracy-aware mixed precision (``edgemef export --int8-fallback``).

    python -m edgemef.calibration.sensitivity --model sthdr --weights runs/x/sthdr.safetensors

The quantization graph tools are torch-free; loading the network for the command needs torch.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.metrics.reference import PSNR_CAP_DB, psnr_capped

COMPUTE_WITH_WEIGHTS = ("Conv", "ConvTranspose", "MatMul", "Gemm")
ALL = "(all groups)"


def module_groups(model, depth: int = 2) -> dict[str, list[str]]:
    """{module group: names of its compute ops}, from the name of each op's weight initializer.

    Ops whose weight is not an initializer, or whose initializer name is not a dotted module path
    (some exporters rename them), fall in the group ``'(unnamed)'``.
    """
    if depth < 1:
        raise EdgemefError(f"group depth must be >= 1 (got {depth})")
    inits = {i.name for i in model.graph.initializer}
    groups: dict[str, list[str]] = {}
    for node in model.graph.node:
        if node.op_type not in COMPUTE_WITH_WEIGHTS or len(node.input) < 2:
            continue
        w = node.input[1]
        parts = w.split(".")
        key = ".".join(parts[:depth]) if w in inits and len(parts) > 1 else "(unnamed)"
        groups.setdefault(key, []).append(node.name)
    return groups


def _scope(node, depth: int) -> str | None:
    """The module path (first ``depth`` components) the exporter recorded for a node, or None."""
    import ast

    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(p.value)
            except (ValueError, SyntaxError):
                return None
            paths = [s for s in scopes[:-1] if s]  # the last entry is the op itself
            return ".".join(paths[-1].split(".")[:depth]) if paths else None
    return None


def group_nodes(model, depth: int = 2) -> dict[str, list[str]]:
    """{module group: every node of it}: the compute ops of :func:`module_groups`, and each other
    node inside those modules, so a group kept fp32 keeps its elementwise ops and their tensors
    fp32 too. A node's module is the scope the exporter recorded (torch.onnx's dynamo exporter
    does); without one, or with a scope outside every group, it is the group of the first of its
    inputs made inside a group (the op it post-processes: bias adds, activations, residual adds).
    Nodes before any compute op (input preparation) belong to no group."""
    groups = {g: list(ops) for g, ops in module_groups(model, depth).items()}
    owner = {n: g for g, ops in groups.items() for n in ops}
    producers = {o: n for n in model.graph.node for o in n.output}
    for node in model.graph.node:  # topological order: producers come first
        if node.name in owner:
            continue
        g = _scope(node, depth)
        if g not in groups:  # the first input made inside a group (constants belong to none)
            g = next((owner[producers[t].name] for t in node.input
                      if t in producers and producers[t].name in owner), None)
        if g is not None:
            owner[node.name] = g
            groups[g].append(node.name)
    return groups


def display(y: np.ndarray, manifest, white: float | None, feed: dict | None = None) -> np.ndarray:
    """A network output (1, C, H, W) as the image a user sees, [0, 1] (HDR: tone-mapped as the
    manifest says, with the fp32 output's ``white`` point, or re-exposed at ``feed``'s ratios
    with the frames the feed's image input holds, as the runtime shows it)."""
    from edgemef.netio import _from_range, display_hdr

    out = _from_range(np.asarray(y, np.float32)[0], manifest.input_range)
    if manifest.output != "hdr":
        return np.clip(out, 0.0, 1.0)
    names = [e["name"] for e in manifest.extra_inputs if e.get("kind") == "exposure_ratios"]
    ratios = np.ravel(feed[names[0]]) if names and feed is not None else None
    frames = None
    if feed is not None and manifest.input_name in feed and manifest.colour_space == "rgb":
        x = np.clip(_from_range(np.asarray(feed[manifest.input_name], np.float32)[0], manifest.input_range), 0, 1)
        frames = [x[3 * i:3 * i + 3].transpose(1, 2, 0) for i in range(x.shape[0] // 3)]
    return display_hdr(out, manifest, ratios, white, frames=frames)


def _session(model, threads: int | None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _run(model, feeds: list[dict], threads: int | None) -> list[np.ndarray]:
    sess = _session(model, threads)
    return [sess.run(None, f)[0] for f in feeds]


class Probe:
    """The fp32 graph's display images on some feeds, and the PSNR of another graph against them."""

    def __init__(self, model, feeds: list[dict], manifest, threads: int | None = None):
        self.feeds, self.manifest, self.threads = feeds, manifest, threads
        refs = _run(model, feeds, threads)
        self.whites = [None] * len(refs)
        if manifest.output == "hdr":
            from edgemef.netio import _from_range, white_point

            self.whites = [white_point(np.maximum(_from_range(r[0], manifest.input_range), 0.0)) for r in refs]
        self.refs = [display(r, manifest, w, f) for r, w, f in zip(refs, self.whites, feeds)]

    def psnr(self, model) -> tuple[float, float]:
        """(worst, mean) PSNR in dB of ``model``'s display images against the fp32 graph's."""
        outs = _run(model, self.feeds, self.threads)
        ps = [psnr_capped(display(o, self.manifest, w, f), r)
              for o, w, r, f in zip(outs, self.whites, self.refs, self.feeds)]
        return round(float(min(ps)), 2), round(float(np.mean(ps)), 2)


def probe_feeds(model, calib, count: int) -> list[dict[str, np.ndarray]]:
    """The first ``count`` calibration inputs as ONNX Runtime feeds (image + further inputs)."""
    if count < 1:
        raise EdgemefError(f"need at least one probe input (got {count})")
    name = model.graph.input[0].name
    feeds = [{name: x, **extra} for x, extra in zip(calib.inputs, calib.feeds())][:count]
    if not feeds:
        raise EdgemefError("no calibration inputs to probe with")
    return feeds


def sensitivity(model, table, flavour: str, keep_float: list[str] | set[str], feeds: list[dict], manifest, *,
                depth: int = 2, threads: int | None = None, progress: bool = False,
                probe: Probe | None = None) -> list[dict]:
    """Quantize one module group at a time (its nodes per :func:`group_nodes`); return one row
    per group (worst first), after the row of the whole graph quantized.

    Each row: group, ops (compute ops in the group), quantized (of them not kept fp32 by
    ``keep_float``), psnr_db_min and psnr_db_mean (display image against the fp32 graph over the
    probe inputs).
    """
    from edgemef.calibration.qdq import emit_qdq

    groups = module_groups(model, depth)
    members = group_nodes(model, depth)
    keep = set(keep_float)
    probe = probe or Probe(model, feeds, manifest, threads)
    every = {n.name for n in model.graph.node}

    def measure(quantize: set[str]) -> tuple[float, float]:
        if not quantize:
            return PSNR_CAP_DB, PSNR_CAP_DB
        return probe.psnr(emit_qdq(model, table, flavour, keep_float=sorted(every - quantize)))

    todo = [(ALL, [n for ops in groups.values() for n in ops])] + sorted(groups.items())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="int8 sensitivity", unit="group", file=sys.stderr, leave=False)
    rows = []
    for group, ops in todo:
        quantize = set(members[group]) - keep if group != ALL else every - keep
        lo, mean = measure(quantize)
        rows.append({"group": group, "ops": len(ops), "quantized": len(set(ops) - keep),
                     "psnr_db_min": lo, "psnr_db_mean": mean})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return rows[:1] + sorted(rows[1:], key=lambda r: (r["psnr_db_min"], r["group"]))


def fallback(model, table, flavour: str, keep_float, feeds: list[dict], manifest, target_db: float, *,
             depth: int = 2, refine_depth: int | None = None, threads: int | None = None,
             progress: bool = False) -> dict:
    """Accuracy-aware mixed precision: keep the most sensitive module groups fp32, worst first,
    until the probe PSNR of the whole int8 graph reaches ``target_db``; then hand back to int8
    each finer block of those groups (module path cut at ``refine_depth``, default ``depth + 2``:
    ``merge.stage1`` -> ``merge.stage1.encoders.0``) whose requantization keeps the aim, one at a
    time in graph order, so a group is kept fp32 only where it loses accuracy.

    Returns: {'groups': groups kept fp32 (in order), 'requantized': finer blocks of them handed
    back to int8, 'nodes': {node: 'fallback: group'}, 'steps': [{'kept_fp32': [...],
    'requantized': [...], 'psnr_db_min', 'psnr_db_mean'}] (the first with none kept, the last the
    shipped graph), 'reached': bool, 'target_db', 'compute_ops': n, 'compute_ops_int8': n}. When
    every group is kept and the target is still missed, 'reached' is False (the export's parity
    check then refuses).
    """
    from edgemef.calibration.qdq import emit_qdq

    probe = Probe(model, feeds, manifest, threads)
    rows = sensitivity(model, table, flavour, keep_float, feeds, manifest, depth=depth, threads=threads,
                       progress=progress, probe=probe)
    members = group_nodes(model, depth)
    structural = set(keep_float)
    keep, kept, steps = set(structural), [], []
    lo, mean = rows[0]["psnr_db_min"], rows[0]["psnr_db_mean"]
    steps.append({"kept_fp32": [], "requantized": [], "psnr_db_min": lo, "psnr_db_mean": mean})
    for row in rows[1:]:
        if lo >= target_db:
            break
        if not set(members[row["group"]]) - keep:
            continue  # nothing of it is quantized
        kept.append(row["group"])
        keep |= set(members[row["group"]])
        lo, mean = probe.psnr(emit_qdq(model, table, flavour, keep_float=sorted(keep)))
        steps.append({"kept_fp32": list(kept), "requantized": [], "psnr_db_min": lo, "psnr_db_mean": mean})
    requantized = []
    if kept and lo >= target_db:
        from tqdm import tqdm

        blocks = _blocks(model, kept, members, refine_depth or depth + 2)
        for block, nodes in tqdm(blocks, desc="int8 fallback refine", unit="block", file=sys.stderr, leave=False,
                                 disable=not progress):
            trial = keep - (nodes - structural)
            b_lo, b_mean = probe.psnr(emit_qdq(model, table, flavour, keep_float=sorted(trial)))
            if b_lo >= target_db:
                keep, lo, mean = trial, b_lo, b_mean
                requantized.append(block)
                steps.append({"kept_fp32": list(kept), "requantized": list(requantized),
                              "psnr_db_min": lo, "psnr_db_mean": mean})
    nodes = {n: f"fallback: {g}" for g in kept for n in members[g] if n in keep and n not in structural}
    compute = [n.name for n in model.graph.node if n.op_type in COMPUTE_WITH_WEIGHTS]
    return {"groups": kept, "requantized": requantized, "nodes": nodes, "steps": steps,
            "reached": lo >= target_db, "target_db": target_db, "compute_ops": len(compute),
            "compute_ops_int8": sum(1 for n in compute if n not in keep)}


def _blocks(model, groups: list[str], members: dict[str, list[str]], depth: int) -> list[tuple[str, set[str]]]:
    """The finer blocks (module path cut at ``depth``) of ``groups``, in graph order, each with its
    nodes inside its group; none for a group that does not split into two or more blocks."""
    fine = group_nodes(model, depth)
    order = {n.name: i for i, n in enumerate(model.graph.node)}
    out = []
    for g in groups:
        inside = set(members[g])
        parts = [(b, set(ns) & inside) for b, ns in fine.items() if b == g or b.startswith(g + ".")]
        parts = [(b, ns) for b, ns in parts if ns]
        if len(parts) > 1:
            out += parts
    return sorted(out, key=lambda p: min(order[n] for n in p[1]))


def format_rows(rows: list[dict], threshold: float | None = None) -> str:
    """The rows as an aligned text table; groups below ``threshold`` dB are marked."""
    width = max(len("group"), *(len(r["group"]) for r in rows))
    lines = [f"{'group':<{width}}  {'ops':>4}  {'int8':>4}  {'PSNR min':>9}  {'mean':>7}"]
    for r in rows:
        mark = "  < threshold" if threshold is not None and r["psnr_db_min"] < threshold else ""
        lines.append(f"{r['group']:<{width}}  {r['ops']:>4}  {r['quantized']:>4}  {r['psnr_db_min']:>9.2f}  "
                     f"{r['psnr_db_mean']:>7.2f}{mark}")
    return "\n".join(lines)


def plot_rows(rows: list[dict], path: str | Path, threshold: float, title: str = "") -> Path:
    """Horizontal bars of each row's worst-probe PSNR (capped at 80 dB for the axis), the
    threshold as a line, rows below it red, rows with nothing quantized grey; PNG written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgemef.io import atomic_write_bytes

    cap = 80.0
    names = [f"{r['group']} ({r['quantized']}/{r['ops']} int8)" for r in rows][::-1]
    vals = [min(r["psnr_db_min"], cap) for r in rows][::-1]
    colours = ["#bbbbbb" if not r["quantized"] else "#c0392b" if v < threshold else "#2e86c1"
               for v, r in zip(vals, rows[::-1])]
    fig, ax = plt.subplots(figsize=(8.5, 1.2 + 0.35 * len(rows)), dpi=100)
    ax.barh(names, vals, color=colours)
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"int8 threshold {threshold:.0f} dB")
    for y, (v, r) in enumerate(zip(vals, rows[::-1])):
        ax.text(v + 0.5, y, f"{r['psnr_db_min']:.1f}", va="center", fontsize=8)
    ax.set_xlim(0, cap + 12)
    ax.set_xlabel(f"PSNR against fp32, worst probe (dB; axis capped at {cap:.0f}; grey: nothing quantized)")
    ax.set_title(title or "int8 sensitivity: one module group quantized at a time", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    from edgemef.export.targets import PSNR_THRESHOLDS_DB, TARGETS

    int8 = sorted(n for n, t in TARGETS.items() if "int8" in t.precisions and t.qdq)
    ap = argparse.ArgumentParser(prog="python -m edgemef.calibration.sensitivity",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="registered network (densefuse, twophase, sthdr)")
    ap.add_argument("--weights", type=Path, default=None, help="checkpoint (.safetensors); default: the bundled one")
    ap.add_argument("--target", default="onnx", choices=int8,
                    help="whose QDQ flavour to probe (its int8 graph, as the export builds it)")
    ap.add_argument("--calib", type=Path, default=None,
                    help="calibration bracket sets (default: bundled samples + synthetic brackets); also the probes")
    ap.add_argument("--calib-method", default="percentile", help="minmax, entropy or percentile")
    ap.add_argument("--probes", type=int, default=6, help="calibration inputs to probe with (default 6)")
    ap.add_argument("--depth", type=int, default=2, help="module-path components per group (default 2)")
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: all cores)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here (JSON)")
    ap.add_argument("--plot", type=Path, default=None, help="also draw the rows as a bar chart (PNG)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    try:
        from edgemef.export.pipeline import Exporter, ExportOptions
        from edgemef.export.source import load_network
        from edgemef.io import atomic_write_bytes

        net = load_network(args.model, args.weights)
        ex = Exporter(net, ExportOptions(calib_dir=args.calib, calib_method=args.calib_method, threads=args.threads,
                                         progress=not args.quiet, latency=False))
        target = TARGETS[args.target]
        graph = ex.graph_for(target)
        model = ex.base_onnx(*graph)
        table = ex.calibration(*graph)
        rows = sensitivity(model, table, target.qdq, ex.float_nodes(*graph), probe_feeds(model, ex.calibration_data(),
                           args.probes), net.manifest, depth=args.depth, threads=args.threads,
                           progress=not args.quiet)
        if args.json:
            atomic_write_bytes(args.json, (json.dumps({"model": args.model, "target": args.target,
                                                       "calibration": table.record(), "rows": rows},
                                                      indent=2) + "\n").encode())
        if args.plot:
            plot_rows(rows, args.plot, PSNR_THRESHOLDS_DB["int8"],
                      f"{args.model} int8 ({target.qdq}, {table.method}): one module group at a time")
    except EdgemefError as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    print(f"{args.model} int8 ({target.qdq} QDQ, {table.method} ranges) against fp32 on {args.probes} probe input(s); "
          f"one group quantized at a time:")
    print(format_rows(rows, PSNR_THRESHOLDS_DB["int8"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
