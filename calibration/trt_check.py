"""Is this ONNX ready for TensorRT's ONNX parser? Checked here, where TensorRT is not installed.

What is checked (from the onnx-tensorrt operator matrix of TensorRT 10.x and its explicit
quantization rules; TensorRT 11 keeps the same Q/DQ rules and builds strongly typed):

* opset of the default domain in [9, 20] (TensorRT 10.0's range; later 10.x read up to 24), no
  custom domains;
* every op in the parser's supported list;
* every QuantizeLinear / DequantizeLinear zero point is 0 and of type int8 (TensorRT's quantized
  type; uint8 only as a network input/output), scales positive and finite, per-tensor scales on
  activations, per-channel weight scales on axis 0;
* every QuantizeLinear feeds only DequantizeLinear (explicit Q/DQ pairs), every
  DequantizeLinear reads int8 (no int32 bias dequantization);
* input shape (1, C, H, W) with the expected C; a fixed H/W equals the profile, a dynamic one
  takes any profile; the profile's min <= opt <= max.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgemef.errors import EdgemefError

OPSET_RANGE = (9, 20)

# Operators the TensorRT 10.x ONNX parser supports (onnx-tensorrt docs/operators.md, 'Y' rows).
SUPPORTED_OPS = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool BatchNormalization
BlackmanWindow Cast CastLike Ceil Celu Clip Concat Constant ConstantOfShape Conv ConvTranspose Cos Cosh
CumSum DeformConv DepthToSpace DequantizeLinear Div Dropout Einsum Elu Equal Erf Exp Expand EyeLike
Flatten Floor Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool
Greater GreaterOrEqual GridSample GroupNormalization GRU HammingWindow HannWindow HardSigmoid HardSwish
Hardmax Identity If ImageScaler InstanceNormalization IsInf IsNaN LayerNormalization LeakyRelu Less
LessOrEqual Log LogSoftmax Loop LRN LSTM LpNormalization LpPool MatMul Max MaxPool Mean
MeanVarianceNormalization Min Mish Mod Mul Neg NonMaxSuppression NonZero Not OneHot Or Pad
ParametricSoftplus Pow PRelu QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike
Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd
ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RMSNormalization RNN RoiAlign
RotaryEmbedding Round STFT ScaledTanh Scan Scatter ScatterElements ScatterND Selu Shape Shrink Sigmoid
Sign Sin Sinh Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh
ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor
""".split())


@dataclass
class TrtReport:
    """Result of :func:`check_tensorrt_ready`.

    Attributes:
        problems: one line per problem (empty when ready).
        opset: default-domain opset.
        ops: op type -> count.
        qdq_pairs: number of QuantizeLinear -> DequantizeLinear pairs.
        weight_dq: DequantizeLinear nodes reading int8 initializers (weights).
    """

    problems: list[str] = field(default_factory=list)
    opset: int = 0
    ops: dict[str, int] = field(default_factory=dict)
    qdq_pairs: int = 0
    weight_dq: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (f"TensorRT-ready: opset {self.opset}, {sum(self.ops.values())} nodes, "
                    f"{self.qdq_pairs} Q/DQ pairs, {self.weight_dq} int8 weight DQs, all zero points 0")
        return "not TensorRT-ready: " + "; ".join(self.problems[:5]) + (" ..." if len(self.problems) > 5 else "")


