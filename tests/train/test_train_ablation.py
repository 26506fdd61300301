"""The Table-2 ablation runner: one run per preset, same data, scored beside Mertens."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.train import ablation  # noqa: E402
from edgemef.train.checkpoint import load_weights  # noqa: E402

TINY = dict(steps=3, batch=2, crop=32, checkpoint_every=3, log_every=1, threads=1, device="cpu", lr=1e-3)


def test_ablation_trains_each_preset_and_scores_it(tmp_path, tiny_pool, mefb_dir):
    out = tmp_path / "abl"
    res = ablation.run(None, mefb_dir, out, presets=("co", "mbpt"), baselines=("mertens",), limit=2,
                       progress=False, pool=tiny_pool, **TINY)
    assert list(res) == ["co", "mbpt", "mertens"]
    for r in res.values():
        assert r["count"] == 2
        assert 0.0 < r["mean"]["mef_ssim"] <= 1.0 and 0.0 <= r["mean"]["qabf"] <= 1.0
    # the presets differ only in the loss: same init and batches, different weights after training
    a, _, meta_a = load_weights(out / "co" / "densefuse.safetensors")
    b, _, meta_b = load_weights(out / "mbpt" / "densefuse.safetensors")
    assert json.loads(meta_a["edgemef.config"])["preset"] == "co"
    assert json.loads(meta_b["edgemef.config"])["preset"] == "mbpt"
    assert any(not torch.equal(a[k], b[k]) for k in a)
    record = json.loads((out / "ablation.json").read_text())
    assert record["count"] == 2 and set(record["results"]) == {"co", "mbpt", "mertens"}
    md = (out / "ablation.md").read_text()
    assert "+ MaskBuilder + ParamTuner" in md and "co-target only" in md and "mertens" in md

    # finished runs are reused, not retrained: same weights file, same scores
    stamp = (out / "co" / "densefuse.safetensors").stat().st_mtime_ns
    again = ablation.run(None, mefb_dir, out, presets=("co",), baselines=(), limit=2, progress=False,
                         pool=tiny_pool, **TINY)
    assert (out / "co" / "densefuse.safetensors").stat().st_mtime_ns == stamp
    assert again["co"]["mean"] == res["co"]["mean"]


def test_ablation_refuses_bad_input(tmp_path, tiny_pool):
    with pytest.raises(EdgemefError, match="no bracket sets|no two-image"):
        ablation.run(None, tmp_path, tmp_path / "o", pool=tiny_pool, **TINY)
    assert ablation.main(["--pairs", str(tmp_path), "--out", str(tmp_path / "o"), "-q"]) == 2
