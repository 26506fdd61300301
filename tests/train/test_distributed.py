"""Distributed data parallel: two gloo processes under torchrun train what one process trains.

The same global batch split over two ranks gives the same weights as one process (to float
summation order), and the two-process checkpoint resumes in one process to the weights of an
uninterrupted run.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

from edgemef.train.checkpoint import load_checkpoint, load_weights  # noqa: E402
from edgemef.train.config import load_config  # noqa: E402
from edgemef.train.loop import Trainer  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(args: list[str], nproc: int = 2) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env.update(MASTER_ADDR="127.0.0.1", OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo", CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(nproc),
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "--no-python", sys.executable, "-c", "from edgemef.cli import cli; cli()", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _weights(path):
    return load_weights(path)[0]


def _close(a, b, atol=1e-5):
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst <= atol, f"max |difference| {worst:.3g}"


def test_two_gloo_processes_match_one_and_resume_in_one(tmp_path, tiny_pool):
    pool = tmp_path / "pool.npy"
    np.save(pool, np.asarray(tiny_pool.planes))
    config = tmp_path / "ddp.json"
    config.write_text(json.dumps({
        "steps": 3, "batch": 4, "crop": 32, "lr": 1e-3, "checkpoint_every": 100, "log_every": 1,
        "device": "cpu", "threads": 1, "preset": "mbpt",
        "data": {"pool": 3, "size": [48, 48], "pool_file": str(pool)},
    }))
    two = tmp_path / "two"
    r = _torchrun(["train", "densefuse", "--config", str(config), "--out", str(two), "--quiet"])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert r.stdout.count("trained 3 steps") == 1  # rank 0 alone reports (and writes)
    summary = json.loads((two / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 3

    one = tmp_path / "one"
    Trainer(load_config(config), one, progress=False).run()
    _close(_weights(two / "densefuse.safetensors"), _weights(one / "densefuse.safetensors"))
    h2, h1 = load_checkpoint(two / "checkpoint.safetensors")["history"], load_checkpoint(one / "checkpoint.safetensors")["history"]
    np.testing.assert_allclose(h2["loss"], h1["loss"], rtol=1e-5)  # the global batch's loss, averaged

    # the 2-process checkpoint continues in 1 process like the uninterrupted 1-process run
    resumed = Trainer(load_config(config, steps=6), two, resume=True, progress=False)
    assert resumed.resumed and resumed.step == 3 and resumed.dist.world == 1
    resumed.run()
    Trainer(load_config(config, steps=6), tmp_path / "six", progress=False).run()
    _close(_weights(two / "densefuse.safetensors"), _weights(tmp_path / "six/densefuse.safetensors"))


def test_two_phase_training_crosses_its_phase_boundary_under_ddp(tmp_path):
    """Phase 1 (the UNet wrapped alone), then a re-wrapped model with phase 1 frozen."""
    config = tmp_path / "tp.json"
    config.write_text(json.dumps({
        "model": "twophase", "phase1_steps": 2, "phase2_steps": 2, "batch": 2, "crop": 32, "lr": 1e-3,
        "checkpoint_every": 100, "log_every": 1, "device": "cpu", "threads": 1,
        "network": {"unet_base": 4, "amnet_features": 8, "amnet_blocks": 1, "amnet_layers": 2},
        "data": {"pool": 2, "size": [48, 48], "cache_dir": str(tmp_path / "cache")},
    }))
    from edgemef.train.rgb_config import load_model_config
    from edgemef.train.rgb_dataset import RGBScenePool

    cfg = load_model_config("twophase", config)
    RGBScenePool(cfg.data, progress=False)  # render the shared pool once, before either run
    r = _torchrun(["train", "twophase", "--config", str(config), "--out", str(tmp_path / "two"), "--quiet"])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert r.stderr.count("VGG perceptual loss is OFF") == 1  # rank 0 only, once, before training starts
    Trainer(cfg, tmp_path / "one", progress=False).run()
    _close(_weights(tmp_path / "two/twophase.safetensors"), _weights(tmp_path / "one/twophase.safetensors"))


def test_a_batch_that_does_not_split_evenly_is_refused():
    from edgemef.errors import EdgemefError
    from edgemef.train.distributed import DistContext, shard

    assert shard([0, 1, 2, 3], DistContext(1, 2)) == [2, 3]
    assert shard([0, 1, 2], DistContext()) == [0, 1, 2]
    with pytest.raises(EdgemefError, match="does not split evenly"):
        shard([0, 1, 2], DistContext(0, 2))


def test_each_rank_trains_on_its_own_shard_of_the_global_batch(tmp_path, tiny_pool, monkeypatch):
    from edgemef.train import distributed as ddp

    cfg = load_config(None, steps=4, batch=4, crop=32, device="cpu", threads=1)
    cfg.data.size = [48, 48]
    t = Trainer(cfg, tmp_path / "r1", pool=tiny_pool, progress=False)
    seen = []
    real = t.task.batch
    t.task.batch = lambda ds, idx: (seen.append(list(idx)), real(ds, idx))[1]
    t.dist = ddp.DistContext(rank=1, world=2)  # rank 1 of 2, collectives stubbed out
    monkeypatch.setattr(ddp, "mean_parts", lambda parts, ctx, device: parts)
    t.step = 2
    t.train_step()
    assert seen == [[10, 11]]
