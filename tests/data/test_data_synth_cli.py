"""`edgemef synth` end to end (CliRunner) and the bundled sample brackets."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgemef.cli import cli
from edgemef.data import item_seed, render_bracket_set
from edgemef.data.writer import read_set
from edgemef.io import find_bracket_sets, load_brackets, load_image
from edgemef.samples import SAMPLES_DIR


def _run(*args):
    return CliRunner().invoke(cli, ["synth", *map(str, args)])


def test_synth_writes_sets_eval_can_read(tmp_path):
    out = tmp_path / "synth"
    r = _run(out, "--count", 3, "--seed", 5, "--size", "48x64", "--ev-gap", 2, 4)
    assert r.exit_code == 0, r.output
    assert "wrote 3 sets (48x64, H x W)" in r.output
    sets = find_bracket_sets(out)
    assert [n for n, _ in sets] == ["0000", "0001", "0002"]
    for name, files in sets:
        assert sorted(f.name for f in files) == ["over.png", "under.png"]  # exactly the 2 brackets
        under, over = load_brackets(files)  # ordered darkest first
        assert under.path.endswith("under.png") and under.image.shape == (48, 64, 3)
        folder = out / name
        meta = json.loads((folder / "meta.json").read_text())
        t = meta["exposure_times"]
        assert t["under"] < t["ev0"] < t["over"] and 2.0 <= meta["ev_gap"] <= 4.0
        assert meta["seed"] == item_seed(5, int(name))
        for rel in meta["files"].values():
            assert (folder / rel).is_file()
        assert load_image(folder / "ref" / "label.png").image.shape == (48, 64, 3)
    # round trip: what is on disk is what the API renders (PNG is lossless on the 8-bit grid)
    back = read_set(out / "0001")
    fresh = render_bracket_set(item_seed(5, 1), (48, 64), (2.0, 4.0))
    assert np.array_equal(back.under, fresh.under) and np.array_equal(back.over, fresh.over)
    assert np.array_equal(back.ev0, fresh.ev0)
    assert np.abs(back.label - fresh.label).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(back.radiance, fresh.radiance) and back.exposure_times == fresh.exposure_times
    sheet = load_image(out / "contact_sheet.png").image
    assert sheet.shape[0] > 2 * sheet.shape[1] / 4 * 48 / 64  # three rows of 4 columns


def test_synth_refuses_non_empty_out_unless_overwrite(tmp_path):
    out = tmp_path / "o"
    assert _run(out, "--count", 2, "--size", "40x40", "-q").exit_code == 0
    r = _run(out, "--count", 1, "--size", "40x40")
    assert r.exit_code == 2 and "not empty" in r.output and "Traceback" not in r.output
    (out / "notes.txt").write_text("keep me")
    r = _run(out, "--count", 1, "--size", "40x40", "--overwrite", "-q")
    assert r.exit_code == 0, r.output
    assert [n for n, _ in find_bracket_sets(out)] == ["0000"]  # stale set 0001 removed
    assert (out / "notes.txt").read_text() == "keep me"        # foreign files kept


@pytest.mark.parametrize("args, message", [
    (["--size", "12x40"], "32..4096"),
    (["--size", "big"], "HxW"),
    (["--ev-gap", "4", "2"], "MIN <= MAX"),
    (["--count", "0"], "--count"),
])
def test_synth_rejects_bad_options(tmp_path, args, message):
    r = _run(tmp_path / "x", *args)
    assert r.exit_code == 2 and message in r.output


def test_synth_help_lists_options():
    r = _run("--help")
    assert r.exit_code == 0
    for opt in ("--count", "--seed", "--size", "--ev-gap", "--overwrite", "--contact-rows"):
        assert opt in r.output


def test_bundled_samples_are_small_varied_and_shaken():
    sets = find_bracket_sets(SAMPLES_DIR)
    assert len(sets) == 3 and sorted(len(f) for _, f in sets) == [2, 2, 3]
    total = sum(p.stat().st_size for p in SAMPLES_DIR.rglob("*.png"))
    assert total < 1.5e6
    assert "rendered by this project" in (SAMPLES_DIR / "README.md").read_text()
    for name, files in sets:
        frames = load_brackets(files)
        assert all(f.image.shape == (360, 480, 3) for f in frames)
        lum = [f.luminance for f in frames]
        assert lum == sorted(lum) and lum[-1] - lum[0] > 0.2
        # not registered: the best integer shift between darkest and brightest is not zero
        import cv2
        a, b = (cv2.Canny((np.clip(f.image.mean(2), 0, 1) * 255).astype(np.uint8), 30, 90).astype(np.float32)
                for f in (frames[0], frames[-1]))
        (dx, dy), _ = cv2.phaseCorrelate(cv2.GaussianBlur(a, (0, 0), 2), cv2.GaussianBlur(b, (0, 0), 2))
        shift_or_rotation = abs(dx) > 0.5 or abs(dy) > 0.5 or np.abs(a - b).mean() > 1.0
        assert shift_or_rotation, name


def test_bundled_samples_match_the_renderer():
    """The committed PNGs are what `python -m edgemef.data.make_samples` renders (one scene checked)."""
    from edgemef.data.make_samples import SAMPLES, render_sample

    s = next(s for s in SAMPLES if len(s.evs) == 2)
    frames = render_sample(s)
    for name, img in frames.items():
        disk = load_image(Path(SAMPLES_DIR) / s.name / f"{name}.png").image
        assert np.array_equal(disk, img), (s.name, name)
