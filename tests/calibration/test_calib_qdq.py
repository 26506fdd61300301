"""One calibration table, three QDQ flavours: types, zero points, TensorRT-readiness, accuracy."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")

from edgemef.calibration.data import CalibrationSet  # noqa: E402
from edgemef.calibration.qdq import FLAVOURS, emit_qdq  # noqa: E402
from edgemef.calibration.ranges import calibrate  # noqa: E402
from edgemef.calibration.trt_check import check_tensorrt_ready  # noqa: E402
from edgemef.errors import EdgemefError  # noqa: E402
from tests.calibration.tiny import inputs, run, tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def table():
    return calibrate(tiny_model(), CalibrationSet(inputs(6, 32), [], []), "tiny", "minmax")


def _zero_points(model):
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    q = [inits[n.input[2]] for n in model.graph.node if n.op_type == "QuantizeLinear"]
    dq = [inits[n.input[2]] for n in model.graph.node if n.op_type == "DequantizeLinear"]
    return q, dq


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_every_flavour_runs_close_to_fp32(table, flavour):
    q = emit_qdq(tiny_model(), table, flavour)
    x = inputs(1, 40, seed=9)[0]
    ref, out = run(tiny_model(), x), run(q, x)
    err = np.abs(out - ref)
    assert err.max() > 0  # really quantized
    assert err.mean() < 0.005 * np.ptp(ref) and err.max() < 0.06 * np.ptp(ref)  # a few 8-bit steps


def test_flavour_types_and_zero_points(table):
    trt_q, trt_dq = _zero_points(emit_qdq(tiny_model(), table, "tensorrt"))
    assert trt_q and all(z.dtype == np.int8 and not z.any() for z in trt_q + trt_dq)
    ort_q, ort_dq = _zero_points(emit_qdq(tiny_model(), table, "ort-cpu"))
    assert all(z.dtype == np.uint8 for z in ort_q)
    assert {z.dtype for z in ort_dq} == {np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.int32)}  # int32 biases
    ov_q, ov_dq = _zero_points(emit_qdq(tiny_model(), table, "openvino"))
    assert np.dtype(np.int32) not in {z.dtype for z in ov_dq}


def test_only_the_tensorrt_flavour_is_tensorrt_ready(table):
    assert check_tensorrt_ready(emit_qdq(tiny_model(), table, "tensorrt"), channels=2).ok
    for flavour in ("ort-cpu", "openvino"):
        assert not check_tensorrt_ready(emit_qdq(tiny_model(), table, flavour), channels=2).ok


def test_table_must_belong_to_the_graph(table):
    with pytest.raises(EdgemefError, match="recalibrate"):
        emit_qdq(tiny_model(seed=3), table, "ort-cpu")
    with pytest.raises(EdgemefError, match="unknown QDQ flavour 'snpe'"):
        emit_qdq(tiny_model(), table, "snpe")


def test_a_node_kept_fp32_reads_its_input_unquantized(table):
    """Excluding the second conv must also take its input off the Q/DQ grid (ONNX Runtime leaves
    the producer's pair on it, with the Relu folded into it: the fp32 reader gets the Relu back)."""
    model = tiny_model()
    for i, node in enumerate(model.graph.node):
        node.name = f"n{i}"
    x = inputs(1, 32, seed=3)[0]
    ref = run(model, x)
    ranges = dict(table.ranges)
    ranges["r1"] = [ranges["r1"][0], ranges["r1"][1] * 500]  # a grid far too coarse for r1
    from edgemef.calibration.ranges import CalibrationTable

    bad = CalibrationTable(table.model, table.method, table.graph_digest, ranges, table.samples)
    coarse = emit_qdq(model, bad, "ort-cpu")
    kept = emit_qdq(model, bad, "ort-cpu", keep_float=["n2"])
    only_first = emit_qdq(model, table, "ort-cpu", keep_float=["n2"])

    def err(m):
        return float(np.abs(run(m, x) - ref).max())

    assert err(coarse) > 10 * err(kept)  # the bad grid no longer touches the fp32 conv's input
    assert err(kept) == pytest.approx(err(only_first), rel=1e-5)  # r1's range no longer matters at all
    assert any(n.op_type == "Relu" for n in kept.graph.node)  # the folded activation is back
    reader = next(n for n in kept.graph.node if n.name == "n2")
    assert not reader.input[0].endswith("DequantizeLinear_Output")
