"""Fine-tuning: a run started from given weights (``init`` / ``--init``) and the data's under split."""
from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.train.config import DataConfig, load_config  # noqa: E402
from edgemef.train.loop import Trainer  # noqa: E402
from edgemef.train.rgb_config import load_model_config  # noqa: E402

WEIGHTS = Path(__file__).resolve().parents[2] / "edgemef" / "assets" / "weights"


def _cfg(**kw):
    base = dict(steps=2, batch=2, crop=32, checkpoint_every=1, log_every=1, preset="co", threads=1, device="cpu")
    base.update(kw)
    cfg = load_config(None, **base)
    cfg.data.size = [48, 48]
    return cfg


def test_init_starts_from_the_weights_then_trains_them(tmp_path, tiny_pool):
    first = Trainer(_cfg(), tmp_path / "a", pool=tiny_pool, progress=False).run()
    from edgemef.train.checkpoint import load_weights

    trained = load_weights(first)[0]
    t = Trainer(_cfg(seed=9, init=str(first)), tmp_path / "b", pool=tiny_pool, progress=False)
    start = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
    assert all(torch.equal(start[k], trained[k]) for k in trained)  # not seed 9's random weights
    fresh = Trainer(_cfg(seed=9), tmp_path / "c", pool=tiny_pool, progress=False).model.state_dict()
    assert not all(torch.equal(start[k], fresh[k]) for k in fresh)
    after = load_weights(t.run())[0]
    assert not all(torch.equal(after[k], start[k]) for k in start)  # and it trained from there
    assert t.step == 2


def test_init_refuses_another_network_another_architecture_or_no_file(tmp_path, tiny_pool):
    with pytest.raises(EdgemefError, match="holds 'twophase' weights, this run trains 'densefuse'"):
        Trainer(_cfg(init=str(WEIGHTS / "twophase.safetensors")), tmp_path / "x", pool=tiny_pool, progress=False)
    cfg = load_model_config("twophase", None, phase1_steps=1, phase2_steps=0, batch=1, crop=32, threads=1,
                            device="cpu", init=str(WEIGHTS / "twophase.safetensors"))
    cfg.network = {"amnet_features": 8}
    with pytest.raises(EdgemefError, match="another architecture"):
        Trainer(cfg, tmp_path / "y", progress=False)
    with pytest.raises(EdgemefError, match="init 'nope.safetensors' is not a weights file"):
        _cfg(init="nope.safetensors").validate()


def test_under_split_is_validated_and_keys_the_pool_cache():
    d = DataConfig()
    assert d.cache_key() == (0, (256, 256), (2.0, 6.0), 256)  # the key every cached pool was made with
    d.under_split = [0.1, 0.85]
    assert d.cache_key()[-1] == (0.1, 0.85)
    with pytest.raises(EdgemefError, match=r"data.under_split must be \[lo, hi\]"):
        _cfg(data={"under_split": [0.9, 0.2]}).validate()
