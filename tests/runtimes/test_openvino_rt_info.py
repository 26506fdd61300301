"""The manifest is found in an fp16-compressed IR, whose layers carry rt_info blocks of their own."""
import numpy as np
import pytest

from runtimes.artifacts import openvino_rt_manifest

ov = pytest.importorskip("openvino", reason="OpenVINO not installed (pip install 'edgemef[openvino]')")


def test_manifest_found_after_layer_rt_info(tmp_path):
    from openvino import opset13 as ops

    x = ops.parameter([1, 2, 8, 8], np.float32, name="brackets")
    y = ops.convolution(x, ops.constant(np.ones((1, 2, 3, 3), np.float32)), [1, 1], [1, 1], [1, 1], [1, 1])
    model = ov.Model([y], [x], "t")
    model.set_rt_info('{"model": "densefuse", "format": "openvino"}', ["edgemef", "manifest"])
    ov.save_model(model, str(tmp_path / "m.xml"), compress_to_fp16=True)
    text = (tmp_path / "m.xml").read_text()
    assert text.count("<rt_info>") >= 2 and text.index("<rt_info>") < text.index("edgemef")
    assert openvino_rt_manifest(tmp_path / "m.xml") == '{"model": "densefuse", "format": "openvino"}'
