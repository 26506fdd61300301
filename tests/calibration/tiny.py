"""A tiny real ONNX network for the calibration tests: Conv(2->4) -> Relu -> Conv(4->1), dynamic H/W."""
from __future__ import annotations

import numpy as np


def tiny_model(seed: int = 0):
    """(model, tensor names) with input 'x' (1, 2, H, W) and output 'y' (1, 1, H, W)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((4, 2, 3, 3)) * 0.4).astype(np.float32)
    b1 = np.array([0.1, -0.2, 0.05, 0.0], np.float32)
    w2 = (rng.standard_normal((1, 4, 3, 3)) * 0.3).astype(np.float32)
    b2 = np.array([0.2], np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], pads=[1, 1, 1, 1])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, "h", "w"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "h", "w"])
    model = helper.make_model(helper.make_graph(nodes, "tiny", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model


def run(model, x: np.ndarray) -> np.ndarray:
    """Run an ONNX model in ONNX Runtime (CPU, one thread)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def inputs(n: int = 4, size: int = 24, seed: int = 0) -> list[np.ndarray]:
    """Smooth random inputs in [0, 1]."""
    rng = np.random.default_rng(seed)
    return [rng.random((1, 2, size, size), dtype=np.float32) for _ in range(n)]
