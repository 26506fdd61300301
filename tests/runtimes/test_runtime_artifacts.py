"""Loading artifacts: backend choice by suffix, manifests, and one-line errors for bad files."""
import json
import struct

import numpy as np
import pytest

from edgemef import color
from edgemef.errors import EdgemefError
from edgemef.manifest import METADATA_KEY, Manifest
from edgemef.runtimes import (BACKENDS, OnnxRuntimeBackend, OpenVINOBackend, TensorRTBackend, TorchBackend,
                              available_backends, backend_for, load, read_manifest)
from rt_helpers import requires_backend, write_mean_onnx, write_sidecar

MANIFEST = Manifest(model="mean", format="onnx")


@pytest.fixture
def mean_onnx(tmp_path):
    return write_mean_onnx(tmp_path / "mean.onnx", MANIFEST)


def one_line_error(fn, *args, **kw) -> str:
    with pytest.raises(EdgemefError) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


def test_backend_choice_by_suffix(tmp_path):
    files = {s: tmp_path / f"m{s}" for s in (".onnx", ".ort", ".xml", ".engine", ".plan", ".safetensors")}
    for p in files.values():
        p.write_bytes(b"")
    assert backend_for(files[".onnx"]) is OnnxRuntimeBackend
    assert backend_for(files[".onnx"], "openvino") is OpenVINOBackend
    assert backend_for(files[".onnx"], "ov") is OpenVINOBackend
    assert backend_for(files[".ort"]) is OnnxRuntimeBackend
    assert backend_for(files[".xml"]) is OpenVINOBackend
    assert backend_for(files[".engine"]) is TensorRTBackend and backend_for(files[".plan"]) is TensorRTBackend
    assert backend_for(files[".safetensors"]) is TorchBackend
    assert "cannot run a 'ort' artifact" in one_line_error(backend_for, files[".ort"], "openvino")
    assert "unknown backend 'mnn'" in one_line_error(backend_for, files[".onnx"], "mnn")
    (tmp_path / "m.tflite").write_bytes(b"x")
    assert "unsupported artifact type '.tflite'" in one_line_error(backend_for, tmp_path / "m.tflite")
    assert "no such file" in one_line_error(load, tmp_path / "missing.onnx")


def test_backends_are_plain_classes_with_versions():
    assert "onnxruntime" in available_backends()
    for name, cls in BACKENDS.items():
        assert cls.name == name and isinstance(cls.is_available(), bool)
        assert (cls.version() is not None) == cls.is_available() or name == "tensorrt"
        assert "Module" not in [b.__name__ for b in cls.__mro__]


def test_manifest_from_onnx_metadata_and_fallbacks(tmp_path, mean_onnx):
    assert read_manifest(mean_onnx).model == "mean"
    bare = write_mean_onnx(tmp_path / "bare.onnx")
    msg = one_line_error(read_manifest, bare)
    assert f"ONNX metadata '{METADATA_KEY}'" in msg and "bare.onnx.json" in msg
    write_sidecar(bare, Manifest(model="side", format="onnx"))
    assert read_manifest(bare).model == "side"


@pytest.mark.parametrize("content, msg", [
    (b"", "not a valid ONNX model (empty file)"),
    (b"\x08\x09\x12\xff\xff\xff\x7fgarbage", "not a valid ONNX model (corrupt protobuf"),
    (b"plain text, not protobuf at all\n", "not a valid ONNX model"),
    (b"\x08\x09", "not a valid ONNX model (no ir_version or graph)"),
])
def test_corrupt_onnx_files(tmp_path, content, msg):
    p = tmp_path / "bad.onnx"
    p.write_bytes(content)
    assert msg in one_line_error(load, p)


