"""STHDR: shapes, padding, size, gradients, its loss, exposure-ratio estimation, a short fit."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from edgemef.hdr import estimate_exposure_ratios, exposure_ratios  # noqa: E402
from edgemef.models import MODELS, create_model  # noqa: E402
from edgemef.models.sthdr import ABLATIONS, STHDR, STHDRConfig, ablation_config  # noqa: E402
from edgemef.models.sthdr_profile import main as profile_main, profile  # noqa: E402
from edgemef.train.hdr_losses import hdr_pyramid, mu_law, mu_law_l1, multiscale_mu_law_l1  # noqa: E402

torch.set_num_threads(1)


def _conv(i, o, k):
    return i * o * k * k + o


def _hin(c):
    return 2 * _conv(c, c, 3) + _conv(c, c, 1) + 2 * (c // 2)


def expected_parameters(cfg: STHDRConfig) -> int:
    """STHDR's parameter count worked out from the architecture, independently of the code."""
    c, n, g, levels = cfg.channels, cfg.exposures, cfg.deform_groups, cfg.unet_levels
    widths = [c * 2**i for i in range(levels)]
    unet = (sum(_hin(w) for w in widths) + sum(_hin(w) for w in widths[:-1])
            + 2 * sum(a * b for a, b in zip(widths, widths[1:])))
    hidden = max(1, round(c * cfg.gc_ratio))
    gc = (c + 1) + (c * hidden + hidden) + 2 * hidden + (hidden * c + c)
    scm = _conv(2 * c, c, 3) + gc + _conv(c, 27 * g, 1) + _conv(c, c, 3)
    sam = _conv(c, c, 3) + _conv(c, 3, 3) + _conv(3, c, 3)
    return (_conv(6, c, 3) + (cfg.align_blocks * scm if cfg.align else 0) + _conv(n * c + 3, c, 3)
            + 2 * unet + sam + _conv(2 * c, c, 3) + _conv(c, 3, 3))


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _tiny(**kw):
    return STHDR(STHDRConfig(channels=8, **kw))


# --- registry, config, sizes ------------------------------------------------------------------

def test_registry_entry():
    spec = MODELS["sthdr"]
    assert (spec.colour_space, spec.output, spec.extra_inputs) == ("rgb", "hdr", ("exposure_ratios",))
    assert MODELS["densefuse"].extra_inputs == ()
    assert spec.pad_multiple == create_model("sthdr").pad_multiple == 16
    assert MODELS["densefuse"].pad_multiple == 1
    assert isinstance(create_model("sthdr", exposures=3), STHDR)


def test_reference_defaults_and_ablations():
    assert STHDRConfig(exposures=2).reference == 1 and STHDRConfig(exposures=3).reference == 1
    assert ablation_config("single_scale").scales == 1
    assert ablation_config("no_align", exposures=2).align is False
    assert STHDR(ablation_config("no_align")).align is None
    with pytest.raises(ValueError):
        STHDRConfig(exposures=2, reference=2)
    with pytest.raises(KeyError):
        ablation_config("nope")


@pytest.mark.parametrize("exposures,ablation,expected", [
    (3, "full", 1_151_319), (2, "full", 1_142_103), (3, "single_scale", 1_151_319),
    (3, "no_align", 1_115_878), (2, "no_align", 1_106_662),
])
def test_parameter_count_matches_formula_and_profile(exposures, ablation, expected):
    cfg = ablation_config(ablation, exposures=exposures)
    assert _count(STHDR(cfg)) == expected == expected_parameters(cfg)
    assert profile(cfg, 64, 64).params == expected


@pytest.mark.parametrize("kw", [dict(channels=8, unet_levels=2, deform_groups=2),
                                dict(channels=16, align_blocks=2, exposures=2)])
def test_parameter_formula_other_configs(kw):
    cfg = STHDRConfig(**kw)
    assert _count(STHDR(cfg)) == expected_parameters(cfg)


def test_profile_scales_with_pixels_and_prints_every_variant(capsys):
    small, big = profile(STHDRConfig(), 64, 64), profile(STHDRConfig(), 128, 128)
    # Everything but the global-context transform (on a 1x1 context vector) scales with H x W.
    assert abs(big.macs - 4 * small.macs) < 1e-5 * big.macs and 0 < small.sampling_macs < small.macs
    profile_main(["--size", "64", "64"])
    out = capsys.readouterr().out
    assert all(name in out for name in ABLATIONS) and "1,151,319" in out and "48.17" in out


