"""QDQ ONNX emission: one calibration table, one QDQ flavour per backend.

* 'ort-cpu': uint8 asymmetric activations, per-channel symmetric int8 weights, int32 biases:
  the U8S8 pattern ONNX Runtime's x86/ARM CPU kernels fuse into QLinearConv.
* 'tensorrt': symmetric int8 everywhere (every zero point 0), per-channel weights on axis 0,
  float biases (TensorRT dequantizes only int8 tensors), Relu kept: explicit quantization as
  TensorRT 10/11 reads it.
* 'openvino': symmetric int8 weights per channel and uint8 activations, float biases; OpenVINO
  turns each Q/DQ pair into a FakeQuantize and runs the convolutions in int8.

The QDQ graph is made by ``onnxruntime.quantization.quantize_static`` fed with the table's ranges
(through its calibration cache, so ONNX Runtime does not recalibrate).
"""
from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgemef.calibration.ranges import CalibrationTable
from edgemef.errors import EdgemefError


@dataclass(frozen=True)
class Flavour:
    """How a backend wants its Q/DQ graph.

    Attributes:
        name: flavour key.
        activations: 'uint8' or 'int8'.
        symmetric_activations: force zero point 0 on activations.
        per_channel: per-output-channel weight scales.
        options: extra ``quantize_static`` options.
        help: one line.
    """

    name: str
    activations: str
    symmetric_activations: bool
    per_channel: bool
    options: dict = field(default_factory=dict)
    help: str = ""


FLAVOURS: dict[str, Flavour] = {f.name: f for f in (
    Flavour("ort-cpu", "uint8", False, True, {"QuantizeBias": True},
            "ONNX Runtime CPU: uint8 activations, per-channel int8 weights"),
    Flavour("tensorrt", "int8", True, True,
            {"QuantizeBias": False, "QDQKeepRemovableActivations": True, "DedicatedQDQPair": False},
            "TensorRT: symmetric int8, all zero points 0, float biases"),
    Flavour("openvino", "uint8", False, True, {"QuantizeBias": False},
            "OpenVINO: uint8 activations, per-channel int8 weights, float biases"),
)}


@contextlib.contextmanager
def _quiet_ort():
    log = logging.getLogger()
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _tensors_data(table: CalibrationTable):
    from onnxruntime.quantization.calibrate import CalibrationMethod, TensorData, TensorsData

    data = {n: TensorData(lowest=np.array(r[0], np.float32), highest=np.array(r[1], np.float32))
            for n, r in table.ranges.items()}
    return TensorsData(CalibrationMethod.MinMax, data)


def emit_qdq(model, table: CalibrationTable, flavour: str, keep_float: list[str] | None = None):
    """fp32 ONNX + calibration table -> QDQ ``onnx.ModelProto`` in the given flavour.

    ``keep_float``: node names left unquantized (fp32), e.g. from
    :func:`edgemef.calibration.sensitive.float_nodes`.

    Raises:
        EdgemefError: unknown flavour, a table from another graph, or an onnxruntime too old to
            take external ranges.
    """
    import inspect

    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import save_tensors_data

    if flavour not in FLAVOURS:
        raise EdgemefError(f"unknown QDQ flavour '{flavour}' (choose from: {', '.join(FLAVOURS)})")
    if "calibration_cache_path" not in inspect.signature(quantize_static).parameters:
        raise EdgemefError("INT8 export needs an onnxruntime whose quantize_static takes calibration_cache_path "
                           "(the pinned 1.31.1 does): pip install -c constraints.txt onnxruntime")
    table.check_graph(model)
    f = FLAVOURS[flavour]
    missing = [n for n in _quantizable_inputs(model) if n not in table.ranges]
    if missing:
        raise EdgemefError(f"calibration table {table.digest} lacks ranges for {len(missing)} tensors "
                           f"(e.g. {missing[0]}); recalibrate")
    act = QuantType.QUInt8 if f.activations == "uint8" else QuantType.QInt8
    extra = {"ActivationSymmetric": f.symmetric_activations, "WeightSymmetric": True, **f.options}
    with tempfile.TemporaryDirectory(prefix="edgemef-qdq-") as tmp, _quiet_ort():
        src, dst, cache = Path(tmp) / "fp32.onnx", Path(tmp) / "qdq.onnx", Path(tmp) / "ranges.json"
        onnx.save(model, str(src))
        save_tensors_data(_tensors_data(table), cache)
        quantize_static(str(src), str(dst), calibration_data_reader=None, quant_format=QuantFormat.QDQ,
                        per_channel=f.per_channel, activation_type=act, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, calibration_cache_path=str(cache),
                        nodes_to_exclude=list(keep_float or []), extra_options=extra)
        out = onnx.load(str(dst))
    fp32_inputs(out, set(keep_float or []), model)
    del out.metadata_props[:]
    out.metadata_props.extend(model.metadata_props)
    out.producer_name = "edgemef"
    return out


