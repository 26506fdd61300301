"""The bundled DenseFuse weights: present, reproducible from the recorded recipe, consistent with
the bundled ONNX artifact, and fusing real pairs better than the plain average through the CLI."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgemef.cli import cli
from edgemef.fusion import METHODS, get_method
from edgemef.io import load_brackets, load_image
from edgemef.metrics import score
from edgemef.runtimes import read_manifest
from edgemef.runtimes.methods import WEIGHTS_DIR
from tests.conftest import REPO, mefb_pairs

SAFETENSORS = WEIGHTS_DIR / "densefuse.safetensors"
ONNX = WEIGHTS_DIR / "densefuse.onnx"


def test_bundled_files_exist_and_agree():
    assert SAFETENSORS.is_file() and ONNX.is_file()
    m = read_manifest(ONNX)
    assert (m.model, m.format, m.precision, m.colour_space) == ("densefuse", "onnx", "fp32", "lab-l")
    digest = hashlib.sha256(SAFETENSORS.read_bytes()).hexdigest()[:16]
    assert m.extra["weights_digest"] == digest  # the ONNX was exported from exactly these weights
    assert m.parity["passed"] and m.parity["psnr_db_min"] >= 60.0
    assert "densefuse" in METHODS


def test_recipe_recorded_beside_the_weights_is_the_shipped_config():
    from safetensors import safe_open

    with safe_open(str(SAFETENSORS), framework="numpy") as f:
        meta = f.metadata()
    recorded = json.loads(meta["edgemef.config"])
    recipe = json.loads((REPO / "configs" / "densefuse_default.json").read_text())
    for key, value in recipe.items():
        if key == "data":
            assert {k: recorded["data"][k] for k in value} == value
        else:
            assert recorded[key] == value, key
    assert int(meta["edgemef.step"]) == recipe["steps"]


def test_densefuse_method_beats_the_average_on_real_pairs(mefb_dir):
    fuse, avg = get_method("densefuse"), get_method("average")
    ours, base = [], []
    for _, files in mefb_pairs()[::8]:
        ims = [b.image for b in load_brackets(files)]
        ours.append(score(fuse(ims), ims, names=["mef_ssim", "qabf"]))
        base.append(score(avg(ims), ims, names=["mef_ssim", "qabf"]))
    for name in ("mef_ssim", "qabf"):
        assert np.mean([s[name] for s in ours]) > np.mean([s[name] for s in base]) + 0.01, name


def test_cli_fuses_with_the_bundled_network(mefb_dir, tmp_path):
    _, (a, b) = mefb_pairs()[5]
    out = tmp_path / "fused.png"
    res = CliRunner().invoke(cli, ["fuse", str(a), str(b), "-o", str(out), "--method", "densefuse"])
    assert res.exit_code == 0, res.output
    assert "with densefuse" in res.stdout
    assert load_image(out).image.shape == load_image(a).image.shape
