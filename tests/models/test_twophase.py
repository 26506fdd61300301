"""Two-phase network: size, shapes, decoupled training, VGG loading, losses, ONNX export."""
from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")

from edgemef.models import MODELS, create_model  # noqa: E402
from edgemef.models.twophase import TwoPhase, TwoPhaseConfig  # noqa: E402
from edgemef.models.vgg import VGGFeatures, VGGWeightsError, expected_shapes, layer_names  # noqa: E402
from edgemef.train.twophase_losses import TwoPhaseLoss, ssim  # noqa: E402

SMALL = dict(unet_base=4, unet_levels=2, amnet_features=8, amnet_blocks=1, amnet_layers=2, amnet_growth=4)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _count(m) -> int:
    return sum(p.numel() for p in m.parameters())


def _no_vgg(**kw) -> TwoPhaseLoss:
    return TwoPhaseLoss(lambda_vgg=0.0, **kw)


def test_parameter_count_of_the_default_config():
    model = create_model("twophase")
    print(f"twophase: {_count(model):,} parameters (phase 1 {_count(model.phase1):,}, phase 2 {_count(model.phase2):,})")
    assert _count(model) == 1_030_374
    assert (_count(model.phase1), _count(model.phase2)) == (863_027, 167_347)


def test_registry_entry():
    spec = MODELS["twophase"]
    assert (spec.build, spec.config_cls, spec.colour_space, spec.output) == (TwoPhase, TwoPhaseConfig, "rgb", "ldr")


@pytest.mark.parametrize("n,h,w", [(2, 37, 53), (2, 32, 48), (2, 5, 7), (3, 37, 53)])
def test_shapes_and_range(n, h, w):
    """Any H, W: phase 1 pads to its pad_multiple (8 by default) inside and crops back."""
    model = create_model("twophase", exposures=n).eval()
    assert model.phase1.pad_multiple == 8
    x = torch.rand(2, 3 * n, h, w)
    with torch.no_grad():
        fused, inter = model(x, return_intermediate=True)
        assert torch.equal(model(x), fused)
    assert fused.shape == inter.shape == (2, 3, h, w)
    for y in (fused, inter):
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_output_range_on_extreme_inputs():
    model = TwoPhase(TwoPhaseConfig(**SMALL)).eval()
    for param in model.parameters():  # large weights saturate the sigmoids
        torch.nn.init.normal_(param, std=2.0)
    x = torch.cat([torch.zeros(1, 6, 16, 16), torch.ones(1, 6, 16, 16), torch.rand(1, 6, 16, 16)])
    with torch.no_grad():
        fused, inter = model(x, return_intermediate=True)
    for y in (fused, inter):
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_rejects_wrong_inputs_and_exposure_counts():
    model = TwoPhase(TwoPhaseConfig(**SMALL))
    with pytest.raises(ValueError, match=r"expects \(B, 6, H, W\) RGB brackets"):
        model(torch.rand(1, 9, 16, 16))
    with pytest.raises(ValueError, match="2 or 3 exposures"):
        TwoPhase(TwoPhaseConfig(exposures=4))
    with pytest.raises(ValueError, match="middle bracket"):
        model.phase2(*(torch.rand(1, 3, 8, 8) for _ in range(4)))


def test_freeze_phase1_trains_only_phase2():
    torch.manual_seed(0)
    model = TwoPhase(TwoPhaseConfig(**SMALL)).freeze_phase1()
    model.train()
    assert model.phase1_frozen and not model.phase1.training and model.phase2.training
    p1 = {k: v.clone() for k, v in model.phase1.state_dict().items()}
    p2 = {k: v.clone() for k, v in model.phase2.state_dict().items()}
    params = model.parameters_for(2)
    assert {id(p) for p in params} == {id(p) for p in model.phase2.parameters()}
    assert model.parameters_for(1) == []
    opt = torch.optim.Adam(params, lr=1e-2)
    x, target = torch.rand(2, 6, 24, 24), torch.rand(2, 3, 24, 24)
    fused, inter = model(x, return_intermediate=True)
    loss, _ = _no_vgg()(fused, inter, target, phase=2)
    loss.backward()
    opt.step()
    assert all(p.grad is None for p in model.phase1.parameters())
    assert all(torch.equal(v, p1[k]) for k, v in model.phase1.state_dict().items())
    assert any(not torch.equal(v, p2[k]) for k, v in model.phase2.state_dict().items())
    model.unfreeze_phase1()
    assert model.phase1.training and all(p.requires_grad for p in model.phase1.parameters())


def test_vgg_layout_matches_torchvision():
    assert layer_names("vgg19")[15] == "relu3_3" and layer_names("vgg16")[15] == "relu3_3"
    assert layer_names("vgg19")[-1] == "pool5" and len(layer_names("vgg19")) == 37
    assert len(layer_names("vgg16")) == 31
    assert expected_shapes("vgg19")["features.34.weight"] == (512, 512, 3, 3)
    assert expected_shapes("vgg16")["features.28.weight"] == (512, 512, 3, 3)
    vgg = VGGFeatures()
    feats = vgg(torch.rand(1, 3, 16, 16))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 16, 16), (128, 8, 8), (256, 4, 4)]


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_vgg_weights_load_from_a_torchvision_style_file(tmp_path, suffix):
    src = VGGFeatures()
    state = src.state_dict()
    assert sorted(state) == sorted(k for k in expected_shapes("vgg19") if int(k.split(".")[1]) <= 14)
    # A whole torchvision model also carries deeper layers and the classifier: checked, then ignored.
    state["features.16.weight"] = torch.zeros(256, 256, 3, 3)
    state["classifier.6.bias"] = torch.zeros(1000)
    path = tmp_path / f"vgg19{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    loss = TwoPhaseLoss(vgg_weights=path)
    assert loss.vgg_enabled and loss.warning == ""
    assert loss.vgg.load_report["ignored"] == ["classifier.6.bias", "features.16.weight"]
    for k, v in src.state_dict().items():
        assert torch.equal(loss.vgg.state_dict()[k], v)
    assert loss.summary()["vgg_enabled"] is True


