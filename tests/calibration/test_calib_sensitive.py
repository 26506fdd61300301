"""Which nodes stay fp32 in int8/fp16 graphs, found from the graph structure (tiny hand-made graphs)."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgemef.calibration.sensitive import (float_nodes, grid_coordinate_nodes, output_conv_nodes,  # noqa: E402
                                           output_tail_nodes, softmax_nodes)
from edgemef.manifest import Manifest  # noqa: E402


def hdr_graph():
    """x (1,6,H,W), r (1,6): H = x * r -> Conv -> features; offsets Conv -> grid (CumSum) and mask
    (Sigmoid); GridSample(features) * mask -> Conv -> + H[:, :3] -> Relu -> out; a spatial
    Softmax -> MatMul. Shapes are not consistent: only the structure matters."""
    w = numpy_helper.from_array(np.zeros((4, 6, 1, 1), np.float32), "w")
    w2 = numpy_helper.from_array(np.zeros((3, 4, 1, 1), np.float32), "w2")
    wo = numpy_helper.from_array(np.zeros((2, 4, 1, 1), np.float32), "wo")
    axis = numpy_helper.from_array(np.array(3, np.int64), "axis")
    perm_start = numpy_helper.from_array(np.array([0], np.int64), "s0")
    perm_end = numpy_helper.from_array(np.array([3], np.int64), "s3")
    perm_ax = numpy_helper.from_array(np.array([1], np.int64), "ax1")
    shape = numpy_helper.from_array(np.array([1, 4, -1], np.int64), "shape")
    nodes = [
        helper.make_node("Mul", ["x", "r4"], ["h"], name="normalise"),
        helper.make_node("Unsqueeze", ["r", "ax23"], ["r4"], name="ratio_unsqueeze"),
        helper.make_node("Conv", ["h", "w"], ["f"], name="encoder"),
        helper.make_node("Conv", ["f", "wo"], ["off"], name="offsets"),
        helper.make_node("CumSum", ["off", "axis"], ["pos"], name="coords"),
        helper.make_node("Transpose", ["pos"], ["grid"], perm=[0, 2, 3, 1], name="grid_layout"),
        helper.make_node("GridSample", ["f", "grid"], ["sampled"], name="sample"),
        helper.make_node("Sigmoid", ["off"], ["mask"], name="mask"),  # the offsets conv also feeds the mask
        helper.make_node("Mul", ["sampled", "mask"], ["modulated"], name="modulate"),
        helper.make_node("Conv", ["modulated", "w2"], ["res"], name="out_conv"),
        helper.make_node("Slice", ["h", "s0", "s3", "ax1"], ["guide"], name="guide"),
        helper.make_node("Add", ["res", "guide"], ["sum"], name="residual"),
        helper.make_node("Relu", ["sum"], ["y"], name="final"),
        helper.make_node("Reshape", ["f", "shape"], ["flat"], name="flatten"),
        helper.make_node("Softmax", ["flat"], ["att"], axis=-1, name="softmax"),
        helper.make_node("Transpose", ["att"], ["att_t"], perm=[0, 2, 1], name="att_t"),
        helper.make_node("MatMul", ["flat", "att_t"], ["ctx"], name="context"),
    ]
    ax23 = numpy_helper.from_array(np.array([2, 3], np.int64), "ax23")
    graph = helper.make_graph(nodes, "hdr", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 8, 8]),
                                             helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("ctx", TensorProto.FLOAT, None)],
                              [w, w2, wo, axis, perm_start, perm_end, perm_ax, shape, ax23])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_coordinates_softmax_exposure_and_head_are_found():
    model = hdr_graph()
    assert grid_coordinate_nodes(model) == ["coords", "grid_layout"]  # not the offsets conv: it is a layer
    assert softmax_nodes(model) == ["softmax", "att_t", "context"]
    assert output_tail_nodes(model) == ["final", "residual", "guide", "normalise", "ratio_unsqueeze"]
    m = Manifest(model="t", format="onnx", output="hdr",
                 extra_inputs=[{"name": "r", "kind": "exposure_ratios", "shape": [1, 6]}])
    kept = float_nodes(model, m)
    assert kept["normalise"] == kept["ratio_unsqueeze"] == kept["guide"] == "exposure normalisation"
    assert kept["encoder"] == "radiance input"  # reads the exposure-normalised frames
    assert kept["final"] == kept["residual"] == "exposure normalisation"  # the guide carries the ratios
    assert kept["coords"] == "grid coordinates"
    assert kept["softmax"] == "spatial softmax"
    assert kept["out_conv"] == "output conv"  # the last convolution, feeding the radiance head
    assert "offsets" not in kept and "sample" not in kept
    ldr = float_nodes(model, Manifest(model="t", format="onnx"))  # no ratio input, LDR output
    assert set(ldr.values()) == {"grid coordinates", "spatial softmax", "output head", "output conv"}
    assert ldr["final"] == "output head" and ldr["out_conv"] == "output conv" and "encoder" not in ldr
    assert set(float_nodes(model).values()) == {"grid coordinates", "spatial softmax"}  # no manifest


def ldr_graph():
    """x -> Conv -> Relu -> Conv -> Sigmoid -> y: an LDR network squashing its output logits."""
    w1 = numpy_helper.from_array(np.zeros((4, 6, 3, 3), np.float32), "w1")
    w2 = numpy_helper.from_array(np.zeros((3, 4, 3, 3), np.float32), "w2")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["f"], name="features"),
             helper.make_node("Relu", ["f"], ["a"], name="act"),
             helper.make_node("Conv", ["a", "w2"], ["logits"], name="last"),
             helper.make_node("Sigmoid", ["logits"], ["y"], name="squash")]
    graph = helper.make_graph(nodes, "ldr", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w1, w2])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_ldr_output_head_keeps_the_logits_off_the_int8_grid():
    """The sigmoid and the convolution that makes its logits stay fp32; the rest is quantized."""
    model = ldr_graph()
    assert output_tail_nodes(model) == ["squash"]
    assert output_conv_nodes(model, ["squash"]) == ["last"]
    assert float_nodes(model, Manifest(model="t", format="onnx")) == {"squash": "output head", "last": "output conv"}
    # a graph whose output is a convolution's own output: that convolution, no tail
    model.graph.node.pop()
    model.graph.output[0].name = "logits"
    assert output_tail_nodes(model) == [] and output_conv_nodes(model, []) == ["last"]
