"""Activation ranges from calibration inputs -> a reusable, digested calibration table (JSON).

One table drives every QDQ flavour (:mod:`edgemef.calibration.qdq`). Ranges are measured by
running the fp32 ONNX graph in ONNX Runtime with every float tensor exposed as an output:

* 'minmax': the smallest and largest value seen;
* 'percentile': the ``percentile``-th percentile of each tail (default 99.99), from a histogram;
* 'entropy': the KL-divergence-optimal clipping threshold of |x| (TensorRT's entropy calibration:
  2048-bin histogram of the non-zero magnitudes, 128 quantized levels, 255 for non-negative
  tensors).

Clipping methods only clip intermediate tensors: the graph input and output keep their min/max.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes

METHODS = ("minmax", "entropy", "percentile")
TABLE_FORMAT = "edgemef-calibration"
TABLE_VERSION = 1


def graph_digest(model) -> str:
    """sha256 (16 hex digits) of a graph's structure and weights: the ranges belong to exactly it."""
    from onnx import numpy_helper

    h = hashlib.sha256()
    for init in sorted(model.graph.initializer, key=lambda t: t.name):
        h.update(init.name.encode())
        h.update(np.ascontiguousarray(numpy_helper.to_array(init)).tobytes())
    for node in model.graph.node:
        h.update(f"{node.op_type}|{','.join(node.input)}|{','.join(node.output)}".encode())
    return h.hexdigest()[:16]


@dataclass
class CalibrationTable:
    """Per-tensor activation ranges of one fp32 graph.

    Attributes:
        model: registry name of the network.
        method: 'minmax', 'entropy' or 'percentile'.
        graph_digest: :func:`graph_digest` of the graph the ranges were measured on.
        ranges: {tensor name: [low, high]}.
        samples: number of calibration inputs.
        sources: where the inputs came from.
        data_digest: digest of the inputs.
        params: method parameters (percentile, bins).
        digest: sha256 (16 hex digits) of everything above; checked on load.
    """

    model: str
    method: str
    graph_digest: str
    ranges: dict[str, list[float]]
    samples: int
    sources: list[str] = field(default_factory=list)
    data_digest: str = ""
    params: dict = field(default_factory=dict)
    digest: str = ""

    def compute_digest(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "digest"}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def __post_init__(self):
        self.ranges = {k: [float(v[0]), float(v[1])] for k, v in self.ranges.items()}
        if not self.digest:
            self.digest = self.compute_digest()

    def record(self, table_file: str | None = None) -> dict:
        """What the artifact manifest keeps: method, samples, digest, sources (and the table's file)."""
        rec = {"method": self.method, "samples": self.samples, "digest": self.digest,
               "data_digest": self.data_digest, "graph_digest": self.graph_digest, "sources": list(self.sources)}
        if table_file:
            rec["table"] = table_file
        return rec

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON, atomically."""
        body = {"format": TABLE_FORMAT, "version": TABLE_VERSION, **asdict(self)}
        atomic_write_bytes(path, json.dumps(body, indent=1, sort_keys=True).encode())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "CalibrationTable":
        """Read a table; its digest must match its content.

        Raises:
            EdgemefError: unreadable file, not a calibration table, or a digest mismatch.
        """
        p = Path(path)
        try:
            body = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise EdgemefError(f"{p}: cannot read the calibration table ({e})") from None
        if not isinstance(body, dict) or body.get("format") != TABLE_FORMAT:
            raise EdgemefError(f"{p}: not an edgemef calibration table")
        if int(body.get("version", 0)) > TABLE_VERSION:
            raise EdgemefError(f"{p}: calibration table version {body['version']} is newer than this edgemef")
        stored = body.get("digest", "")
        fields_ = {k: body[k] for k in ("model", "method", "graph_digest", "ranges", "samples", "sources",
                                         "data_digest", "params") if k in body}
        table = cls(**fields_)
        if table.digest != stored:
            raise EdgemefError(f"{p}: calibration table digest mismatch (file says {stored}, content is "
                               f"{table.digest}): edited or corrupt")
        return table

    def check_graph(self, model) -> None:
        """Raise unless the table was measured on this very graph."""
        d = graph_digest(model)
        if d != self.graph_digest:
            raise EdgemefError(f"calibration table {self.digest} was measured on graph {self.graph_digest}, "
                               f"not this one ({d}): different weights or export settings; recalibrate")


def float_tensors(model) -> list[str]:
    """Names of the graph input and node-output tensors of float type (the ones that get ranges)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in
             list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    names += [o for n in model.graph.node for o in n.output if o]
    return [n for n in dict.fromkeys(names) if types.get(n) == onnx.TensorProto.FLOAT]


