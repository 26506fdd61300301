"""DenseFuse: the published size and the shapes it takes and returns."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgemef.models import MODELS, create_model  # noqa: E402


def test_parameter_count_is_the_published_74193():
    model = create_model("densefuse")
    assert sum(p.numel() for p in model.parameters()) == 74_193


def test_registry_entry():
    spec = MODELS["densefuse"]
    assert spec.colour_space == "lab-l" and spec.output == "ldr"


@pytest.mark.parametrize("n", [2, 3])
def test_shapes(n):
    model = create_model("densefuse").eval()
    with torch.no_grad():
        y = model(torch.rand(2, n, 24, 40))
    assert y.shape == (2, 1, 24, 40)
    assert torch.isfinite(y).all()


def test_three_exposures_scale_features_like_two():
    """With N identical frames the fused feature sum is scaled by 2/N, so N=2 and N=3 agree."""
    model = create_model("densefuse").eval()
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        y2, y3 = model(x.repeat(1, 2, 1, 1)), model(x.repeat(1, 3, 1, 1))
    torch.testing.assert_close(y2, y3, rtol=1e-5, atol=1e-5)


def test_rejects_a_single_exposure():
    with pytest.raises(ValueError, match="N>=2"):
        create_model("densefuse")(torch.rand(1, 1, 8, 8))


def test_l1_norm_fusion_weights_the_more_active_exposure():
    """Li and Wu's second strategy: equal activity gives the 'add' sum, and where one exposure's
    features are much stronger the fusion follows it."""
    from edgemef.models.densefuse import l1_norm_fusion

    a = torch.rand(1, 64, 12, 12)
    torch.testing.assert_close(l1_norm_fusion([a, a]), a + a)
    weak = a * 1e-3
    torch.testing.assert_close(l1_norm_fusion([a, weak]), 2 * a, rtol=5e-3, atol=5e-3)
    mixed = torch.cat([a[..., :6], weak[..., 6:]], dim=-1)  # strong on the left, weak on the right
    out = l1_norm_fusion([mixed, torch.cat([weak[..., :6], a[..., 6:]], dim=-1)], radius=1)
    torch.testing.assert_close(out[..., :4], 2 * a[..., :4], rtol=5e-3, atol=5e-3)  # away from the seam


def test_l1_norm_model_agrees_with_add_on_identical_frames_and_exports(tmp_path):
    from safetensors.torch import save_file

    from edgemef.export.onnx_export import torch_to_onnx
    from edgemef.export.source import load_network
    from edgemef.manifest import METADATA_KEY
    from edgemef.train.checkpoint import densefuse_manifest

    add = create_model("densefuse").eval()
    l1 = create_model("densefuse", fusion="l1-norm").eval()
    l1.load_state_dict(add.state_dict())
    x = torch.rand(1, 1, 20, 28)
    with torch.no_grad():
        for n in (2, 3):
            torch.testing.assert_close(l1(x.repeat(1, n, 1, 1)), add(x.repeat(1, n, 1, 1)), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="unknown DenseFuse fusion"):
        create_model("densefuse", fusion="max")
    # the strategy travels in the weights' manifest and is what export rebuilds
    path = tmp_path / "l1.safetensors"
    save_file(l1.state_dict(), str(path), metadata={METADATA_KEY: densefuse_manifest("l1-norm").to_json()})
    net = load_network("densefuse", path)
    assert net.module.config.fusion == "l1-norm"
    ort = pytest.importorskip("onnxruntime")
    model = torch_to_onnx(net)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    pair = torch.rand(1, 2, 40, 56)
    with torch.no_grad():
        want = l1(pair).numpy()
    got = sess.run(None, {sess.get_inputs()[0].name: pair.numpy()})[0]
    assert abs(got - want).max() < 1e-4
