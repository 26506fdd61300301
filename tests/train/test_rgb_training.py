"""The RGB/HDR data and the two-phase / STHDR trainers: data, phases, exact resume, outputs."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.train.checkpoint import load_checkpoint, load_weights  # noqa: E402
from edgemef.train.config import DataConfig  # noqa: E402
from edgemef.train.loop import Trainer  # noqa: E402
from edgemef.train.rgb_config import load_model_config  # noqa: E402
from edgemef.train.rgb_dataset import RGBCrops, RGBScenePool  # noqa: E402

TINY_TWOPHASE = {"unet_base": 4, "amnet_features": 8, "amnet_blocks": 1, "amnet_layers": 2, "amnet_growth": 4}
TINY_STHDR = {"channels": 8, "deform_groups": 2, "unet_levels": 2}


@pytest.fixture(scope="module")
def rgb_pool(tmp_path_factory):
    """Three real rendered 48x48 HDR sets, cached under a temporary folder."""
    cache = tmp_path_factory.mktemp("rgbcache")
    return RGBScenePool(DataConfig(pool=3, size=[48, 48], cache_dir=str(cache)), progress=False)


def _cfg(model, **kw):
    base = dict(batch=2, crop=32, checkpoint_every=2, log_every=1, threads=1, device="cpu", lr=1e-3)
    if model == "twophase":
        base.update(phase1_steps=2, phase2_steps=2, network=dict(TINY_TWOPHASE))
    else:
        base.update(steps=3, network=dict(TINY_STHDR))
    base.update(kw)
    data = base.pop("data", {"pool": 3, "size": [48, 48], "cache_dir": ""})
    cfg = load_model_config(model, None, **base)
    cfg.data = DataConfig(**data)
    return cfg


def test_hdr_sets_render_the_bracket_sets_and_a_radiance_target():
    from edgemef.data import render_bracket_set
    from edgemef.data.hdr_sets import render_hdr_set

    a, h = render_bracket_set(11, (48, 48)), render_hdr_set(11, (48, 48))
    for k in ("under", "over", "ev0", "label", "radiance"):
        assert np.array_equal(getattr(a, k), getattr(h.brackets, k)), k
    r = h.camera_radiance("over")
    t_u, t_o = h.times("under,over")
    assert r.dtype == np.float32 and r.min() >= 0 and r.max() <= t_o / t_u * (1 + 1e-6)
    # the over frame is this radiance through the camera (clipped at 1), up to noise and 8 bits
    assert np.abs(h.camera.response(np.clip(r, 0, 1)) - h.brackets.over).mean() < 0.03


def test_rgb_crops_are_deterministic_and_shaped(rgb_pool, tmp_path):
    ds = RGBCrops(rgb_pool, 32, seed=4)
    a, b = ds[7], ds[7]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert a["inputs"].shape == (6, 32, 32) and a["ev0"].shape == a["label"].shape == a["hdr"].shape == (3, 32, 32)
    assert a["ratios"][1] == 1 and 0 < a["ratios"][0] < 1
    assert a["inputs"][:3].mean() < a["inputs"][3:].mean()  # under first
    assert torch.equal(a["sources"], a["inputs"])  # static scenes, no shift: the sources are the inputs
    assert a["mertens"].shape == (3, 32, 32)
    from edgemef.data.labels import exposure_fusion

    p = np.asarray(rgb_pool.planes[1], np.float32).transpose(1, 2, 0)
    want = np.clip(exposure_fusion([p[..., 0:3], p[..., 3:6]]), 0, 1)  # Mertens of the stored (fp16) pair
    assert np.abs(p[..., 15:18] - want).mean() < 2e-3 and np.abs(p[..., 15:18] - want).max() < 0.03
    again = RGBScenePool(rgb_pool.cfg, progress=False)  # read back from the cache
    assert again.cache_path == rgb_pool.cache_path and np.array_equal(again.planes, rgb_pool.planes)


def _weights(path):
    return load_weights(path)[0]


def _same(a, b, keys=None):
    return all(torch.equal(a[k], b[k]) for k in (keys or a))


def test_twophase_trains_phase1_then_freezes_it_and_resumes_exactly(tmp_path, rgb_pool):
    full = Trainer(_cfg("twophase"), tmp_path / "full", pool=rgb_pool, progress=False)
    full.run()
    # a run that stops at the end of phase 1, resumed with phase 2 added ...
    cut = Trainer(_cfg("twophase", phase2_steps=0), tmp_path / "cut", pool=rgb_pool, progress=False)
    cut.run()
    assert load_checkpoint(tmp_path / "cut/checkpoint.safetensors")["meta"]["edgemef.phase"] == "phase1"
    p1 = _weights(tmp_path / "cut/twophase.safetensors")
    # ... and one stopped inside phase 2, resumed with phase 2 grown
    mid = Trainer(_cfg("twophase", phase2_steps=1), tmp_path / "mid", pool=rgb_pool, progress=False)
    mid.run()
    for name in ("cut", "mid"):
        again = Trainer(_cfg("twophase"), tmp_path / name, resume=True, pool=rgb_pool, progress=False)
        assert again.resumed and again.model.phase1_frozen
        again.run()
        assert _same(_weights(tmp_path / "full/twophase.safetensors"), _weights(tmp_path / f"{name}/twophase.safetensors"))
        assert again.history["loss"] == full.history["loss"]
    final = _weights(tmp_path / "full/twophase.safetensors")
    phase1 = [k for k in final if k.startswith("phase1.")]
    assert phase1 and _same(final, p1, phase1)                        # phase 2 left phase 1 alone
    assert not _same(final, p1, [k for k in final if k.startswith("phase2.")])
    with pytest.raises(EdgemefError, match="phase1_steps"):
        Trainer(_cfg("twophase", phase1_steps=3), tmp_path / "full", resume=True, pool=rgb_pool, progress=False)


def test_twophase_outputs_say_vgg_is_off(tmp_path, rgb_pool, capsys):
    out = tmp_path / "run"
    Trainer(_cfg("twophase", phase1_steps=1, phase2_steps=1, seed=3), out, pool=rgb_pool, progress=False).run()
    assert "WARNING: VGG perceptual loss is OFF" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["loss"]["vgg_enabled"] is False and "OFF" in summary["warnings"][0]
    assert json.loads((out / "config.json").read_text())["vgg_weights"] == ""
    state, manifest, meta = load_weights(out / "twophase.safetensors")
    assert (manifest.model, manifest.format, manifest.colour_space, manifest.output) == ("twophase", "torch", "rgb", "ldr")
    assert manifest.extra["config"]["unet_base"] == 4 and "OFF" in json.loads(meta["edgemef.notes"])[0]
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_twophase_with_vgg_weights_has_no_warning(tmp_path, rgb_pool):
    from safetensors.torch import save_file

    from edgemef.models.vgg import VGGFeatures

    vgg = tmp_path / "vgg19.safetensors"
    save_file(VGGFeatures().state_dict(), str(vgg))
    t = Trainer(_cfg("twophase", phase1_steps=1, phase2_steps=0, vgg_weights=str(vgg)), tmp_path / "v",
                pool=rgb_pool, progress=False)
    assert t.task.criterion.vgg_enabled and t.task.notes() == []
    assert "vgg" in t.train_step()
    with pytest.raises(EdgemefError, match="no such file"):
        Trainer(_cfg("twophase", vgg_weights=str(tmp_path / "missing.pth")), tmp_path / "m", pool=rgb_pool)


@pytest.mark.parametrize("ablation, scales, pad", [("full", 3, 8), ("single_scale", 1, 2), ("no_align", 3, 8)])
def test_sthdr_ablations_train_and_record_their_network(tmp_path, rgb_pool, ablation, scales, pad):
    out = tmp_path / ablation
    t = Trainer(_cfg("sthdr", ablation=ablation, steps=1), out, pool=rgb_pool, progress=False)
    t.run()
    assert sum(k.startswith("final_s") for k in t.history) == scales
    state, manifest, _ = load_weights(out / "sthdr.safetensors")
    assert (manifest.model, manifest.output, manifest.pad_multiple) == ("sthdr", "hdr", pad)
    cfg = manifest.extra["config"]
    assert cfg["scales"] == scales and cfg["align"] == (ablation != "no_align") and cfg["channels"] == 8
    from edgemef.export.source import load_network

    assert load_network("sthdr", out / "sthdr.safetensors").manifest.pad_multiple == pad


def test_sthdr_resumes_exactly_and_learns_a_fixed_batch(tmp_path, rgb_pool):
    Trainer(_cfg("sthdr"), tmp_path / "full", pool=rgb_pool, progress=False).run()
    Trainer(_cfg("sthdr", steps=2), tmp_path / "part", pool=rgb_pool, progress=False).run()
    Trainer(_cfg("sthdr"), tmp_path / "part", resume=True, pool=rgb_pool, progress=False).run()
    assert _same(_weights(tmp_path / "full/sthdr.safetensors"), _weights(tmp_path / "part/sthdr.safetensors"))
    t = Trainer(_cfg("sthdr", lr=3e-3), tmp_path / "fixed", pool=rgb_pool, progress=False)
    batch = t.task.batch(t.dataset, [0, 1])
    losses = []
    for _ in range(12):
        loss, parts = t.task.loss(t.model, batch, t.phase)
        t.optimizer.zero_grad()
        loss.backward()
        t.optimizer.step()
        losses.append(parts["loss"])
    assert losses[-1] < 0.8 * losses[0]


def test_a_qat_fine_tune_trains_and_saves_plain_weights(tmp_path, rgb_pool):
    Trainer(_cfg("sthdr", steps=1), tmp_path / "base", pool=rgb_pool, progress=False).run()
    base = str(tmp_path / "base/sthdr.safetensors")
    t = Trainer(_cfg("sthdr", steps=2, init=base, qat=True), tmp_path / "qat", pool=rgb_pool, progress=False)
    assert any(hasattr(m, "qat_seen") for m in t.model.modules())
    t.run()
    state, manifest, meta = load_weights(tmp_path / "qat/sthdr.safetensors")
    assert not any("qat" in k for k in state)
    base_state = load_weights(base)[0]
    assert set(state) == set(base_state) and any(not torch.equal(state[k], base_state[k]) for k in state)
    with pytest.raises(EdgemefError, match="qat must be true or false"):
        _cfg("sthdr", qat="yes")


def test_twophase_mertens_target_and_mef_ssim_term(rgb_pool):
    """fused_target picks phase 2's target; lambda_mef adds lambda * (1 - MEF-SSIM) of the grey
    fused image against the grey static pair, which the metric scores the same way."""
    from edgemef.metrics.mef_ssim import mef_ssim as metric
    from edgemef.train.mef_ssim_loss import mef_ssim
    from edgemef.train.twophase_task import grey

    cfg = _cfg("twophase", fused_target="mertens", lambda_mef=2.0, phase1_steps=0, crop=48)
    from edgemef.train.twophase_task import TwoPhaseTask

    task = TwoPhaseTask(cfg, pool=rgb_pool)
    model = task.build_model().eval()
    batch = task.batch(task.dataset(False), [0, 1])
    phase = task.phases()[0]
    with torch.no_grad():
        loss, parts = task.loss(model, batch, phase)
        fused = model(batch["inputs"])
        base, _ = task.criterion(fused, None, batch["mertens"], phase=2)
        other, _ = task.criterion(fused, None, batch["label"], phase=2)
        mef = (1 - mef_ssim(grey(batch["sources"]), grey(fused.clamp(0, 1)))).mean()
    assert float(loss) == pytest.approx(float(base + 2.0 * mef), rel=1e-5) and parts["mef"] == pytest.approx(float(mef))
    assert abs(float(base) - float(other)) > 1e-4  # the Mertens target is not the label
    # the torch grey + MEF-SSIM agree with the metric (which also rounds to 8 bits) on a real crop
    src = batch["sources"][0].numpy().transpose(1, 2, 0)
    m = batch["mertens"][0]
    torch_score = float(mef_ssim(grey(batch["sources"][:1]), grey(m[None])))
    assert torch_score == pytest.approx(metric(m.numpy().transpose(1, 2, 0), [src[..., :3], src[..., 3:]]), abs=0.01)


def test_twophase_edge_term(rgb_pool):
    """lambda_grad adds lambda * max_gradient_loss of the grey fused image against the grey
    static pair, on top of the MEF-SSIM term; with both off the loss is the base loss."""
    from edgemef.train.losses import max_gradient_loss
    from edgemef.train.mef_ssim_loss import mef_ssim
    from edgemef.train.twophase_task import TwoPhaseTask, grey

    def loss_with(**kw):
        task = TwoPhaseTask(_cfg("twophase", fused_target="mertens", phase1_steps=0, crop=48, **kw), pool=rgb_pool)
        torch.manual_seed(0)
        model = task.build_model().eval()
        batch = task.batch(task.dataset(False), [0, 1])
        with torch.no_grad():
            loss, parts = task.loss(model, batch, task.phases()[0])
            fused = model(batch["inputs"])
            base, _ = task.criterion(fused, None, batch["mertens"], phase=2)
            src, shown = grey(batch["sources"]), grey(fused.clamp(0, 1))
        return float(loss), parts, float(base), src, shown

    loss, parts, base, src, shown = loss_with(lambda_grad=3.0, lambda_mef=1.0)
    edges = float(max_gradient_loss(src, shown).mean())
    mef = float((1 - mef_ssim(src, shown)).mean())
    assert edges > 0 and parts["grad"] == pytest.approx(edges)
    assert loss == pytest.approx(base + 1.0 * mef + 3.0 * edges, rel=1e-5)
    off, parts_off, base_off, _, _ = loss_with()
    assert off == pytest.approx(base_off) and "grad" not in parts_off and "mef" not in parts_off


def test_configs_in_the_repository_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs"
    for model, names in {"twophase": ["twophase_default", "twophase_mef"],
                         "sthdr": ["sthdr_default", "sthdr_single_scale", "sthdr_no_align", "sthdr_mulaw"]}.items():
        for name in names:
            cfg = load_model_config(model, root / f"{name}.json")
            assert cfg.model == model
    assert load_model_config("sthdr", root / "sthdr_no_align.json").ablation == "no_align"
    assert load_model_config("sthdr", root / "sthdr_single_scale.json").ablation == "single_scale"
    assert load_model_config("sthdr", root / "sthdr_mulaw.json").network == {"encoding": "mu-law"}
    with pytest.raises(EdgemefError, match="for model 'sthdr'"):
        load_model_config("twophase", root / "sthdr_default.json")
    with pytest.raises(EdgemefError, match="unknown key"):
        load_model_config("twophase", None, steps=5)
    with pytest.raises(EdgemefError, match="unknown network field"):
        load_model_config("sthdr", None, network={"chanels": 4})
