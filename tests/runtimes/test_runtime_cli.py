"""`edgemef fuse --model/--threads/--backend` and the bundled network registration."""
import numpy as np
import pytest
from click.testing import CliRunner

from edgemef import color
from edgemef.cli import cli
from edgemef.fusion import METHODS
from edgemef.io import load_brackets, load_image
from edgemef.manifest import Manifest
from edgemef.runtimes import TensorRTBackend, methods
from rt_helpers import requires_backend, write_mean_onnx
from tests.conftest import mefb_pairs


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


@pytest.fixture
def mean_onnx(tmp_path):
    return write_mean_onnx(tmp_path / "mean.onnx", Manifest(model="mean", format="onnx"))


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("openvino", marks=requires_backend("openvino"))])
def test_fuse_with_model(mefb_dir, tmp_path, mean_onnx, backend):
    _, (a, b) = mefb_pairs()[0]
    out = tmp_path / "fused.png"
    res = run("fuse", b, a, "-o", out, "--model", mean_onnx, "--threads", 1, "--backend", backend, "--no-align")
    assert res.exit_code == 0, res.output
    assert "with model:mean.onnx" in res.stdout
    assert f"network: mean via {backend}" in res.stdout and "infer" in res.stdout and "threads 1" in res.stdout
    ims = [br.image for br in load_brackets([a, b])]
    want = color.lab_to_rgb(np.mean([color.rgb_to_lab(im) for im in ims], axis=0))
    assert np.abs(load_image(out).image - want).max() <= 1.01 / 255  # 8-bit rounding only


def test_fuse_with_bad_models(mefb_dir, tmp_path):
    _, (a, b) = mefb_pairs()[0]
    (tmp_path / "corrupt.onnx").write_bytes(b"\x00not onnx")
    (tmp_path / "x.engine").write_bytes(b"\x00" * 8)
    cases = [(tmp_path / "missing.onnx", "no such file"), (tmp_path / "corrupt.onnx", "not a valid ONNX model")]
    if not TensorRTBackend.is_available():
        cases.append((tmp_path / "x.engine", "the tensorrt backend needs tensorrt"))
    for model, msg in cases:
        res = run("fuse", a, b, "-o", tmp_path / "o.png", "--model", model, "--no-align")
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith("edgemef: error:") and msg in res.stderr, res.stderr
        assert res.stderr.count("\n") == 1 and not (tmp_path / "o.png").exists()
    res = run("fuse", a, b, "-o", tmp_path / "o.png", "--threads", 0)
    assert res.exit_code == 2 and "--threads" in res.stderr


def test_bundled_densefuse_registers_only_when_its_file_exists(tmp_path, monkeypatch, mean_onnx):
    monkeypatch.setattr(methods, "WEIGHTS_DIR", tmp_path / "weights")
    saved = METHODS.pop("densefuse", None)
    try:
        assert methods.register_default_networks() == [] and "densefuse" not in METHODS
        (tmp_path / "weights").mkdir()
        (tmp_path / "weights" / "densefuse.onnx").write_bytes(mean_onnx.read_bytes())
        assert methods.register_default_networks() == ["densefuse"]
        assert "DenseFuse" in METHODS["densefuse"].summary
        ims = [np.full((16, 24, 3), v, np.float32) for v in (0.2, 0.8)]
        from edgemef.fusion import get_method

        fn = get_method("densefuse")  # built on first use, not at registration
        assert fn.backend.name == "onnxruntime" and fn(ims).shape == (16, 24, 3)
        methods.configure_networks(threads=1)
        assert get_method("densefuse") is not fn and get_method("densefuse").backend.threads == 1
    finally:
        from edgemef.fusion import register_method

        methods.NETWORK_OPTIONS.clear()
        METHODS.pop("densefuse", None)
        if saved is not None:  # re-registering also drops the stand-in built above from the cache
            register_method(saved.name, saved.summary, saved.factory)


def test_fuse_tonemap_option_for_an_hdr_artifact(mefb_dir, tmp_path, network_artifacts):
    _, path = network_artifacts("sthdr")
    _, (a, b) = mefb_pairs()[0]
    outs = {}
    for tm in ("reinhard", "exposure-fusion", "reference-fusion"):
        outs[tm] = tmp_path / f"{tm}.png"
        res = run("fuse", a, b, "-o", outs[tm], "--model", path, "--threads", 1, "--no-align", "--tonemap", tm)
        assert res.exit_code == 0, res.output
    images = {k: load_image(v).image for k, v in outs.items()}
    assert images["reinhard"].shape == images["exposure-fusion"].shape
    assert np.abs(images["reinhard"] - images["exposure-fusion"]).mean() > 0.005
    assert np.abs(images["reference-fusion"] - images["exposure-fusion"]).mean() > 1e-3
    res = run("fuse", a, b, "-o", tmp_path / "x.png", "--model", path, "--tonemap", "drago")
    assert res.exit_code == 2 and "drago" in res.output and not (tmp_path / "x.png").exists()
