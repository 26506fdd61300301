"""The compute bound of a network on this CPU: its convolution MACs over the CPU's measured peak.

``conv_macs`` counts multiply-accumulates of every ``Conv2d`` / ``ConvTranspose2d`` call with
forward hooks (on the ``meta`` device when the network allows it, so nothing is computed):
``MACs = N * out_h * out_w * cout * cin / groups * kh * kw`` (for a transposed convolution the
input plane is what each kernel tap visits: ``N * in_h * in_w * cin * cout / groups * kh * kw``).
``measure_peaks`` times large matrix products on ``threads`` threads in this process: fp32 with
torch and ONNX Runtime ``MatMul``, int8 with ONNX Runtime ``MatMulInteger`` (uint8 x int8 ->
int32) and ``QLinearMatMul``; the best of each kind is the peak. One MAC is two operations, so
``bound_ms = 2 * MACs / peak``.
"""
from __future__ import annotations

import copy
import time

import numpy as np

PEAK_SIZE = 2048


def conv_macs(module, input_shape: tuple[int, ...], extra_inputs=()) -> dict:
    """Convolution MACs of one forward pass on an input of ``input_shape`` (B, C, H, W).

    ``extra_inputs``: further forward arguments (numpy arrays, e.g. exposure ratios), in order.

    Returns:
        dict with ``macs`` (total), ``layers`` (per-layer list of name, kind, macs) and ``device``
        ('meta' when counted without computing, else 'cpu').
    """
    import torch
    from torch import nn

    def run(net, device: str) -> list:
        records: list = []
        hooks = []
        for name, m in net.named_modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                hooks.append(m.register_forward_hook(
                    lambda mod, args, out, name=name: records.append((name, mod, args[0].shape, out.shape))))
        try:
            extra = [torch.as_tensor(np.asarray(e)).to(device) for e in extra_inputs]
            with torch.inference_mode():
                net(torch.zeros(input_shape, device=device), *extra)
        finally:
            for h in hooks:
                h.remove()
        return records

    try:
        records, device = run(copy.deepcopy(module).to("meta"), "meta"), "meta"
    except Exception:  # an op without a meta kernel: count on a real (slower) forward
        records, device = run(module, "cpu"), "cpu"
    layers = []
    for name, m, ishape, oshape in records:
        kh, kw = m.kernel_size
        per_tap = (m.in_channels // m.groups) * m.out_channels * kh * kw
        if isinstance(m, torch.nn.ConvTranspose2d):
            macs = int(ishape[0]) * int(ishape[2]) * int(ishape[3]) * per_tap
        else:
            macs = int(oshape[0]) * int(oshape[2]) * int(oshape[3]) * per_tap
        layers.append({"name": name, "kind": type(m).__name__, "macs": macs})
    return {"macs": sum(layer["macs"] for layer in layers), "layers": layers, "device": device}


def bound_ms(macs: int, peak_gops: float) -> float:
    """Milliseconds the MACs take at ``peak_gops`` (GOP/s, one MAC = 2 ops)."""
    return 2.0 * macs / (peak_gops * 1e9) * 1e3


def _best_seconds(fn, repeats: int, min_seconds: float = 0.0, warmup: int = 2, cap: int = 100) -> float:
    """Fastest of at least ``repeats`` calls, going on until ``min_seconds`` have been spent (at most
    ``cap`` calls): on a shared machine the best of many short calls finds the quiet moments."""
    for _ in range(warmup):
        fn()
    best, spent, n = float("inf"), 0.0, 0
    while n < repeats or (spent < min_seconds and n < cap):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best


def _ort_matmul(op: str, n: int, threads: int, rng: np.random.Generator):
    """A one-node ONNX Runtime session of ``op`` on (n, n) x (n, n) and its feed."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    def const(name, value, dtype):
        return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)

    if op == "MatMul":
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        node, inputs, itype, otype = helper.make_node("MatMul", ["A", "B"], ["Y"]), [], TensorProto.FLOAT, TensorProto.FLOAT
    else:
        a = rng.integers(0, 256, (n, n), dtype=np.uint8)
        b = rng.integers(-127, 128, (n, n), dtype=np.int8)
        itype = TensorProto.UINT8
        if op == "MatMulInteger":
            node, inputs, otype = helper.make_node("MatMulInteger", ["A", "B"], ["Y"]), [], TensorProto.INT32
        else:
            names = ["A", "a_scale", "a_zero", "B", "b_scale", "b_zero", "y_scale", "y_zero"]
            node, otype = helper.make_node("QLinearMatMul", names, ["Y"]), TensorProto.UINT8
            inputs = [const("a_scale", 0.01, np.float32), const("a_zero", 128, np.uint8),
                      const("b_scale", 0.01, np.float32), const("b_zero", 0, np.int8),
                      const("y_scale", 1.0, np.float32), const("y_zero", 128, np.uint8)]
    graph = helper.make_graph([node], op, [helper.make_tensor_value_info("A", itype, [n, n])],
                              [helper.make_tensor_value_info("Y", otype, [n, n])],
                              initializer=[numpy_helper.from_array(b, "B"), *inputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess, {"A": a}


def measure_peaks(threads: int, n: int = PEAK_SIZE, repeats: int = 5, min_seconds: float = 0.0,
                  warmup: int = 2) -> dict:
    """This CPU's fp32 and int8 matrix-product throughput on ``threads`` threads, measured now.

    Each method keeps its fastest of at least ``repeats`` calls, and of as many more as fit in
    ``min_seconds``, after ``warmup`` untimed calls.

    Returns:
        dict with ``fp32_gflops`` and ``int8_gops`` (the best method of each kind), ``size``,
        ``threads`` and ``methods`` ({method: GOP/s}; a method that failed maps to its error).
    """
    ops = 2.0 * n ** 3
    rng = np.random.default_rng(0)
    methods: dict = {}
    try:
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            a, b = torch.rand(n, n), torch.rand(n, n)
            methods["torch fp32 matmul"] = ops / _best_seconds(lambda: a @ b, repeats, min_seconds, warmup) / 1e9
        finally:
            torch.set_num_threads(before)
    except Exception as e:  # torch is optional for the peak: ONNX Runtime still measures fp32
        methods["torch fp32 matmul"] = f"{type(e).__name__}: {e}"
    for op, label in (("MatMul", "onnxruntime fp32 MatMul"), ("MatMulInteger", "onnxruntime int8 MatMulInteger"),
                      ("QLinearMatMul", "onnxruntime int8 QLinearMatMul")):
        try:
            sess, feed = _ort_matmul(op, n, threads, rng)
            methods[label] = ops / _best_seconds(lambda: sess.run(None, feed), repeats, min_seconds, warmup) / 1e9
        except Exception as e:
            methods[label] = f"{type(e).__name__}: {str(e)[:120]}"
    return _summary(methods, n, threads, repeats, min_seconds)


def combine_peaks(*runs: dict) -> dict:
    """The best figure of each method over several :func:`measure_peaks` runs (e.g. before and after
    the benchmark rows: another process busy during one window does not lower the peak)."""
    methods: dict = {}
    for run in runs:
        for k, v in run["methods"].items():
            old = methods.get(k)
            if isinstance(v, float) and (not isinstance(old, float) or v > old):
                methods[k] = v
            elif k not in methods:
                methods[k] = v
    first = runs[0]
    out = _summary(methods, first["size"], first["threads"], first["repeats"], first.get("min_seconds", 0.0))
    out["windows"] = len(runs)
    return out


def _summary(methods: dict, n: int, threads: int, repeats: int, min_seconds: float = 0.0) -> dict:
    def best(kind: str) -> tuple[float | None, str | None]:
        got = {k: v for k, v in methods.items() if kind in k and isinstance(v, float)}
        if not got:
            return None, None
        k = max(got, key=got.get)
        return got[k], k

    fp32, fp32_by = best("fp32")
    int8, int8_by = best("int8")
    return {"fp32_gflops": fp32, "fp32_method": fp32_by, "int8_gops": int8, "int8_method": int8_by,
            "size": n, "threads": threads, "repeats": repeats, "min_seconds": min_seconds,
            "methods": dict(methods)}
