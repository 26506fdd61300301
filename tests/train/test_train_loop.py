"""The training loop: it learns, it resumes exactly, it writes what it promises."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.manifest import Manifest  # noqa: E402
from edgemef.train.checkpoint import load_checkpoint, load_weights  # noqa: E402
from edgemef.train.config import load_config  # noqa: E402
from edgemef.train.dataset import BracketCrops, fetch_batch, step_indices  # noqa: E402
from edgemef.train.loop import Trainer, compute_loss  # noqa: E402


def _cfg(**kw):
    base = dict(steps=6, batch=2, crop=32, checkpoint_every=2, log_every=1, preset="mbpt", threads=1,
                device="cpu")
    base.update(kw)
    cfg = load_config(None, **{k: v for k, v in base.items() if k != "data"})
    cfg.data.size = [48, 48]
    return cfg


def test_batches_are_a_function_of_seed_and_step(tiny_pool):
    ds = BracketCrops(tiny_pool, 32, seed=3)
    a, b = fetch_batch(ds, 5, 2), fetch_batch(ds, 5, 2)
    assert step_indices(5, 2) == [10, 11]
    for k in a:
        assert torch.equal(a[k], b[k])
    assert a["inputs"].shape == (2, 2, 32, 32) and a["gammas"].shape == (2, 5)
    assert not torch.equal(a["inputs"], fetch_batch(ds, 6, 2)["inputs"])
    assert (a["inputs"][:, 0].mean() < a["inputs"][:, 1].mean()).item()  # under is darker


@pytest.mark.parametrize("preset", ["co", "mb", "mbpt"])
def test_training_lowers_the_loss_on_a_fixed_batch(tiny_pool, preset):
    cfg = _cfg(preset=preset, lr=1e-3)
    torch.manual_seed(0)
    batch = fetch_batch(BracketCrops(tiny_pool, 32, seed=0), 0, 2)
    from edgemef.models import create_model

    model = create_model("densefuse")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    losses = []
    for _ in range(15):
        loss, parts = compute_loss(model, batch, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(parts["loss"])
    assert losses[-1] < 0.8 * losses[0]
    assert ("under" in parts) == (preset != "co")


def test_paramtuner_weights_reach_the_loss(tiny_pool):
    batch = fetch_batch(BracketCrops(tiny_pool, 32, seed=0), 0, 2)
    batch["gammas"] = torch.tensor([[0.5, 2.0, 1.0, 1.0, 1.0], [0.5, 2.0, 1.0, 1.0, 1.0]])
    from edgemef.models import create_model

    _, parts = compute_loss(create_model("densefuse"), batch, _cfg(preset="mbpt"))
    assert parts["lambda_under"] == pytest.approx(2 / 3, rel=1e-6)
    _, parts = compute_loss(create_model("densefuse"), batch, _cfg(preset="mb"))
    assert parts["lambda_under"] == pytest.approx(1.0)


def _weights(path):
    return load_weights(path)[0]


def test_resume_gives_the_same_weights(tmp_path, tiny_pool):
    full = Trainer(_cfg(), tmp_path / "full", pool=tiny_pool, progress=False)
    full.run()
    part = Trainer(_cfg(steps=3), tmp_path / "part", pool=tiny_pool, progress=False)
    part.run()
    resumed = Trainer(_cfg(), tmp_path / "part", resume=True, pool=tiny_pool, progress=False)
    assert resumed.resumed and resumed.step == 3
    resumed.run()
    a, b = _weights(tmp_path / "full/densefuse.safetensors"), _weights(tmp_path / "part/densefuse.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.history["loss"] == full.history["loss"]


def test_interrupt_checkpoints_and_resumes_exactly(tmp_path, tiny_pool):
    ref = Trainer(_cfg(steps=5), tmp_path / "ref", pool=tiny_pool, progress=False)
    ref.run()
    t = Trainer(_cfg(steps=5), tmp_path / "cut", pool=tiny_pool, progress=False)
    real_step = t.train_step

    def step_then_signal():
        parts = real_step()
        if t.step == 3:  # Ctrl-C arrives mid-run, between checkpoints (every 2 steps)
            os.kill(os.getpid(), signal.SIGINT)
        return parts

    t.train_step = step_then_signal
    with pytest.raises(KeyboardInterrupt):
        t.run()
    assert load_checkpoint(tmp_path / "cut/checkpoint.safetensors")["step"] == 3
    again = Trainer(_cfg(steps=5), tmp_path / "cut", resume=True, pool=tiny_pool, progress=False)
    again.run()
    a, b = _weights(tmp_path / "ref/densefuse.safetensors"), _weights(tmp_path / "cut/densefuse.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_outputs_and_manifest(tmp_path, tiny_pool):
    out = tmp_path / "run"
    Trainer(_cfg(steps=2, seed=7), out, pool=tiny_pool, progress=False).run()
    for name in ("config.json", "checkpoint.safetensors", "densefuse.safetensors", "loss.png", "summary.json"):
        assert (out / name).is_file(), name
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "config.json").read_text())["seed"] == 7
    state, manifest, meta = load_weights(out / "densefuse.safetensors")
    assert (manifest.model, manifest.format, manifest.colour_space, manifest.chroma) == ("densefuse", "torch", "lab-l", "mean")
    assert json.loads(meta["edgemef.config"])["seed"] == 7 and meta["edgemef.step"] == "2"
    assert Manifest.from_json(meta["edgemef.manifest"]).exposures == 2
    ck = load_checkpoint(out / "checkpoint.safetensors")
    assert ck["step"] == 2 and len(ck["history"]["loss"]) == 2 and json.loads(ck["config"])["seed"] == 7


def test_refuses_to_overwrite_or_resume_a_different_run(tmp_path, tiny_pool):
    out = tmp_path / "run"
    Trainer(_cfg(steps=2), out, pool=tiny_pool, progress=False).run()
    with pytest.raises(EdgemefError, match="--resume"):
        Trainer(_cfg(steps=4), out, pool=tiny_pool, progress=False)
    with pytest.raises(EdgemefError, match="preset"):
        Trainer(_cfg(steps=4, preset="co"), out, resume=True, pool=tiny_pool, progress=False)


def test_weights_fuse_through_netio(tmp_path, tiny_pool):
    from edgemef.train.evaluate import fuse_with_model, load_model, run_network

    Trainer(_cfg(steps=1), tmp_path / "w", pool=tiny_pool, progress=False).run()
    model, manifest = load_model(tmp_path / "w/densefuse.safetensors")
    rng = np.random.default_rng(0)
    scene = rng.random((40, 56, 3)).astype(np.float32)
    out = fuse_with_model(model, [scene * 0.3, np.clip(scene * 1.8, 0, 1)], manifest)
    assert out.shape == (40, 56, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    x = rng.random((1, 2, 70, 33)).astype(np.float32)
    with torch.no_grad():
        whole = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(run_network(model, x, band=20), whole, atol=1e-5)


def test_pinned_pool_file_is_read_and_checked(tmp_path, tiny_pool):
    from edgemef.train.config import DataConfig
    from edgemef.train.dataset import ScenePool

    planes = np.asarray(tiny_pool.planes)
    path = tmp_path / "pool.npy"
    np.save(path, planes)
    pool = ScenePool(DataConfig(pool=3, size=[48, 48], pool_file=str(path)), progress=False)
    assert len(pool) == 3 and np.array_equal(pool.scene(2), planes[2].astype(np.float32))
    with pytest.raises(EdgemefError, match="shape"):
        ScenePool(DataConfig(pool=2, size=[48, 48], pool_file=str(path)), progress=False)
