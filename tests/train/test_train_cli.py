"""`edgemef train densefuse`: help, config errors (exit 2), a tiny end-to-end run."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from edgemef.cli import cli  # noqa: E402


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_help_lists_the_command_and_every_option():
    r = _run(["train", "--help"])
    assert r.exit_code == 0 and "densefuse" in r.output
    r = _run(["train", "densefuse", "--help"])
    assert r.exit_code == 0
    for opt in ("--config", "--preset", "--co-target", "--steps", "--batch", "--crop", "--out", "--resume",
                "--device", "--seed", "--threads", "--dynamic", "--shift-prob", "--init"):
        assert opt in r.output, opt


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"preset": "xyz"}', "preset 'xyz'"),
    ('{"fusion": "max"}', "fusion 'max'"),
    ('{"seed": -1}', "seed must be an integer >= 0"),
    ('{"stpes": 10}', "unknown key(s) stpes"),
    ('{"data": {"pool": -1}}', "data.pool"),
    ('[1, 2]', "JSON object"),
    ('{"crop": 512}', "data.size"),
])
def test_bad_config_exits_2_with_one_line(tmp_path, text, message):
    cfg = tmp_path / "bad.json"
    cfg.write_text(text)
    r = CliRunner().invoke(cli, ["train", "densefuse", "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "edgemef: error:" in r.output and message in r.output
    assert not (tmp_path / "o").exists()


def test_bad_seed_and_unreadable_init_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("junk!")
    for extra, message in ((["--seed", "-1"], "'--seed': -1 is not in the range x>=0"),
                           (["--init", str(bad)], "cannot read the checkpoint")):
        r = CliRunner().invoke(cli, ["train", "densefuse", "--steps", "2", *extra, "--out", str(tmp_path / "o")])
        assert r.exit_code == 2, r.output
        assert r.output.startswith("edgemef: error:") and message in r.output and r.output.count("\n") == 1
        assert not (tmp_path / "o").exists()


def test_missing_config_file_exits_2(tmp_path):
    r = CliRunner().invoke(cli, ["train", "densefuse", "--config", str(tmp_path / "nope.json")])
    assert r.exit_code == 2 and "cannot read training config" in r.output


def test_cuda_without_gpu_is_a_user_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = CliRunner().invoke(cli, ["train", "densefuse", "--device", "cuda", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no CUDA device" in r.output


def test_tiny_end_to_end_run_on_rendered_scenes(tmp_path):
    """Real synthetic brackets rendered on the fly (pool 0): two steps of one 32x32 crop."""
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({"steps": 2, "batch": 1, "crop": 32, "checkpoint_every": 1, "co_target": "label",
                               "data": {"pool": 0, "size": [256, 256]}}))
    out = tmp_path / "run"
    r = _run(["train", "densefuse", "--config", str(cfg), "-o", str(out), "--quiet", "--seed", "5"])
    assert r.exit_code == 0, r.output
    assert "trained 2 steps" in r.output and (out / "densefuse.safetensors").is_file()
    saved = json.loads((out / "config.json").read_text())
    assert saved["seed"] == 5 and saved["co_target"] == "label" and saved["steps"] == 2


def test_dynamic_options_reach_the_run(tmp_path):
    """--dynamic / --shift-prob: a two-step run on dynamic scenes records them; bad values exit 2."""
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({"steps": 2, "batch": 1, "crop": 32, "checkpoint_every": 1,
                               "data": {"pool": 0, "size": [96, 96]}}))
    out = tmp_path / "run"
    r = _run(["train", "densefuse", "--config", str(cfg), "--out", str(out), "--quiet", "--dynamic", "1",
              "--shift-prob", "0.5"])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "config.json").read_text())["data"]
    assert data["dynamic"] == 1.0 and data["shift_prob"] == 0.5
    r = CliRunner().invoke(cli, ["train", "densefuse", "--shift-prob", "2", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "data.shift_prob must lie in [0, 1]" in r.output