def _augmented_session(model, names: list[str], threads: int | None):
    import onnx
    import onnxruntime as ort

    aug = onnx.ModelProto()
    aug.CopyFrom(model)
    have = {o.name for o in aug.graph.output}
    for n in names:
        if n not in have:
            aug.graph.output.append(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every tensor
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(aug.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess, [o.name for o in sess.get_outputs()]


def _kl(hist: np.ndarray, i: int, levels: int) -> float:
    """KL(P || Q) of clipping a histogram at bin ``i`` and quantizing its first ``i`` bins to ``levels``."""
    p = hist[:i].copy()
    p[-1] += hist[i:].sum()
    groups = np.minimum((np.arange(i) * levels) // i, levels - 1)
    nonzero = hist[:i] > 0
    mass = np.bincount(groups, weights=hist[:i], minlength=levels)
    count = np.bincount(groups, weights=nonzero.astype(np.float64), minlength=levels)
    q = np.where(nonzero, mass[groups] / np.maximum(count[groups], 1), 0.0)
    nz = p > 0
    ps, qs = p[nz] / p.sum(), q[nz]
    if qs.sum() <= 0:
        return np.inf
    qs = np.maximum(qs / qs.sum(), 1e-12)
    return float(np.sum(ps * np.log(ps / qs)))


def entropy_threshold(hist: np.ndarray, edges: np.ndarray, levels: int = 128) -> float:
    """KL-optimal clipping threshold for a histogram of |x| (bins from 0 to max |x|).

    Searches the clipping bin coarsely (every 32 bins), then every 2 bins around the best.
    """
    hist = np.asarray(hist, np.float64)
    nbins = hist.size
    if hist.sum() == 0 or nbins <= levels:
        return float(edges[-1])
    coarse = list(range(levels, nbins + 1, 32)) + [nbins]
    best = min(coarse, key=lambda i: _kl(hist, i, levels))
    fine = range(max(levels, best - 32), min(nbins, best + 32) + 1, 2)
    best = min(fine, key=lambda i: _kl(hist, i, levels))
    return float(edges[best])


def activation_ranges(model, inputs: list[np.ndarray], method: str = "minmax", *, percentile: float = 99.99,
                      bins: int = 2048, sample: int = 65536, threads: int | None = None, seed: int = 0,
                      progress: bool = False, extras: list[dict[str, np.ndarray]] | None = None
                      ) -> dict[str, list[float]]:
    """{tensor: [low, high]} for every float tensor of an fp32 ONNX graph over the inputs.

    One pass: exact min/max over every value, plus ``sample`` random values per tensor and input
    from which 'entropy' and 'percentile' build their histograms.

    Args:
        model: fp32 ``onnx.ModelProto``; its first input takes ``inputs``, any further ones
            (exposure ratios) ``extras``.
        inputs: float32 network inputs (shapes may differ).
        method: 'minmax', 'entropy' or 'percentile'.
        percentile: for 'percentile', the kept fraction of each tail in percent.
        bins: histogram bins for 'entropy' and 'percentile'.
        sample: values kept per tensor and input for the histograms.
        threads: ONNX Runtime intra-op threads.
        seed: seeds the value sampling.
        progress: a tqdm bar on stderr.
        extras: per input, the further graph inputs by name (required when the graph has any).
    """
    if method not in METHODS:
        raise EdgemefError(f"unknown calibration method '{method}' (choose from: {', '.join(METHODS)})")
    if not inputs:
        raise EdgemefError("no calibration inputs")
    names = float_tensors(model)
    sess, outs = _augmented_session(model, names, threads)
    in_names = [i.name for i in sess.get_inputs()]
    in_name = in_names[0]
    extras = list(extras) if extras is not None else [{} for _ in inputs]
    if len(extras) != len(inputs):
        raise EdgemefError(f"{len(extras)} sets of further inputs for {len(inputs)} calibration inputs")
    missing = [n for n in in_names[1:] if any(n not in e for e in extras)]
    if missing:
        raise EdgemefError(f"calibration inputs lack the graph input(s) {missing} (e.g. exposure ratios)")
    rng = np.random.default_rng(seed)
    lo = {n: np.inf for n in outs}
    hi = {n: -np.inf for n in outs}
    kept: dict[str, list[np.ndarray]] = {n: [] for n in outs}
    it = list(zip(inputs, extras))
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc=f"calibration ({method})", unit="input", leave=False)
    for x, extra in it:
        feed = {in_name: x, **{n: np.asarray(extra[n], np.float32) for n in in_names[1:]}}
        for n, v in zip(outs, sess.run(None, feed)):
            if not v.size:
                continue
            lo[n], hi[n] = min(lo[n], float(v.min())), max(hi[n], float(v.max()))
            if method != "minmax":
                flat = v.reshape(-1)
                kept[n].append(flat if flat.size <= sample else flat[rng.integers(0, flat.size, sample)])
    # a tensor that is always empty (STHDR's slice past the reference frame of a pair) still needs
    # quantization parameters when it feeds a quantized op: any range fits it
    ranges = {n: [lo[n], hi[n]] if np.isfinite(lo[n]) else [0.0, 0.0] for n in outs}
    if method == "minmax":
        return ranges
    out = {}
    keep = {i.name for i in model.graph.input} | {o.name for o in model.graph.output}
    for n, (a, b) in ranges.items():
        if n in keep or b <= a:  # the bounded network input and the output keep their full range
            out[n] = [a, b]
            continue
        values = np.concatenate(kept[n])
        if method == "entropy":
            top = max(abs(a), abs(b))
            mags = np.abs(values)
            # exact zeros (a ReLU's dead half) are representable at any scale: leaving them in lets
            # their spike hide the clipping error, so they are kept out of the histogram
            h, edges = np.histogram(mags[mags > 0], bins=bins, range=(0.0, top))
            t = entropy_threshold(h, edges, 255 if a >= 0 else 128)
            out[n] = [max(a, -t), min(b, t)]
        else:
            tail = 100.0 - percentile
            low = a if a >= 0 else min(float(np.percentile(values, tail)), 0.0)
            out[n] = [low, max(float(np.percentile(values, percentile)), 0.0)]
    return out


def calibrate(model, calib, model_name: str, method: str = "minmax", **kw) -> CalibrationTable:
    """Measure ranges on a :class:`~edgemef.calibration.data.CalibrationSet` -> :class:`CalibrationTable`."""
    feeds = calib.feeds() if hasattr(calib, "feeds") else None
    ranges = activation_ranges(model, calib.inputs, method, extras=feeds, **kw)
    params = {"bins": kw.get("bins", 2048), "sample": kw.get("sample", 65536)} if method != "minmax" else {}
    if method == "percentile":
        params = {"percentile": kw.get("percentile", 99.99), "sample": kw.get("sample", 65536)}
    return CalibrationTable(model=model_name, method=method, graph_digest=graph_digest(model), ranges=ranges,
                            samples=len(calib), sources=list(calib.sources), data_digest=calib.digest(),
                            params=params)
