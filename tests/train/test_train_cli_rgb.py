"""`edgemef train twophase` / `edgemef train sthdr`: help, config errors (exit 2), tiny runs."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from edgemef.cli import cli  # noqa: E402


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_help_lists_both_commands_and_their_options():
    r = _run(["train", "--help"])
    assert r.exit_code == 0 and "twophase" in r.output and "sthdr" in r.output
    common = ("--config", "--batch", "--crop", "--out", "--resume", "--device", "--seed", "--threads", "--quiet")
    for cmd, own in (("twophase", ("--phase1-steps", "--phase2-steps", "--vgg-weights", "--fused-target",
                                   "--lambda-mef", "--lambda-grad", "--qat")),
                     ("sthdr", ("--ablation", "--steps", "--qat"))):
        r = _run(["train", cmd, "--help"])
        assert r.exit_code == 0
        for opt in common + own:
            assert opt in r.output, (cmd, opt)


@pytest.mark.parametrize("cmd, text, message", [
    ("twophase", '{"steps": 10}', "unknown key(s) steps"),
    ("twophase", '{"phase1_steps": 0, "phase2_steps": 0}', "must be >= 1"),
    ("twophase", '{"network": {"exposures": 3}}', "exposures must be 2"),
    ("twophase", '{"fused_target": "ev0"}', "fused_target 'ev0'"),
    ("twophase", '{"lambda_mef": -1}', "lambda_mef must be >= 0"),
    ("twophase", '{"lambda_grad": -0.5}', "lambda_grad must be >= 0"),
    ("sthdr", '{"ablation": "xyz"}', "ablation 'xyz'"),
    ("sthdr", '{"model": "twophase"}', "is for model 'twophase'"),
    ("sthdr", '{"crop": 512}', "data.size"),
])
def test_bad_config_exits_2_with_one_line(tmp_path, cmd, text, message):
    cfg = tmp_path / "bad.json"
    cfg.write_text(text)
    r = CliRunner().invoke(cli, ["train", cmd, "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "edgemef: error:" in r.output and message in r.output


def test_missing_vgg_file_exits_2(tmp_path):
    r = CliRunner().invoke(cli, ["train", "twophase", "--vgg-weights", str(tmp_path / "vgg.pth"),
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_tiny_runs_end_to_end_on_rendered_scenes(tmp_path):
    data = {"pool": 2, "size": [48, 48], "cache_dir": str(tmp_path / "cache")}
    tp = tmp_path / "tp.json"
    tp.write_text(json.dumps({"model": "twophase", "phase1_steps": 1, "phase2_steps": 1, "batch": 1, "crop": 32,
                              "network": {"unet_base": 4, "amnet_features": 8, "amnet_blocks": 1}, "data": data}))
    r = _run(["train", "twophase", "--config", str(tp), "--out", str(tmp_path / "tp"), "--quiet", "--seed", "2"])
    assert r.exit_code == 0, r.output
    assert "trained 2 steps" in r.stdout and "VGG OFF" in r.stdout
    assert "WARNING: VGG perceptual loss is OFF" in r.stderr
    assert (tmp_path / "tp/twophase.safetensors").is_file()
    st = tmp_path / "st.json"
    st.write_text(json.dumps({"model": "sthdr", "steps": 1, "batch": 1, "crop": 32,
                              "network": {"channels": 8, "deform_groups": 2}, "data": data}))
    r = _run(["train", "sthdr", "--config", str(st), "--ablation", "single_scale", "--out", str(tmp_path / "st"),
              "--quiet", "--qat"])
    assert r.exit_code == 0, r.output
    assert "ablation single_scale" in r.stdout and (tmp_path / "st/sthdr.safetensors").is_file()
    saved = json.loads((tmp_path / "st/config.json").read_text())
    assert saved["ablation"] == "single_scale" and saved["qat"] is True
    assert len(list((tmp_path / "cache").glob("rgbpool-*.npy"))) == 2  # one pool (+ its times), shared