def _const(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    out = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


def _check_qdq(model, consts, report: TrtReport) -> None:
    consumers: dict[str, list] = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    producers = {o: n for n in model.graph.node for o in n.output}
    graph_outputs = {o.name for o in model.graph.output}
    for n in model.graph.node:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        where = f"{n.op_type} '{n.name or n.output[0]}'"
        zp = consts.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
        if len(n.input) > 2 and n.input[2] and zp is None:
            report.problems.append(f"{where}: zero point is not a constant")
        if zp is not None:
            if zp.dtype != np.int8:
                report.problems.append(f"{where}: zero point type {zp.dtype}, TensorRT needs int8")
            if np.any(zp != 0):
                report.problems.append(f"{where}: non-zero zero point ({zp.reshape(-1)[np.flatnonzero(zp)[0]]}); "
                                       "TensorRT needs symmetric quantization")
        scale = consts.get(n.input[1])
        if scale is None:
            report.problems.append(f"{where}: scale is not a constant")
        elif not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            report.problems.append(f"{where}: scales must be positive and finite")
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        per_channel = scale is not None and scale.size > 1
        if n.op_type == "QuantizeLinear":
            if zp is None and not (len(n.input) > 2 and n.input[2]):
                report.problems.append(f"{where}: no zero point, so ONNX makes its output uint8; "
                                       "give an int8 zero point 0")
            users = consumers.get(n.output[0], [])
            if n.output[0] in graph_outputs or any(u.op_type != "DequantizeLinear" for u in users):
                report.problems.append(f"{where}: output must feed DequantizeLinear only (explicit Q/DQ pairs)")
            report.qdq_pairs += sum(u.op_type == "DequantizeLinear" for u in users)
            if per_channel:
                report.problems.append(f"{where}: per-channel activation quantization is not supported")
        else:
            x = consts.get(n.input[0])
            src = producers.get(n.input[0])
            if x is not None:
                if x.dtype != np.int8:
                    report.problems.append(f"{where}: dequantizes {x.dtype} data (int32 bias?); TensorRT reads int8 only")
                else:
                    report.weight_dq += 1
                if per_channel and axis != 0:
                    report.problems.append(f"{where}: per-channel weight scales on axis {axis}, TensorRT needs axis 0")
            elif src is None or src.op_type != "QuantizeLinear":
                report.problems.append(f"{where}: input is neither an int8 constant nor a QuantizeLinear output")


def _check_shapes(model, channels: int | None, profile: dict | None, report: TrtReport,
                  extra_inputs: list[dict] | None = None) -> None:
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    extra = {e["name"]: [int(d) for d in e["shape"]] for e in (extra_inputs or [])}
    if len(inputs) != 1 + len(extra):
        report.problems.append(f"expected {1 + len(extra)} network input(s), found {len(inputs)}")
        return
    for v in inputs:
        if v.name not in extra:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
        if dims != extra[v.name]:  # per-image inputs: static, so no optimisation profile is needed
            report.problems.append(f"input '{v.name}' has shape {dims}, expected static {extra[v.name]}")
        if v.type.tensor_type.elem_type not in (1, 10):
            report.problems.append(f"input '{v.name}' must be float32 or float16")
    missing = [n for n in extra if n not in {v.name for v in inputs}]
    if missing:
        report.problems.append(f"the graph lacks the input(s) {missing}")
        return
    v = next(i for i in inputs if i.name not in extra)
    if v.type.tensor_type.elem_type not in (1, 10):  # FLOAT, FLOAT16
        report.problems.append(f"input '{v.name}' must be float32 or float16")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
    if len(dims) != 4:
        report.problems.append(f"input '{v.name}' has rank {len(dims)}, expected 4 (1, C, H, W)")
        return
    if dims[0] not in (None, 1):
        report.problems.append(f"input batch is {dims[0]}, expected 1")
    if channels is not None and dims[1] != channels:
        report.problems.append(f"input channels {dims[1]}, expected {channels}")
    if not profile:
        return
    lo, opt, hi = (tuple(profile[k]) for k in ("min", "opt", "max"))
    if not all(a <= b <= c for a, b, c in zip(lo, opt, hi)):
        report.problems.append(f"profile must satisfy min <= opt <= max, got {lo} / {opt} / {hi}")
    for axis, name in ((2, "height"), (3, "width")):
        if dims[axis] is not None and not lo[axis - 2] == opt[axis - 2] == hi[axis - 2] == dims[axis]:
            report.problems.append(f"input {name} is fixed at {dims[axis]} but the profile spans "
                                   f"{lo[axis - 2]}..{hi[axis - 2]}")


def check_tensorrt_ready(model, channels: int | None = None, profile: dict | None = None,
                         extra_inputs: list[dict] | None = None) -> TrtReport:
    """Check an ``onnx.ModelProto`` (or a path) against TensorRT's ONNX parser rules.

    Args:
        model: the ONNX model or its path.
        channels: expected input channels (exposures x colour channels), or None to skip.
        profile: {'min': (H, W), 'opt': (H, W), 'max': (H, W)} the engine will be built with.
        extra_inputs: ``Manifest.extra_inputs``: further inputs expected with exactly these static shapes.
    """
    import onnx

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    report = TrtReport()
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            report.opset = int(imp.version)
        elif imp.domain != "ai.onnx.ml":
            report.problems.append(f"custom op domain '{imp.domain}' (TensorRT needs plugins for it)")
    if not OPSET_RANGE[0] <= report.opset <= OPSET_RANGE[1]:
        report.problems.append(f"opset {report.opset} outside TensorRT 10's range {OPSET_RANGE[0]}-{OPSET_RANGE[1]}")
    for n in model.graph.node:
        report.ops[n.op_type] = report.ops.get(n.op_type, 0) + 1
        if n.domain not in ("", "ai.onnx"):
            report.problems.append(f"node '{n.name}' uses custom domain '{n.domain}' ({n.op_type})")
        elif n.op_type not in SUPPORTED_OPS:
            report.problems.append(f"op {n.op_type} is not supported by TensorRT's ONNX parser")
    _check_qdq(model, _const(model), report)
    _check_shapes(model, channels, profile, report, extra_inputs)
    return report


def require_tensorrt_ready(model, channels: int | None = None, profile: dict | None = None,
                           extra_inputs: list[dict] | None = None) -> TrtReport:
    """:func:`check_tensorrt_ready`, raising :class:`EdgemefError` with the problems when not ready."""
    report = check_tensorrt_ready(model, channels, profile, extra_inputs)
    if not report.ok:
        raise EdgemefError(report.summary())
    return report
