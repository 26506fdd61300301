"""Every backend against the PyTorch model on a real mefb-dev pair (fp32: PSNR > 60 dB)."""
import numpy as np
import pytest

import edgemef
from edgemef.errors import EdgemefError
from edgemef.fusion import METHODS, get_method
from edgemef.netio import finish_output, prepare_input
from edgemef.runtimes import load, read_manifest
from edgemef.runtimes.methods import artifact_method, register_artifact
from rt_helpers import psnr, requires_backend, write_sidecar


@pytest.fixture(scope="module")
def pair(real_pair):
    """A 360x240 crop of the real pair (keeps the 2-core test run short)."""
    return [np.ascontiguousarray(im[60:300, 100:460]) for im in real_pair]


@pytest.fixture(scope="module")
def reference(pair, densefuse, torch_infer):
    """(x, torch output y, torch-fused image) for the real crop."""
    manifest = densefuse[3]
    x, ctx = prepare_input(pair, manifest)
    y = torch_infer(x)
    assert 0.03 < float(y.std()) and 0.2 < float(y.mean()) < 0.8  # a non-trivial output range
    return x, y, finish_output(y, ctx, manifest)


def check_parity(rt, pair, reference, min_db=60.0):
    x, y, fused = reference
    y_rt = rt.backend.infer(x)
    assert y_rt.shape == y.shape and y_rt.dtype == np.float32
    assert psnr(y_rt, y) > min_db
    out = rt.fuse(pair)
    assert psnr(out, fused) > min_db
    assert set(rt.last_timings) == {"preprocess", "infer", "postprocess"}
    assert all(v > 0 for v in rt.last_timings.values())


def test_onnxruntime_matches_torch(pair, densefuse, reference):
    rt = load(densefuse[1], threads=1)
    assert rt.backend.name == "onnxruntime" and rt.backend.precision_used == "fp32"
    assert rt.backend.session.get_session_options().intra_op_num_threads == 1
    assert rt.backend.info()["providers"] == "CPUExecutionProvider"
    check_parity(rt, pair, reference)


def test_ort_format_with_manifest_beside_it(pair, densefuse, reference, tmp_path):
    import onnxruntime as ort

    path = tmp_path / "densefuse.ort"
    opts = ort.SessionOptions()
    opts.optimized_model_filepath = str(path)
    opts.add_session_config_entry("session.save_model_format", "ORT")
    ort.InferenceSession(str(densefuse[1]), opts, providers=["CPUExecutionProvider"])
    with pytest.raises(EdgemefError, match="no edgemef manifest"):
        load(path)
    write_sidecar(path, densefuse[3])
    check_parity(load(path, threads=1), pair, reference)


def test_unknown_provider_is_a_clear_error(densefuse):
    with pytest.raises(EdgemefError, match=r"NoSuchExecutionProvider not available here \(available: .*CPU"):
        load(densefuse[1], providers=["NoSuchExecutionProvider"])


@requires_backend("openvino")
def test_openvino_reads_the_onnx_file_in_fp32(pair, densefuse, reference):
    rt = load(densefuse[1], backend="openvino", threads=1)
    assert rt.backend.name == "openvino"
    assert rt.backend.precision_used == "fp32"  # not the bf16 this CPU would pick by default
    assert rt.backend.info()["threads"] == 1
    check_parity(rt, pair, reference)


@requires_backend("openvino")
def test_openvino_ir_with_manifest_in_rt_info(pair, densefuse, reference, tmp_path):
    import openvino as ov

    model = ov.convert_model(str(densefuse[1]))
    manifest = densefuse[3]
    manifest.format = "openvino"
    model.set_rt_info(manifest.to_json(), ["edgemef", "manifest"])
    xml = tmp_path / "densefuse.xml"
    ov.save_model(model, str(xml), compress_to_fp16=False)
    assert read_manifest(xml).format == "openvino"
    rt = load(xml, threads=1)
    assert rt.backend.name == "openvino"
    check_parity(rt, pair, reference)
    bf16 = load(xml, threads=1, precision="bf16")
    assert bf16.backend.precision_used in ("bf16", "fp32")  # bf16 where the CPU has it
    x, y = reference[0][..., :96, :128], reference[1][..., :96, :128]
    assert psnr(bf16.backend.infer(x), y) > 30


@requires_backend("torch")
def test_torch_reference_backend_from_safetensors(pair, densefuse, reference):
    rt = load(densefuse[2], threads=1)
    assert rt.backend.name == "torch" and rt.manifest.format == "torch"
    x, y, _ = reference
    np.testing.assert_array_equal(rt.backend.infer(x), y)
    check_parity(rt, pair, reference)


def test_artifact_method_plugs_into_edgemef_fuse(pair, densefuse, reference):
    fn = artifact_method(densefuse[1], threads=1)
    crop = [im[:64, :96] for im in pair]
    assert fn(crop).shape == (64, 96, 3) and set(fn.last_timings) == {"preprocess", "infer", "postprocess"}
    name = register_artifact(densefuse[1], threads=1)
    try:
        assert name in METHODS and get_method(name).backend.name == "onnxruntime"
        res = edgemef.fuse(pair[::-1], method=name, align=False)  # any order: fuse sorts them
        assert psnr(res.image, reference[2]) > 60
    finally:
        METHODS.pop(name, None)