def test_truncated_onnx_and_bad_manifest_json(tmp_path, mean_onnx):
    data = mean_onnx.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    assert "not a valid ONNX model" in one_line_error(load, tmp_path / "cut.onnx")
    bare = write_mean_onnx(tmp_path / "bare.onnx")
    (tmp_path / "bare.onnx.json").write_text("{not json")
    assert "manifest is not valid JSON" in one_line_error(load, bare)
    (tmp_path / "bare.onnx.json").write_text(json.dumps({"model": "x", "format": "onnx", "schema": 99}))
    assert "schema 99 is newer" in one_line_error(load, bare)


def test_graph_that_onnxruntime_rejects(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("brackets", TensorProto.FLOAT, [1, 2, "h", "w"])
    y = helper.make_tensor_value_info("fused", TensorProto.FLOAT, [1, 1, "h", "w"])
    graph = helper.make_graph([helper.make_node("NoSuchOp", ["brackets"], ["fused"])], "bad", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    helper.set_model_props(model, {METADATA_KEY: MANIFEST.to_json()})
    onnx.save(model, str(tmp_path / "bad.onnx"))
    assert "ONNX Runtime cannot load it" in one_line_error(load, tmp_path / "bad.onnx")


def test_safetensors_and_openvino_headers(tmp_path):
    st = tmp_path / "w.safetensors"
    header = json.dumps({"__metadata__": {METADATA_KEY: Manifest(model="densefuse", format="torch").to_json()}})
    st.write_bytes(struct.pack("<Q", len(header)) + header.encode())
    assert read_manifest(st).format == "torch"
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 20)
    assert "not a valid safetensors file" in one_line_error(read_manifest, tmp_path / "junk.safetensors")
    (tmp_path / "junk.xml").write_text("<net><layers>")
    assert "not a valid OpenVINO IR" in one_line_error(read_manifest, tmp_path / "junk.xml")


@pytest.mark.skipif(TensorRTBackend.is_available(), reason="TensorRT is installed here")
def test_tensorrt_engine_without_tensorrt_says_what_is_missing(tmp_path):
    engine = tmp_path / "densefuse.engine"
    engine.write_bytes(b"\x00" * 64)
    assert not TensorRTBackend.is_available() and "tensorrt" not in available_backends()
    msg = one_line_error(load, engine)
    assert "densefuse.engine" in msg and "tensorrt" in msg and "cuda-python" in msg
    assert "pip install 'edgemef[tensorrt]'" in msg and "NVIDIA GPU" in msg
    write_sidecar(engine, Manifest(model="densefuse", format="tensorrt"))
    assert msg == one_line_error(load, engine)  # a manifest beside it does not change the verdict


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("openvino", marks=requires_backend("openvino"))])
def test_mean_network_fuses_to_the_lab_mean(real_pair, mean_onnx, backend):
    """End to end, torch-free: a real ONNX graph computing the mean of its L inputs."""
    rt = load(mean_onnx, backend=backend, threads=1)
    out = rt(real_pair)
    want = color.lab_to_rgb(np.mean([color.rgb_to_lab(im) for im in real_pair], axis=0))
    np.testing.assert_allclose(out, want, atol=1e-4)
    assert rt.describe().startswith(f"mean via {backend}")
    assert "fuses 2 exposures, got 3" in one_line_error(rt.fuse, real_pair + real_pair[:1])


def test_runtime_options_are_validated(mean_onnx):
    assert "threads must be 1..256, got 0" in one_line_error(load, mean_onnx, threads=0)
    assert "threads must be 1..256, got 99999" in one_line_error(load, mean_onnx, threads=99999)
    assert "max_pixels must be at least" in one_line_error(load, mean_onnx, max_pixels=10)
    assert "unknown device 'FPGA'" in one_line_error(load, mean_onnx, device="FPGA")


@requires_backend("openvino")
def test_openvino_options_are_validated(mean_onnx):
    assert "unknown OpenVINO precision 'int4'" in one_line_error(load, mean_onnx, backend="openvino",
                                                                 precision="int4")
    assert "OpenVINO device 'NOPE' not found" in one_line_error(load, mean_onnx, backend="openvino",
                                                               device="NOPE")
