"""TensorRT without TensorRT: the export writes and checks a TensorRT-ready ONNX, never an engine;
the readiness check catches what TensorRT's parser would reject."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from edgemef.calibration.trt_check import check_tensorrt_ready  # noqa: E402
from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.export.targets import DEFAULT_PROFILE, TARGETS  # noqa: E402
from edgemef.export.tensorrt_export import build_engine, trtexec_command  # noqa: E402

needs_no_trt = pytest.mark.skipif(TARGETS["tensorrt"].can_run(), reason="TensorRT is installed: engines get built")


@pytest.fixture(scope="module")
def trt_int8(exporters, tmp_path_factory):
    d = tmp_path_factory.mktemp("trt")
    return exporters("densefuse").export("tensorrt", "int8", d / "df.engine"), d


@needs_no_trt
def test_int8_export_writes_ready_onnx_and_build_script_but_no_engine(trt_int8):
    res, d = trt_int8
    assert not res.engine_built and not (d / "df.engine").exists()
    report = check_tensorrt_ready(d / "df.onnx", channels=2, profile=DEFAULT_PROFILE)
    assert report.ok, report.problems
    assert report.qdq_pairs > 0 and report.weight_dq == 7  # DenseFuse's 8 convolutions but the output one (fp32)
    script = d / "df.trtexec.sh"
    text = script.read_text()
    for part in ("--onnx=df.onnx", "--saveEngine=df.engine", "--stronglyTyped", "--minShapes=brackets:1x2x64x64",
                 "--optShapes=brackets:1x2x720x1280", "--maxShapes=brackets:1x2x1088x1920"):
        assert part in text
    assert "--int8" not in text and os.access(script, os.X_OK)
    side = json.loads((d / "df.engine.json").read_text())
    assert side["format"] == "tensorrt" and side["precision"] == "int8"
    assert side["parity"]["passed"] and "not built" in side["parity"]["proxy"]
    assert side["extra"]["tensorrt"]["profile"]["max"] == [1088, 1920]
    from edgemef.export.summary import summary_lines

    text = "\n".join(summary_lines(res))
    assert "NOT built" in text and "bash" in text and "latency: not measured" in text


def test_nonzero_zero_point_fails_the_check(trt_int8):
    _, d = trt_int8
    model = onnx.load(str(d / "df.onnx"))
    zp_names = {n.input[2] for n in model.graph.node if n.op_type == "QuantizeLinear"}
    init = next(i for i in model.graph.initializer if i.name in zp_names)
    init.CopyFrom(onnx.numpy_helper.from_array(np.array(3, np.int8), init.name))
    report = check_tensorrt_ready(model, channels=2, profile=DEFAULT_PROFILE)
    assert not report.ok and any("non-zero zero point" in p for p in report.problems)


def test_ort_cpu_flavour_is_not_tensorrt_ready(exporters):
    report = check_tensorrt_ready(exporters("densefuse").qdq("ort-cpu"), channels=2)
    assert not report.ok
    assert any("uint8" in p for p in report.problems) and any("int32" in p for p in report.problems)


def _tiny(op: str = "Relu", dims=("h", "w"), domain: str = ""):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, *dims])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, *dims])
    node = helper.make_node(op, ["x"], ["y"], domain=domain)
    opsets = [helper.make_opsetid("", 18)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=opsets)


def test_unsupported_op_custom_domain_shape_and_channels_fail():
    assert check_tensorrt_ready(_tiny(), channels=2, profile=DEFAULT_PROFILE).ok
    assert any("Unique" in p for p in check_tensorrt_ready(_tiny("Unique")).problems)
    assert any("custom" in p for p in check_tensorrt_ready(_tiny("Foo", domain="com.example")).problems)
    fixed = check_tensorrt_ready(_tiny(dims=(256, 256)), profile=DEFAULT_PROFILE)
    assert any("fixed at 256" in p for p in fixed.problems)
    assert any("channels" in p for p in check_tensorrt_ready(_tiny(), channels=6).problems)


def test_trtexec_command_per_precision():
    args = dict(profile=DEFAULT_PROFILE, input_name="brackets", channels=2)
    fp32 = trtexec_command("a.onnx", "a.engine", "fp32", **args)
    fp16 = trtexec_command("a.onnx", "a.engine", "fp16", **args)
    fixed = trtexec_command("a.onnx", "a.engine", "int8", dynamic=False, **args)
    assert "--noTF32" in fp32 and "--noTF32" not in fp16 and "--stronglyTyped" in fp16
    assert "--fp16" not in fp16  # strongly typed: the fp16 ONNX sets the precision
    assert "Shapes" not in fixed


@needs_no_trt
def test_build_engine_says_tensorrt_is_needed(tmp_path):
    with pytest.raises(EdgemefError, match="needs the tensorrt package"):
        build_engine(tmp_path / "a.onnx", tmp_path / "a.engine", "fp32", DEFAULT_PROFILE, "brackets", 2)


@needs_no_trt
def test_fp16_ready_onnx_is_half_typed(exporters, tmp_path):
    res = exporters("densefuse").export("tensorrt", "fp16", tmp_path / "h.engine")
    model = onnx.load(str(tmp_path / "h.onnx"))
    assert {i.data_type for i in model.graph.initializer if len(i.dims) == 4} == {onnx.TensorProto.FLOAT16}
    assert res.manifest.parity["psnr_db_min"] >= 45 and not res.engine_built


@needs_no_trt
def test_sthdr_tensorrt_ready_onnx_takes_both_inputs(exporters, tmp_path):
    """STHDR for TensorRT: fp16-typed ONNX with the image input dynamic (the profile) and the
    exposure ratios static (1, 2), checked against the parser rules; parity by proxy in ORT."""
    res = exporters("sthdr").export("tensorrt", "fp16", tmp_path / "s.engine")
    assert not res.engine_built and res.manifest.parity["psnr_db_min"] >= 45
    model = onnx.load(str(tmp_path / "s.onnx"))
    assert [i.name for i in model.graph.input] == ["brackets", "exposure_ratios"]
    extra = res.manifest.extra_inputs
    assert check_tensorrt_ready(model, channels=6, profile=DEFAULT_PROFILE, extra_inputs=extra).ok
    missing = check_tensorrt_ready(model, channels=6, profile=DEFAULT_PROFILE)
    assert any("expected 1 network input(s), found 2" in p for p in missing.problems)
    script = (tmp_path / "s.trtexec.sh").read_text()
    assert "--minShapes=brackets:1x6x64x64" in script and "exposure_ratios" not in script  # static: no profile
    # the sampling coordinates stay fp32 in the fp16 graph (pixel positions need more than 11 bits)
    grid = {n.input[1] for n in model.graph.node if n.op_type == "GridSample"}
    producers = {o: n for n in model.graph.node for o in n.output}
    assert grid and all(producers[g].op_type != "Cast" for g in grid)