def fp32_inputs(model, names: set[str], source) -> int:
    """Let the nodes in ``names`` read their activations unquantized, in place; returns how many
    inputs were rewired.

    ``quantize_static``'s ``nodes_to_exclude`` leaves an excluded node's weights fp32, but its
    input still passes through the Q/DQ pair the (quantized) producer put on that tensor, so the
    rounding it was meant to avoid still happens. Here each such input is wired to the float
    tensor before the pair; other consumers keep the pair, and pairs nobody reads any more go.
    Where the quantizer folded an activation into that pair (a Relu or Clip after a Conv becomes
    the quantization range's clamp), the activation is put back for the rewired reader, taken
    from ``source``, the fp32 graph.
    """
    import onnx

    producers = {o: n for n in model.graph.node for o in n.output}
    original = {o: n for n in source.graph.node for o in n.output}
    rewired, added = 0, {}
    for node in model.graph.node:
        if node.name not in names or node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for i, t in enumerate(node.input):
            dq = producers.get(t)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = producers.get(dq.input[0])
            if q is None or q.op_type != "QuantizeLinear":
                continue  # a quantized initializer (weights), not an activation
            t_float = q.input[0]
            was, now = original.get(t_float), producers.get(t_float)
            if was is not None and now is not None and was.op_type != now.op_type:
                if was.op_type not in ("Relu", "Clip"):
                    continue  # a rewrite this cannot undo: keep the pair
                if t_float not in added:  # the folded activation, back as a float node
                    act = onnx.NodeProto()
                    act.CopyFrom(was)
                    act.name = f"{was.name}_fp32"
                    act.input[0] = t_float
                    act.output[:] = [f"{t_float}_fp32"]
                    added[t_float] = act
                t_float = added[t_float].output[0]
            node.input[i] = t_float
            rewired += 1
    if rewired:
        _insert_after_producers(model, list(added.values()))
        _drop_unread(model)
    return rewired


def _insert_after_producers(model, nodes) -> None:
    """Insert ``nodes`` into the graph, each right after the node producing its first input
    (the graph stays topologically sorted)."""
    for new in nodes:
        where = next((i for i, n in enumerate(model.graph.node) if new.input[0] in n.output), -1)
        model.graph.node.insert(where + 1, new)


def _drop_unread(model) -> None:
    """Remove Q/DQ nodes whose outputs nobody reads (repeatedly: a DQ, then its Q)."""
    outputs = {o.name for o in model.graph.output}
    while True:
        read = {t for n in model.graph.node for t in n.input} | outputs
        dead = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")
                and not any(o in read for o in n.output)]
        if not dead:
            return
        for n in dead:
            model.graph.node.remove(n)


def _quantizable_inputs(model) -> list[str]:
    """Activation inputs of the ops that carry weights (the ranges a QDQ graph cannot do without)."""
    inits = {i.name for i in model.graph.initializer}
    ops = {"Conv", "ConvTranspose", "MatMul", "Gemm"}
    return [n.input[0] for n in model.graph.node if n.op_type in ops and n.input and n.input[0] not in inits]


def qdq_summary(model) -> dict:
    """Counts of Q/DQ nodes and the activation/weight types, for logs and tests."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    q = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    dq = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    types = set()
    for n in q + dq:
        if len(n.input) > 2 and n.input[2] in inits:
            types.add(str(numpy_helper.to_array(inits[n.input[2]]).dtype))
    return {"quantize": len(q), "dequantize": len(dq), "zero_point_types": sorted(types)}
