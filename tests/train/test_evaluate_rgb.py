"""Scoring torch checkpoints of every network, and the synthetic labelled test set."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgemef.train.config import DataConfig  # noqa: E402
from edgemef.train.evaluate import ModelMethod, fuse_with_model, load_model, main  # noqa: E402
from edgemef.train.loop import Trainer  # noqa: E402
from edgemef.train.rgb_config import load_model_config  # noqa: E402
from edgemef.train.rgb_dataset import RGBScenePool  # noqa: E402
from edgemef.train.synthetic_eval import psnr_mu, score_synthetic, synthetic_sets  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One-step twophase and STHDR runs (tiny networks): {'twophase': dir, 'sthdr': dir}."""
    root = tmp_path_factory.mktemp("evalruns")
    data = DataConfig(pool=2, size=[48, 48], cache_dir=str(root / "cache"))
    pool = RGBScenePool(data, progress=False)
    runs = {}
    for model, kw in (("twophase", dict(phase1_steps=1, phase2_steps=1, network={"unet_base": 4, "amnet_features": 8})),
                      ("sthdr", dict(steps=1, network={"channels": 8, "deform_groups": 2}))):
        cfg = load_model_config(model, None, batch=1, crop=32, device="cpu", threads=1, **kw)
        cfg.data = data
        Trainer(cfg, root / model, pool=pool, progress=False).run()
        runs[model] = root / model
    return runs


def _pair(h=40, w=56):
    rng = np.random.default_rng(0)
    scene = rng.random((h, w, 3)).astype(np.float32)
    return [scene * 0.3, np.clip(scene * 1.8, 0, 1)]


@pytest.mark.parametrize("model", ["twophase", "sthdr"])
def test_weights_and_checkpoints_fuse_through_netio(trained, model):
    images = _pair()
    a_model, a_man = load_model(trained[model] / f"{model}.safetensors")
    b_model, b_man = load_model(trained[model] / "checkpoint.safetensors")
    assert a_man.model == b_man.model == model and a_man.extra["config"] == b_man.extra["config"]
    a, b = fuse_with_model(a_model, images, a_man), fuse_with_model(b_model, images, b_man)
    assert a.shape == (40, 56, 3) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)


def test_sthdr_uses_known_times_else_estimates_them(trained):
    m = ModelMethod(trained["sthdr"] / "sthdr.safetensors")
    images = _pair()
    m(images, [1 / 400, 1 / 100])
    known = m.last_hdr.copy()
    m(images, [1 / 100, 1 / 100 * 6.0])   # a different (wrong) ratio changes the radiance
    assert known.shape == (40, 56, 3) and not np.allclose(known, m.last_hdr)
    m(images)                               # no times: estimated from the pixels
    assert np.isfinite(m.last_hdr).all()


def test_psnr_mu_on_hand_made_values():
    x = np.zeros((4, 4, 3), np.float32)
    assert psnr_mu(x, x) == float("inf")
    y = x.copy()
    y[...] = 1.0   # mu-law(1) = 1: an error of 1 everywhere -> 0 dB
    assert psnr_mu(x, y) == pytest.approx(0.0)


