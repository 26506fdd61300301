"""Weight averaging (model soups): the mean of the tensors, the checks, the CLI's errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from edgemef.train.average_weights import average, main  # noqa: E402
from edgemef.train.checkpoint import load_weights  # noqa: E402

WEIGHTS = Path(__file__).resolve().parents[2] / "edgemef" / "assets" / "weights"


def test_average_is_the_mean_of_the_tensors_and_keeps_the_manifest(tmp_path):
    from edgemef.models import create_model
    from edgemef.train.checkpoint import densefuse_manifest, save_weights

    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        paths.append(save_weights(tmp_path / f"w{seed}.safetensors", create_model("densefuse"),
                                  densefuse_manifest(), "{}"))
    out = average(paths, tmp_path / "soup.safetensors")
    a, b = load_weights(paths[0])[0], load_weights(paths[1])[0]
    s, manifest, meta = load_weights(out)
    assert manifest.model == "densefuse" and set(s) == set(a)
    for k in a:
        assert torch.allclose(s[k], (a[k] + b[k]) / 2, atol=1e-7), k
    assert "uniform average of" in json.loads(meta["edgemef.notes"])[-1]
    assert [src["path"] for src in json.loads(meta["edgemef.sources"])] == [str(p) for p in paths]
    # an average of an average keeps the inner runs under its first source
    nested = average([out, paths[1]], tmp_path / "soup2.safetensors")
    outer = json.loads(load_weights(nested)[2]["edgemef.sources"])
    assert [s["path"] for s in outer] == [str(out), str(paths[1])] and "sources" not in outer[1]
    assert [s["path"] for s in outer[0]["sources"]] == [str(p) for p in paths]


def test_mixed_networks_and_missing_files_are_one_line_errors(tmp_path, capsys):
    assert main([str(WEIGHTS / "densefuse.safetensors"), str(WEIGHTS / "twophase.safetensors"),
                 "-o", str(tmp_path / "x.safetensors")]) == 2
    assert "'twophase' weights" in capsys.readouterr().err
    assert main([str(WEIGHTS / "densefuse.safetensors"), str(tmp_path / "none.safetensors"),
                 "-o", str(tmp_path / "x.safetensors")]) == 2
    assert "no such weights file" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()
