"""The export matrix: targets table x registry models x precisions that run here, each one a real
export whose parity against PyTorch is measured on real mefb-dev brackets and asserted."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from edgemef.export.targets import MEF_SSIM_TOLERANCE, PSNR_THRESHOLDS_DB, TARGETS, matrix  # noqa: E402
from edgemef.models import MODELS  # noqa: E402
from edgemef.netio import example_extra_inputs  # noqa: E402

# STHDR's int8 exports go through the accuracy-aware fallback (--int8-fallback), the route its
# refusal message names: fully int8, the bundled mu-law weights sit within half a dB of the 35 dB
# threshold on these brackets, too close to assert on every CPU's int8 kernels (measured in
# test_export_full_size.py::test_sthdr_fully_int8_measured_and_refused_above_its_figure); the
# fallback's aim is 3 dB above the threshold.
FALLBACK = {("sthdr", "int8")}
CASES = [pytest.param(m, t, p, id=f"{m}-{t}-{p}") for m in MODELS for t, p in matrix(runnable_only=True)]


def test_matrix_covers_the_runnable_table():
    """Everything that runs here is in the matrix; TensorRT (GPU) is not."""
    pairs = {(c.values[1], c.values[2]) for c in CASES}
    assert ("onnx", "int8") in pairs and ("openvino", "fp16") in pairs and ("ort-mobile", "fp32") in pairs
    assert not any(TARGETS[t].needs_gpu for t, _ in pairs)


@pytest.mark.parametrize("model,target,precision", CASES)
def test_export_meets_parity(model, target, precision, exporters, tmp_path):
    from edgemef.runtimes import load, read_manifest

    t = TARGETS[target]
    out = tmp_path / f"{model}{t.suffix}"
    ex = exporters(model, int8_fallback=True) if (model, precision) in FALLBACK else exporters(model)
    res = ex.export(target, precision, out)
    assert res.artifact == out and out.is_file()
    par = res.manifest.parity
    print(f"parity {model} {target} {precision}: PSNR min {par['psnr_db_min']} dB (mean {par['psnr_db_mean']}), "
          f"MEF-SSIM delta {par['mef_ssim_delta']}")  # pytest -s shows the figures
    assert par["passed"] and par["pairs"] == 2
    assert par["psnr_db_min"] >= PSNR_THRESHOLDS_DB[precision]
    if MEF_SSIM_TOLERANCE[precision] is not None:
        assert abs(par["mef_ssim_delta"]) <= MEF_SSIM_TOLERANCE[precision]
    # the manifest on disk is the final one, parity included
    stored = read_manifest(out)
    assert (stored.model, stored.format, stored.precision) == (model, target, precision)
    assert stored.parity == par
    # nothing half-written is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in res.files)
    # the artifact really runs through the runtime and gives a sane image
    rt = load(out, threads=1)
    c = exporters(model).network.in_channels
    hp, wp = rt.padded_size(48, 40)  # STHDR's graph takes multiples of 16
    x = np.random.default_rng(0).random((1, c, hp, wp), dtype=np.float32)
    y = rt.infer(x, example_extra_inputs(rt.manifest) or None)
    assert y.shape[0] == 1 and y.shape[2:] == (hp, wp) and np.isfinite(y).all()
    assert [e["name"] for e in stored.extra_inputs] == list(MODELS[model].extra_inputs)
    if stored.extra_inputs:  # the ratios the parity check fed both sides are on record
        assert set(par["exposure_ratios"]) == set(par["names"])
    if precision == "int8":
        from edgemef.calibration.ranges import CalibrationTable

        rec = stored.calibration
        table = CalibrationTable.load(tmp_path / rec["table"])
        assert table.digest == rec["digest"] and rec["method"] == "percentile" and rec["samples"] >= 4
        assert any("calibration set has only" in n for n in res.notes)  # 4 scenes x 2 crops < 16
        kept = rec["float_nodes"]  # mixed precision, on record: what stayed fp32 and why
        assert kept["count"] == sum(kept["reasons"].values())
        assert "output conv" in kept["reasons"]  # every network's last convolution stays fp32
        if model == "sthdr":
            assert {"exposure normalisation", "radiance head"} <= set(kept["reasons"])
        if (model, precision) in FALLBACK:  # mixed precision with int8 left, on record
            fb = rec["fallback"]
            assert fb["reached"] and 0 < fb["compute_ops_int8"] < fb["compute_ops"]
        if model == "twophase":  # its output sigmoid: the logits stay off the uint8 grid
            assert "output head" in kept["reasons"]
    if model == "sthdr":  # deformable convs: DeformConv for ONNX Runtime, GridSample for OpenVINO
        assert stored.extra["deform_conv"] == ("grid" if target == "openvino" else "onnx")
    if (target, precision) in EXTRA_CHECKS:
        EXTRA_CHECKS[target, precision](res)


def check_onnx_fp16(res):
    """fp16 weights inside, fp32 at the graph edges."""
    import onnx

    m = onnx.load(str(res.artifact))
    types = [i.data_type for i in m.graph.initializer if len(i.dims) == 4]
    fp32 = types.count(onnx.TensorProto.FLOAT)
    assert fp32 + types.count(onnx.TensorProto.FLOAT16) == len(types)
    if res.manifest.output == "hdr":  # the radiance path's first and last convolutions stay fp32
        assert 0 < fp32 < len(types) / 4
    else:
        assert fp32 == 0
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def check_onnx_int8(res):
    """ONNX Runtime CPU flavour: per-channel int8 weights, uint8 activations."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(res.artifact))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    weight_dq = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
                 and inits[n.input[0]].ndim == 4]
    act_q = [n for n in m.graph.node if n.op_type == "QuantizeLinear"]
    assert weight_dq and all(inits[n.input[0]].dtype == np.int8 for n in weight_dq)
    # per output channel: axis 0 of a Conv weight (Cout, Cin, k, k), axis 1 of a ConvTranspose one
    axis = {n.name: next((a.i for a in n.attribute if a.name == "axis"), 1) for n in weight_dq}
    assert all(inits[n.input[1]].size == inits[n.input[0]].shape[axis[n.name]] for n in weight_dq)
    consumers = {i: n.op_type for n in m.graph.node for i in n.input}
    assert all(axis[n.name] == (1 if consumers[n.output[0]] == "ConvTranspose" else 0) for n in weight_dq)
    assert act_q and all(inits[n.input[2]].dtype == np.uint8 for n in act_q)