def test_vgg_weights_that_do_not_fit_give_clear_errors(tmp_path):
    good = VGGFeatures().state_dict()
    cases = {
        "wrong shapes: features.2.weight (32, 64, 3, 3) (expected (64, 64, 3, 3))":
            {**good, "features.2.weight": torch.zeros(32, 64, 3, 3)},
        "missing keys: features.14.bias": {k: v for k, v in good.items() if k != "features.14.bias"},
        "unexpected keys: encoder.weight": {**good, "encoder.weight": torch.zeros(1)},
        "looks like vgg16": {**good, "features.17.weight": torch.zeros(512, 256, 3, 3)},
    }
    for i, (message, state) in enumerate(cases.items()):
        path = tmp_path / f"bad{i}.pth"
        torch.save(state, path)
        with pytest.raises(VGGWeightsError, match=re.escape(message)):
            VGGFeatures(weights=path)
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(VGGWeightsError, match="cannot read VGG weights"):
        TwoPhaseLoss(vgg_weights=tmp_path / "junk.safetensors")
    with pytest.raises(VGGWeightsError, match="no such VGG weights file"):
        TwoPhaseLoss(vgg_weights=tmp_path / "absent.pth")


def test_vgg_term_is_off_and_reported_without_a_file():
    with pytest.warns(UserWarning, match="VGG perceptual loss is OFF"):
        loss = TwoPhaseLoss()
    assert not loss.vgg_enabled and "--vgg-weights FILE" in loss.warning
    assert loss.summary()["warning"] == loss.warning
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    _, terms = loss(x, None, y, phase=2)
    assert set(terms) == {"l1", "ssim"}
    assert _no_vgg().warning == ""  # lambda_vgg=0 is a deliberate choice: no warning


def test_loss_on_identical_images_is_zero(tmp_path):
    torch.save(VGGFeatures().state_dict(), tmp_path / "vgg19.pth")
    loss, vgg_loss = _no_vgg(), TwoPhaseLoss(vgg_weights=tmp_path / "vgg19.pth")
    x = torch.rand(2, 3, 24, 24)
    for fn in (loss, vgg_loss):
        for phase in (1, 2, "joint"):
            total, terms = fn(x, x, x, phase=phase)
            assert total.item() == 0.0 and all(v.item() == 0.0 for v in terms.values())
    assert "vgg" in vgg_loss(x, None, x)[1]
    assert set(vgg_loss(x, x, x, phase="joint")[1]) == {f"{p}/{t}" for p in ("inter", "fused") for t in ("l1", "ssim", "vgg")}
    assert ssim(x, 1 - x).mean() < 0.5
    per_image, _ = loss(torch.rand(3, 3, 16, 16), None, torch.rand(3, 3, 16, 16), reduction="none")
    assert per_image.shape == (3,)
    with pytest.raises(ValueError, match="unknown training phase"):
        loss(x, x, x, phase=3)
    with pytest.raises(ValueError, match="needs the intermediate"):
        loss(x, None, x, phase=1)


def test_short_optimisation_lowers_each_phase_loss():
    torch.manual_seed(0)
    model = TwoPhase(TwoPhaseConfig(**SMALL))
    x = torch.rand(2, 6, 24, 24)
    target = (0.5 * (x[:, :3] + x[:, 3:])).clamp(0, 1)
    loss_fn = _no_vgg()

    def run(phase: int) -> tuple[float, float]:
        opt = torch.optim.Adam(model.parameters_for(phase), lr=3e-3)
        values = []
        for _ in range(25):
            fused, inter = model(x, return_intermediate=True)
            loss, _ = loss_fn(fused, inter, target, phase=phase)
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(loss.item())
        return values[0], values[-1]

    first, last = run(1)
    print(f"phase 1 loss {first:.4f} -> {last:.4f}")
    assert last < 0.95 * first, (first, last)
    model.freeze_phase1()
    first, last = run(2)
    print(f"phase 2 loss {first:.4f} -> {last:.4f}")
    assert last < 0.95 * first, (first, last)


def test_exports_to_onnx_with_dynamic_size():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import io
    import warnings
    from contextlib import redirect_stdout

    torch.manual_seed(0)
    model = TwoPhase(TwoPhaseConfig(**SMALL)).eval()
    dyn = ({2: torch.export.Dim("height", min=8), 3: torch.export.Dim("width", min=8)},)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(model, (torch.rand(1, 6, 64, 96),), input_names=["brackets"],
                                 output_names=["fused"], opset_version=18, dynamo=True, dynamic_shapes=dyn,
                                 external_data=False, optimize=True, verbose=False)
    onnx.checker.check_model(prog.model_proto)
    sess = ort.InferenceSession(prog.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for h, w in [(37, 53), (64, 96)]:
        x = torch.rand(1, 6, h, w)
        (y,) = sess.run(None, {"brackets": x.numpy()})
        with torch.no_grad():
            ref = model(x).numpy()
        assert y.shape == (1, 3, h, w)
        assert abs(y - ref).max() < 1e-4