def test_synthetic_labelled_scores_and_the_command_line(trained, tmp_path, capsys):
    sets = synthetic_sets(2, size=(176, 176), progress=False)
    assert sets[0].name.startswith("synthetic_10000_") and sets[0].label.shape == (176, 176, 3)
    again = synthetic_sets(1, size=(176, 176), progress=False)[0]
    assert np.array_equal(again.images[0], sets[0].images[0])  # a fixed test set
    from edgemef.fusion import get_method

    mertens = score_synthetic(get_method("mertens"), sets, desc="m")
    assert set(mertens["mean"]) == {"psnr", "ssim", "ms_ssim", "vif"} and mertens["count"] == 2
    perfect = score_synthetic(lambda ims: sets[[s.images[0] is ims[0] for s in sets].index(True)].label, sets)
    assert perfect["mean"]["ssim"] == pytest.approx(1.0) and perfect["mean"]["psnr"] > 60
    st = score_synthetic(ModelMethod(trained["sthdr"] / "sthdr.safetensors"), sets)
    assert "psnr_mu" in st["mean"] and np.isfinite(st["mean"]["psnr_mu"])

    out = tmp_path / "scores.json"
    rc = main([str(trained["twophase"] / "twophase.safetensors"), str(trained["sthdr"] / "sthdr.safetensors"),
               "--baselines", "mertens", "--synthetic", "1", "--synthetic-size", "176", "--json", str(out),
               "--latency", "64x96,48x48", "--latency-repeats", "2"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "| mertens |" in text and "twophase:" in text and "psnr_mu" in text
    assert "CPU latency, ms per fusion call (median of 2, 1 thread(s)" in text and "| 64x96 | 48x48 |" in text
    record = json.loads(out.read_text())
    lat = record["latency_ms"]["results"]
    assert set(lat) == set(record["synthetic"]["results"])
    assert all(v["64x96"] > 0 and v["48x48"] > 0 for v in lat.values())
    assert main(["--synthetic", "1", "--latency", "720by1280"]) == 2   # a bad size is a one-line error
    assert set(record["synthetic"]["results"]) == {"mertens", f"twophase:{trained['twophase'] / 'twophase.safetensors'}",
                                                   f"sthdr:{trained['sthdr'] / 'sthdr.safetensors'}"}
    assert main(["--baselines", "mertens"]) == 2   # nothing to score


def test_real_pair_folders_score_every_network_beside_mertens(trained, tmp_path, capsys):
    from edgemef.io import save_image

    for scene in ("a", "b"):
        (tmp_path / scene).mkdir()
        under, over = _pair(60, 80)
        save_image(tmp_path / scene / f"{scene}_A.png", under)
        save_image(tmp_path / scene / f"{scene}_B.png", over)
    rc = main([str(trained["twophase"] / "twophase.safetensors"), str(trained["sthdr"] / "checkpoint.safetensors"),
               "--baselines", "mertens", "--pairs", str(tmp_path), "--metrics", "mef_ssim,qabf", "--max-side", "64",
               "--latency", ""])
    assert rc == 0
    text = capsys.readouterr().out
    assert "2 pairs from" in text and "longer side <= 64" in text
    assert text.count("| mertens |") == 1 and "| twophase:" in text and "| sthdr:" in text


def test_tonemap_rows_for_hdr_networks_only(trained, tmp_path, capsys):
    from edgemef.io import save_image

    (tmp_path / "a").mkdir()
    under, over = _pair(60, 80)
    save_image(tmp_path / "a" / "a_A.png", under)
    save_image(tmp_path / "a" / "a_B.png", over)
    st, tp = str(trained["sthdr"] / "sthdr.safetensors"), str(trained["twophase"] / "twophase.safetensors")
    rc = main([st, tp, "--tonemap", "reinhard,exposure-fusion", "--pairs", str(tmp_path), "--metrics", "mef_ssim",
               "--latency", "", "--json", str(tmp_path / "r.json")])
    assert rc == 0
    text = capsys.readouterr().out
    assert f"| sthdr:{st} [reinhard] |" in text and f"| sthdr:{st} [exposure-fusion] |" in text
    assert text.count("| twophase:") == 1  # an LDR network: one row, the option does not apply
    rows = json.loads((tmp_path / "r.json").read_text())["pairs"]["results"]
    a, b = (rows[f"sthdr:{st} [{t}]"]["mean"]["mef_ssim"] for t in ("reinhard", "exposure-fusion"))
    assert a != b  # two displays of the same radiance
    assert main([st, "--tonemap", "drago", "--pairs", str(tmp_path), "--latency", ""]) == 2
