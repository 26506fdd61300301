"""The de-ghosting study command: its metrics on hand-made images, and a tiny real run."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from edgemef.train import deghost_study as study  # noqa: E402

SHIPPED = "edgemef/assets/weights/densefuse.safetensors"


def test_motion_mask_covers_both_frames_and_dilates():
    a = {"under": np.zeros((40, 40), np.float32), "over": np.zeros((40, 40), np.float32)}
    a["under"][5:10, 5:10] = 1.0
    a["over"][20:25, 30:35] = 0.5
    m = study.motion_mask(a, dilate=2)
    assert m[7, 7] and m[22, 32] and m[4, 7] and not m[0, 0] and not m[15, 20]
    assert m.sum() > 50 + (2 * 5 * 4)  # grown beyond the two 5x5 squares


def test_masked_psnr_reads_only_the_masked_pixels():
    label = np.full((10, 10, 3), 0.5, np.float32)
    img = label.copy()
    img[:5] = 0.0  # wrong outside the mask
    mask = np.zeros((10, 10), bool)
    mask[5:] = True
    assert study.masked_psnr(img, label, mask) == float("inf")
    img[9, 9] = 0.6
    assert 30 < study.masked_psnr(img, label, mask) < 60


def test_study_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "study"
    rc = study.main(["--run", f"a={SHIPPED}", "--run", f"b={SHIPPED}", "--baselines", "mertens",
                     "--sets", "2", "--size", "176", "--crops", "2", "--out", str(out)])
    assert rc == 0
    rec = json.loads((out / "study.json").read_text())
    r = rec["results"]
    assert set(r) == {"a", "b", "mertens"}
    for kind in ("dynamic", "static"):
        assert r["a"][kind]["mean"] == r["b"][kind]["mean"]  # the same weights score the same
        assert r["a"][kind]["count"] == 2 and 5 < r["mertens"][kind]["mean"]["psnr"] < 60
        assert set(study.COLUMNS) <= set(r["a"][kind]["mean"])
    assert "| a |" in (out / "study.md").read_text() and (out / "crops.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "b vs a: dynamic +0.00 dB" in printed and "not met" in printed and "what if b lost its ghosts" in printed
    w = r["b"]["what_if"]  # the same weights: removing b's own ghosts can only help it over a
    assert 0.0 <= w["usable_ghosts_gone_db"] <= w["no_ghost_cost_db"] and "what_if" not in r["a"]
    assert r["a"]["ghost"] == r["b"]["ghost"] and set(study.REGIONS) <= set(r["mertens"]["ghost"])
    assert "ghost cost" in printed


def test_bad_run_argument_is_one_line_error(tmp_path, capsys):
    assert study.main(["--run", "noequals", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgemef: error: --run 'noequals'") and "\n" not in err


def test_ghost_split_puts_the_extra_error_where_it_is():
    from edgemef.train.synthetic_eval import LabelledSet

    h = w = 8
    label = np.full((h, w, 3), 0.5, np.float32)
    over = np.full((h, w, 3), 0.5, np.float32)
    over[:, :4] = 1.0  # left half of the reference clipped
    sets = [LabelledSet("s", [over * 0.1, over], [0.1, 1.0], label, None)]
    mask = np.zeros((h, w), bool)
    mask[:4] = True  # top half moves
    static_out = [label.copy()]
    dyn_out = label.copy()
    dyn_out[0, 0] = 0.6   # motion, reference clipped: error 25.5^2
    dyn_out[0, 6] = 0.7   # motion, reference usable: error 51^2
    split = study.ghost_split([dyn_out], static_out, sets, sets, [mask])
    total = 25.5 ** 2 + 51 ** 2
    assert split["motion, reference clipped"] == pytest.approx(25.5 ** 2 / total, rel=0.05)
    assert split["motion, reference usable"] == pytest.approx(51 ** 2 / total, rel=0.05)
    assert split["outside motion"] == 0.0 and split["clipped_motion_pixels"] == pytest.approx(16 / 64)
    # absolute: each pixel's extra 8-bit squared error (0.5 -> 128, 0.6 -> 153, 0.7 -> 178), over all 64 pixels
    assert split["extra_mse"] == {"motion, reference clipped": 25 ** 2 / 64, "motion, reference usable": 50 ** 2 / 64,
                                  "outside motion": 0.0}
    twice = study.ghost_split([dyn_out, label], static_out * 2, sets * 2, sets * 2, [mask, mask])
    assert twice["extra_mse"]["motion, reference usable"] == 50 ** 2 / 128  # a clean second set halves it
    assert study.ghost_split([label], static_out, sets, sets, [mask])["outside motion"] == 0.0  # no extra error


def test_tonemap_option_shows_one_run_of_an_hdr_network_another_way(tmp_path, capsys):
    """The same STHDR weights twice, one shown by exposure fusion instead of its own reference
    fusion: the scores differ, and a --tonemap that names no run, or no tone map, is refused."""
    st = "edgemef/assets/weights/sthdr.safetensors"
    out = tmp_path / "study"
    rc = study.main(["--run", f"own={st}", "--run", f"ef={st}", "--tonemap", "ef=exposure-fusion",
                     "--baselines", "", "--sets", "1", "--size", "176", "--crops", "1", "--threads", "2",
                     "--out", str(out)])
    assert rc == 0
    r = json.loads((out / "study.json").read_text())["results"]
    assert r["own"]["dynamic"]["mean"]["psnr"] != r["ef"]["dynamic"]["mean"]["psnr"]
    capsys.readouterr()
    for bad, msg in ((["--tonemap", "x=reinhard"], "names no --run: x"),
                     (["--tonemap", "own=drago"], "unknown tone map(s) drago"),
                     (["--tonemap", "own"], "--tonemap 'own': expected NAME=TONEMAP")):
        assert study.main(["--run", f"own={st}", *bad, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("edgemef: error:") and msg in err and "\n" not in err, err


def test_ghost_free_gain_replaces_the_regions_errors_by_the_static_twins():
    from edgemef.train.synthetic_eval import LabelledSet

    label = np.full((8, 8, 3), 0.5, np.float32)
    over = label.copy()
    over[:, :4] = 1.0  # left half of the reference clipped
    sets = [LabelledSet("s", [over * 0.1, over], [0.1, 1.0], label, None)]
    mask = np.zeros((8, 8), bool)
    mask[:4] = True
    static_out = label.copy()
    static_out[6, 6] = 0.6  # a static error outside the motion region: 25^2 / 64 MSE
    dyn_out = static_out.copy()
    dyn_out[0, 0] = 0.7  # ghost, reference clipped (50^2)
    dyn_out[0, 6] = 0.7  # ghost, reference usable (50^2)
    args = ([dyn_out], [dyn_out], [static_out], sets, sets, [mask])

    def db(sq):
        return 10 * np.log10(255.0 ** 2 / (sq / 64))

    assert study.ghost_free_gain(*args) == pytest.approx(db(625 + 2500) - db(625 + 5000))
    assert study.ghost_free_gain(*args, clipped_kept=0.0) == pytest.approx(db(625) - db(625 + 5000))
    assert study.ghost_free_gain([static_out], [static_out], [static_out], sets, sets, [mask]) == 0.0