def check_openvino_int8(res):
    """OpenVINO read the Q/DQ pairs as FakeQuantize and stored int8 weights."""
    xml = res.artifact.read_text()
    assert 'type="FakeQuantize"' in xml and 'element_type="i8"' in xml
    assert res.manifest.parity["precision_used"].startswith("int8")


def check_openvino_fp16(res):
    """fp16 weights in the IR; the parity check ran with the f32 inference hint."""
    assert 'element_type="f16"' in res.artifact.read_text()
    assert res.manifest.parity["precision_used"] == "fp32"


def check_ort_mobile(res):
    """The reduced-build operator config sits beside the .ort model and names its kernels."""
    cfg = res.artifact.with_name(res.artifact.stem + ".required_operators.config")
    assert cfg in res.files and "Conv" in cfg.read_text()
    if res.manifest.model == "sthdr":  # the reduced build must carry ONNX Runtime's DeformConv kernel
        assert "DeformConv" in cfg.read_text()
    assert json.loads(res.artifact.with_name(res.artifact.name + ".json").read_text())["parity"]["passed"]


EXTRA_CHECKS = {("onnx", "fp16"): check_onnx_fp16, ("onnx", "int8"): check_onnx_int8,
                ("openvino", "int8"): check_openvino_int8, ("openvino", "fp16"): check_openvino_fp16,
                ("ort-mobile", "fp32"): check_ort_mobile, ("ort-mobile", "int8"): check_ort_mobile}
