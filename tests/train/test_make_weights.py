"""make_weights: the recipe's model decides what is trained, exported (with parity) and installed."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from edgemef.train import make_weights  # noqa: E402
from edgemef.train.checkpoint import load_weights  # noqa: E402

TINY = {"unet_base": 4, "amnet_features": 8, "amnet_blocks": 1, "amnet_layers": 2, "amnet_growth": 4}


def test_make_weights_trains_exports_and_installs_a_twophase_recipe(tmp_path, capsys):
    cfg = {"model": "twophase", "phase1_steps": 2, "phase2_steps": 2, "fused_target": "mertens", "lambda_mef": 1.0,
           "network": TINY, "batch": 2, "crop": 48, "threads": 1, "device": "cpu", "checkpoint_every": 2,
           "data": {"pool": 2, "size": [64, 64], "cache_dir": str(tmp_path / "cache")}}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(cfg))
    assert make_weights.recipe(path).model == "twophase"
    install = tmp_path / "weights"
    rc = make_weights.main(["--config", str(path), "--run", str(tmp_path / "run"), "--install", str(install), "-q"])
    assert rc == 0, capsys.readouterr().err
    assert sorted(p.name for p in install.iterdir()) == ["twophase.onnx", "twophase.safetensors"]
    trained = load_weights(tmp_path / "run" / "twophase.safetensors")[0]
    shipped = load_weights(install / "twophase.safetensors")[0]
    assert all(np.array_equal(trained[k].numpy(), shipped[k].numpy()) for k in trained)
    out = capsys.readouterr().out
    assert "onnx parity vs torch" in out and "twophase.onnx" in out

    # the installed ONNX is a working, torch-free fusion method
    from edgemef.runtimes import load
    from edgemef.samples import sample_sets
    from edgemef.io import load_image

    name, files = sample_sets()[0]
    fused = load(install / "twophase.onnx", threads=1)([load_image(f).image for f in files[:2]])
    assert fused.ndim == 3 and fused.shape[2] == 3 and np.isfinite(fused).all()


def test_make_weights_bad_recipe_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "twophase", "lambda_mef": -2}')
    assert make_weights.main(["--config", str(bad), "--run", str(tmp_path / "r"), "--install", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgemef: error:") and "lambda_mef" in err and "\n" not in err
    assert not (tmp_path / "w").exists()