# --- forward --------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("size", [(37, 53), (32, 48)])
def test_shapes(n, size):
    model = _tiny(exposures=n).eval()
    x, ratios = torch.rand(2, 3 * n, *size), torch.tensor([[4.0**i for i in range(n)]] * 2)
    with torch.no_grad():
        out = model(x, ratios, return_all=True)
        y = model(x, ratios)
    h, w = size
    assert y.shape == (2, 3, h, w) and torch.isfinite(y).all() and (y >= 0).all()
    torch.testing.assert_close(out["hdr"], y)
    want = [(2, 3, -(-h // 2**s), -(-w // 2**s)) for s in range(3)]
    assert [tuple(t.shape) for t in out["scales"]] == want == [tuple(t.shape) for t in out["stage1"]]


def test_odd_sizes_are_padded_by_replication_to_pad_multiple():
    model = _tiny(exposures=2).eval()
    assert model.pad_multiple == 16 and STHDR(STHDRConfig(channels=8, scales=1)).pad_multiple == 4
    x, ratios = torch.rand(1, 6, 37, 53), torch.tensor([[0.25, 1.0]])
    with torch.no_grad():
        y = model(x, ratios)
        y_padded = model(F.pad(x, (0, 11, 0, 11), mode="replicate"), ratios)
    torch.testing.assert_close(y, y_padded[..., :37, :53])


def test_inputs_are_ldr_and_exposure_normalised_linear_and_ratios_are_relative():
    model = _tiny(exposures=3).eval()
    x = torch.rand(1, 9, 32, 32)
    ratios = torch.tensor([[0.25, 1.0, 4.0]])
    X = model.hdr_inputs(x, ratios)
    assert X.shape == (1, 3, 6, 32, 32)
    torch.testing.assert_close(X[:, 0, 3:], x[:, :3] ** 2.2 / 0.25)
    torch.testing.assert_close(X[:, 1, 3:], x[:, 3:6] ** 2.2)
    with torch.no_grad():  # exposure times in seconds give the same result as relative ones
        torch.testing.assert_close(model(x, ratios), model(x, ratios / 125.0))


def test_mu_law_encoding_feeds_t_of_radiance_and_returns_radiance():
    """encoding='mu-law': H_i enters as T(H_i), the network works in T, and what it returns is
    decoded back to radiance, so the loss (L1 on T of the output) and every caller are unchanged."""
    torch.manual_seed(0)
    model = _tiny(exposures=2, encoding="mu-law").eval()
    x, ratios = torch.rand(1, 6, 32, 32), torch.tensor([[1 / 64, 1.0]])
    X = model.hdr_inputs(x, ratios)
    torch.testing.assert_close(X[:, 0, 3:], mu_law(x[:, :3] ** 2.2 * 64))
    torch.testing.assert_close(X[:, 1, 3:], mu_law(x[:, 3:] ** 2.2))
    assert float(X.max()) < 1.5   # linear H would reach 64 here
    h = torch.tensor([0.0, 1e-4, 0.01, 1.0, 190.0])
    torch.testing.assert_close(model.decode_radiance(model.encode_radiance(h)), h, rtol=1e-4, atol=1e-7)
    with torch.no_grad():
        out = model(x, ratios, return_all=True)
        assert float(out["hdr"].min()) >= 0.0
        torch.testing.assert_close(model(x, ratios), out["hdr"])
    linear = _tiny(exposures=2)
    linear.load_state_dict(model.state_dict())   # same parameters: only the domain differs
    with torch.no_grad():
        assert not torch.allclose(linear(x, ratios), out["hdr"])
    with pytest.raises(ValueError, match="unknown encoding"):
        STHDRConfig(encoding="log")


def test_rejects_wrong_shapes():
    model = _tiny(exposures=2)
    with pytest.raises(ValueError, match="expects"):
        model(torch.rand(1, 9, 32, 32), torch.ones(1, 2))
    with pytest.raises(ValueError, match="expects"):
        model(torch.rand(1, 6, 32, 32), torch.ones(1, 3))


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_gradients_reach_every_parameter(ablation):
    torch.manual_seed(0)
    model = STHDR(ablation_config(ablation, channels=8, exposures=3))
    x, ratios = torch.rand(2, 9, 32, 32), torch.tensor([[0.25, 1.0, 4.0]] * 2)
    multiscale_mu_law_l1(model(x, ratios, return_all=True), torch.rand(2, 3, 32, 32) * 2).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


# --- loss -----------------------------------------------------------------------------------------

def test_mu_law_on_hand_made_values():
    h = torch.tensor([0.0, 1.0, 0.01, -0.5])
    expected = torch.tensor([0.0, 1.0, math.log(51.0) / math.log(5001.0), 0.0])
    torch.testing.assert_close(mu_law(h), expected)
    pred, target = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1), torch.ones(1, 2, 1, 1)
    assert mu_law_l1(pred, target).item() == pytest.approx(0.5)


def test_hdr_pyramid_replicates_ragged_edges():
    t = torch.arange(9.0).view(1, 1, 3, 3)
    half = hdr_pyramid(t, 2)[1]
    # rows [0,1],[2,2] x cols [0,1],[2,2] of [[0,1,2],[3,4,5],[6,7,8]]
    torch.testing.assert_close(half, torch.tensor([[[[2.0, 3.5], [6.5, 8.0]]]]))


def test_multiscale_loss_sums_every_scale_and_stage_with_weight_one():
    target = torch.zeros(1, 3, 8, 8)
    outs = {"scales": [torch.ones(1, 3, 8 >> s, 8 >> s) for s in range(3)],
            "stage1": [torch.full((1, 3, 8 >> s, 8 >> s), 0.01) for s in range(3)]}
    t1 = math.log(51.0) / math.log(5001.0)
    loss, terms = multiscale_mu_law_l1(outs, target, return_terms=True)
    assert loss.item() == pytest.approx(3 * (1.0 + t1))
    assert set(terms) == {f"{k}_s{s}" for k in ("final", "stage1") for s in range(3)}
    assert multiscale_mu_law_l1(outs, target, stage1_weight=0).item() == pytest.approx(3.0)
    assert multiscale_mu_law_l1(outs, target, scale_weights=[1, 0, 0]).item() == pytest.approx(1 + t1)
    assert multiscale_mu_law_l1(outs["scales"][0], target).item() == pytest.approx(1.0)


# --- exposure ratios --------------------------------------------------------------------------------

def _brackets(times, seed=0, noise=0.004):
    rng = np.random.default_rng(seed)
    radiance = np.exp(rng.uniform(np.log(0.002), np.log(4.0), (48, 64, 3)))
    frames = [np.clip(radiance * t, 0, 1) ** (1 / 2.2) + rng.normal(0, noise, radiance.shape) for t in times]
    return [np.round(np.clip(f, 0, 1) * 255) / 255 for f in frames]   # 8-bit, like a JPEG


@pytest.mark.parametrize("times", [[0.25, 1.0], [1 / 16, 1 / 4, 1.0], [0.1, 1.0]])
def test_estimated_ratios_recover_known_exposures_within_5_percent(times):
    est = estimate_exposure_ratios(_brackets(times))
    truth = np.asarray(times) / times[len(times) // 2]
    assert est.estimated and "estimated" in est.note and est.reference == len(times) // 2
    np.testing.assert_allclose(est.ratios, truth, rtol=0.05)


def test_exposure_ratios_prefer_exif_times_and_flag_fallbacks():
    ims = _brackets([0.25, 1.0])
    exif = exposure_ratios(ims, times=[1 / 500, 1 / 125])
    assert not exif.estimated and np.allclose(exif.ratios, [0.25, 1.0])
    assert exposure_ratios(ims, times=[None, 1 / 125]).estimated
    flat = estimate_exposure_ratios([np.zeros((8, 8, 3)), np.ones((8, 8, 3))])
    assert flat.estimated and "assumed" in flat.note and flat.ratios[1] == 1.0


# --- fitting and export -------------------------------------------------------------------------------

def test_short_optimisation_lowers_the_loss():
    torch.manual_seed(0)
    model = _tiny(exposures=2)
    times = [0.25, 1.0]
    target = torch.from_numpy(np.exp(np.random.default_rng(1).uniform(-5, 1, (2, 3, 32, 32)))).float()
    x = torch.cat([(target * t).clamp(0, 1) ** (1 / 2.2) for t in times], dim=1)
    ratios = torch.tensor([times] * 2)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = multiscale_mu_law_l1(model(x, ratios, return_all=True), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.parametrize("encoding", ["linear", "mu-law"])
def test_onnx_export_of_a_tiny_sthdr_matches_torch(tmp_path, encoding):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = _tiny(exposures=2, encoding=encoding).eval()
    x, ratios = torch.rand(1, 6, 32, 48), torch.tensor([[0.25, 1.0]])
    path = tmp_path / "sthdr.onnx"
    torch.onnx.export(model, (x, ratios), str(path), input_names=["brackets", "exposure_ratios"],
                      output_names=["hdr"], opset_version=17, dynamo=False,
                      dynamic_axes={"brackets": {2: "h", 3: "w"}, "hdr": {2: "h", 3: "w"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for xi in (x, torch.rand(1, 6, 48, 32)):
        with torch.no_grad():
            ref = model(xi, ratios).numpy()
        got = sess.run(None, {"brackets": xi.numpy(), "exposure_ratios": ratios.numpy()})[0]
        np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0 if encoding == "linear" else 1e-4)
