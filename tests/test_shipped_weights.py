"""The bundled network weights (DenseFuse, the two-phase network, STHDR): present, reproducible from
the recorded recipe, consistent with the bundled ONNX artifact, and fusing real pairs better than the
plain average through the CLI (STHDR, an HDR network shown by reference fusion: on MEF-SSIM only;
its Q^AB/F is below the average's, see docs/sthdr.md)."""
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

# network -> (its shipped recipe under configs/, the colour space its artifact works in)
BUNDLED = {"densefuse": ("densefuse_finetune_stage8.json", "lab-l"), "twophase": ("twophase_shipped.json", "rgb"),
           "sthdr": ("sthdr_shipped.json", "rgb")}
# bundled weights that are a uniform average of runs (python -m edgemef.train.average_weights):
# each run's recipe under configs/, with what its command line changed, in the averaged order; a
# nested list is a source that is itself an average (its runs recorded under it)
THREE_RUN_AVERAGE = [("twophase_shipped.json", {"phase2_steps": 16000}),  # --resume --phase2-steps 16000
                     ("twophase_finetune_wide.json", {}),  # init: the first run
                     ("twophase_finetune_mef.json", {})]  # init: the average of the first two
AVERAGED = {"twophase": [THREE_RUN_AVERAGE,  # runs/tp_soup_mef3, bundled in stops 16-17
                         # init: runs/tp_soup_mef3, run while those were the bundled weights
                         ("twophase_finetune_grad.json", {"init": "edgemef/assets/weights/twophase.safetensors"})]}
# the metrics each bundled network beats the plain average on (mefb-dev, every 8th pair)
BEATS_AVERAGE = {"densefuse": ("mef_ssim", "qabf"), "twophase": ("mef_ssim", "qabf"), "sthdr": ("mef_ssim",)}
NETWORKS = pytest.mark.parametrize("model", sorted(BUNDLED))


@NETWORKS
def test_bundled_files_exist_and_agree(model):
    weights, onnx = WEIGHTS_DIR / f"{model}.safetensors", WEIGHTS_DIR / f"{model}.onnx"
    assert weights.is_file() and onnx.is_file()
    m = read_manifest(onnx)
    assert (m.model, m.format, m.precision, m.colour_space) == (model, "onnx", "fp32", BUNDLED[model][1])
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    assert m.extra["weights_digest"] == digest  # the ONNX was exported from exactly these weights
    assert m.parity["passed"] and m.parity["psnr_db_min"] >= 60.0
    assert model in METHODS
    if model == "sthdr":  # radiance out, shown by reference fusion unless --tonemap says otherwise
        assert m.output == "hdr" and m.extra["tonemap"] == "reference-fusion"


def _averaged_runs(sources: list[dict], recipes: list) -> list[tuple]:
    """(recorded config, step, recipe file, changes) of every run under an average's sources."""
    assert len(sources) == len(recipes)
    runs = []
    for src, recipe in zip(sources, recipes):
        if isinstance(recipe, list):
            runs += _averaged_runs(src["sources"], recipe)
        else:
            assert "sources" not in src, src["path"]
            runs.append((src["config"], src["step"], *recipe))
    return runs


@NETWORKS
def test_recipe_recorded_beside_the_weights_is_the_shipped_config(model):
    from safetensors import safe_open

    with safe_open(str(WEIGHTS_DIR / f"{model}.safetensors"), framework="numpy") as f:
        meta = f.metadata()
    if model in AVERAGED:
        sources = json.loads(meta["edgemef.sources"])
        assert json.loads(meta["edgemef.config"]) == sources[0]["config"]  # the first source's, kept
        runs = _averaged_runs(sources, AVERAGED[model])
    else:
        runs = [(json.loads(meta["edgemef.config"]), int(meta["edgemef.step"]), BUNDLED[model][0], {})]
    for recorded, step, name, changes in runs:
        recipe = {**json.loads((REPO / "configs" / name).read_text()), **changes}
        for key, value in recipe.items():
            if key == "data":
                assert {k: recorded["data"][k] for k in value} == value, name
            else:
                assert recorded[key] == value, (name, key)
        steps = recipe["phase1_steps"] + recipe["phase2_steps"] if model == "twophase" else recipe["steps"]
        assert step == steps, name


@NETWORKS
def test_bundled_method_beats_the_average_on_real_pairs(mefb_dir, model):
    fuse, avg = get_method(model), get_method("average")
    ours, base = [], []
    for _, files in mefb_pairs()[::8]:
        ims = [b.image for b in load_brackets(files)]
        ours.append(score(fuse(ims), ims, names=["mef_ssim", "qabf"]))
        base.append(score(avg(ims), ims, names=["mef_ssim", "qabf"]))
    for name in BEATS_AVERAGE[model]:
        assert np.mean([s[name] for s in ours]) > np.mean([s[name] for s in base]) + 0.01, name


@NETWORKS
def test_cli_fuses_with_the_bundled_network(mefb_dir, tmp_path, model):
    _, (a, b) = mefb_pairs()[5]
    out = tmp_path / "fused.png"
    res = CliRunner().invoke(cli, ["fuse", str(a), str(b), "-o", str(out), "--method", model])
    assert res.exit_code == 0, res.output
    assert f"with {model}" in res.stdout
    assert load_image(out).image.shape == load_image(a).image.shape
