"""`edgemef eval`: exit codes, stdout (CSV + mean table), stderr (progress, warnings, errors)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from edgemef.cli import cli
from edgemef.io import load_image
from edgemef.metrics import mef_ssim, qabf
from tests.conftest import mefb_pairs


def _run(*args):
    return CliRunner().invoke(cli, ["eval", *map(str, args)])


@pytest.fixture()
def pairs(tmp_path, mefb_dir) -> Path:
    """Two real scenes (symlinked, never copied) and one scene whose files are not images."""
    root = tmp_path / "pairs"
    for name, files in mefb_pairs()[:2]:
        (root / name).mkdir(parents=True)
        for f in files:
            (root / name / f.name).symlink_to(f)
    bad = root / "zz_broken"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"not a png")
    (bad / "b.png").write_bytes(b"nor this")
    return root


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_help_lists_options():
    res = _run("--help")
    assert res.exit_code == 0
    for opt in ("--pairs", "--method", "--no-align", "--save-dir", "--csv", "--metrics", "--max-pairs", "--limit",
                "--quiet", "mef_ssim"):
        assert opt in res.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pairs", "/nonexistent/pairs"], "not a directory"),
        (["--pairs", ".", "--method", "nope"], "unknown method(s) nope"),
        (["--pairs", ".", "--metrics", "mef_ssim,bogus"], "unknown metric(s) bogus"),
        (["--pairs", ".", "--metrics", "psnr"], "need ground-truth labels"),
        (["--pairs", ".", "--metrics", ""], "no metric named"),
        (["--pairs", ".", "--metrics", "foo"], "(choose from: mef_ssim, qabf, vif, ag, ei, sf, sd, en)"),
        (["--pairs", ".", "--csv", "/nonexistent/dir/out.csv"], "does not exist"),
        (["--pairs", ".", "--no-align", "--reference", "over"], "--reference applies when aligning"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message):
    res = _run(*args)
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgemef: error: ") and message in lines[0]


def test_csv_file_saved_images_and_mean_table(pairs, tmp_path):
    out_csv, save = tmp_path / "scores.csv", tmp_path / "fused"
    res = _run("--pairs", pairs, "--method", "mertens", "--method", "average", "--no-align",
               "--metrics", "mef_ssim,qabf,en", "--csv", out_csv, "--save-dir", save)
    assert res.exit_code == 0, res.output
    rows = _csv_rows(out_csv.read_text())
    assert [(r["scene"], r["method"]) for r in rows] == [
        (s, m) for s in [n for n, _ in mefb_pairs()[:2]] + ["zz_broken"] for m in ("mertens", "average")
    ]
    assert list(rows[0]) == ["scene", "method", "width", "height", "align_ms", "fuse_ms", "score_ms",
                             "mef_ssim", "qabf", "en", "error"]
    good, broken = rows[:4], rows[4:]
    assert all(r["error"] == "" and 0.8 < float(r["mef_ssim"]) < 1 and r["align_ms"] == "" for r in good)
    assert all("cannot decode" in r["error"] and r["mef_ssim"] == "" for r in broken)
    assert float(good[0]["mef_ssim"]) > float(good[1]["mef_ssim"])  # mertens beats the plain average

    # the saved PNG is exactly what was scored
    scene, files = mefb_pairs()[0]
    fused = cv2.imread(str(save / f"{scene}_mertens.png"), cv2.IMREAD_UNCHANGED)
    assert fused.dtype == "uint8"
    sources = [load_image(f).image for f in files]
    fused_rgb = cv2.cvtColor(fused, cv2.COLOR_BGR2RGB)
    assert mef_ssim(fused_rgb, sources) == pytest.approx(float(good[0]["mef_ssim"]), abs=1e-6)
    assert qabf(fused_rgb, sources) == pytest.approx(float(good[0]["qabf"]), abs=1e-6)

    # stdout: no CSV (it went to the file), a side-by-side mean table; stderr: progress + warnings
    assert "scene,method" not in res.stdout
    table = res.stdout.splitlines()
    header = next(line for line in table if line.startswith("metric"))
    assert header.split() == ["metric", "mertens", "average"]
    mef_line = next(line for line in table if line.startswith("mef_ssim")).split()
    mean_m = (float(good[0]["mef_ssim"]) + float(good[2]["mef_ssim"])) / 2
    assert float(mef_line[1]) == pytest.approx(mean_m, abs=1e-4)
    assert next(line for line in table if line.startswith("sets ok")).split()[2:] == ["2/3", "2/3"]
    assert "4 of 6 fusion(s) scored (2 failed)" in res.stdout
    assert "eval" in res.stderr and "6/6" in res.stderr  # the tqdm bar
    assert res.stderr.count("warning: zz_broken") == 2


def test_csv_to_stdout_with_alignment_and_limit(pairs):
    res = _run("--pairs", pairs, "--limit", "1", "--metrics", "qabf")
    assert res.exit_code == 0, res.output
    rows, table = _csv_rows(res.stdout), res.stderr  # stdout is the CSV alone
    assert len(rows) == 1 and rows[0]["method"] == "mertens" and rows[0]["error"] == ""
    assert float(rows[0]["align_ms"]) > 0 and 0.3 < float(rows[0]["qabf"]) < 1
    assert "mean over 1 bracket set(s)" in table and "qabf" in table
    assert "eval" in res.stderr  # the progress bar
    quiet = _run("--pairs", pairs, "--max-pairs", "1", "--metrics", "qabf", "-q")  # bench's name for --limit
    assert quiet.exit_code == 0 and [r["scene"] for r in _csv_rows(quiet.stdout)] == [rows[0]["scene"]]
    assert "fusion/s" not in quiet.stderr and "fusion/s" in res.stderr and "mean over 1" in quiet.stderr


def test_every_set_failing_exits_2(tmp_path):
    bad = tmp_path / "only_bad" / "scene"
    bad.mkdir(parents=True)
    (bad / "a.jpg").write_bytes(b"x")
    (bad / "b.jpg").write_bytes(b"y")
    res = _run("--pairs", tmp_path / "only_bad", "--no-align")
    assert res.exit_code == 2
    assert "scene,mertens" in res.stdout  # the CSV still lists the failure
    assert res.stderr.strip().splitlines()[-1] == "edgemef: error: all 1 fusion(s) failed"


def test_eval_scores_an_exported_artifact_and_names_skipped_folders(pairs, tmp_path):
    """--model evaluates an artifact as `fuse --model` runs it (here the bundled DenseFuse ONNX,
    whose scores must then equal -m densefuse's); a folder that is not a 2-3 bracket set is named."""
    import shutil

    from edgemef.runtimes.methods import WEIGHTS_DIR

    art = tmp_path / "df.onnx"
    shutil.copyfile(WEIGHTS_DIR / "densefuse.onnx", art)
    (pairs / "lonely").mkdir()
    (pairs / "lonely" / "only.png").write_bytes(b"x")
    res = _run("--pairs", pairs, "-m", "densefuse", "--model", art, "--max-pairs", "1", "--metrics", "mef_ssim",
               "--no-align", "--threads", "1", "-q")
    assert res.exit_code == 0, res.output
    rows = _csv_rows(res.stdout)
    assert [r["method"] for r in rows] == ["densefuse", "model:df.onnx"]
    assert rows[0]["mef_ssim"] == rows[1]["mef_ssim"] and 0.8 < float(rows[0]["mef_ssim"]) < 1
    assert "note: skipped 1 folder(s) that are not 2-3 bracket sets: lonely (1 image)" in res.stderr
    bad = _run("--pairs", pairs, "--model", tmp_path / "missing.onnx")
    assert bad.exit_code == 2 and bad.stderr.startswith("edgemef: error:") and "missing.onnx" in bad.stderr
    assert "--threads applies" in _run("--pairs", pairs, "--threads", "2").stderr


def test_eval_keeps_two_artifacts_of_the_same_file_name_apart(pairs, tmp_path):
    """Two runs each write densefuse.safetensors: `--model a/x --model b/x` must score both, not
    the second twice under one column (it did until stop 24). Here two different networks."""
    import shutil

    from edgemef.runtimes.methods import WEIGHTS_DIR

    for sub, src in (("a", "densefuse.onnx"), ("b", "twophase.onnx")):
        (tmp_path / sub).mkdir()
        shutil.copyfile(WEIGHTS_DIR / src, tmp_path / sub / "same_name.onnx")
    a, b = tmp_path / "a" / "same_name.onnx", tmp_path / "b" / "same_name.onnx"
    res = _run("--pairs", pairs, "--model", a, "--model", b, "--model", a, "--save-dir", tmp_path / "out",
               "--max-pairs", "1", "--metrics", "mef_ssim", "--no-align", "--threads", "1", "-q")
    assert res.exit_code == 0, res.output
    rows = _csv_rows(res.stdout)
    assert [r["method"] for r in rows] == ["model:a/same_name.onnx", "model:b/same_name.onnx"]
    assert rows[0]["mef_ssim"] != rows[1]["mef_ssim"]  # each column ran its own network
    scene = rows[0]["scene"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"{scene}_model:a_same_name.onnx.png", f"{scene}_model:b_same_name.onnx.png"]


def test_artifact_names_take_the_shortest_tail_that_tells_the_files_apart(tmp_path):
    """The names are per call (they were module state until stop 25, so one test's artifact
    renamed the next test's same-named one), and one file named twice keeps one name."""
    from edgemef.runtimes.methods import artifact_names

    x, y, z = tmp_path / "r1" / "w" / "m.onnx", tmp_path / "r2" / "w" / "m.onnx", tmp_path / "k.onnx"
    assert artifact_names([z]) == ["model:k.onnx"]
    assert artifact_names([x, z, y, x]) == ["model:r1/w/m.onnx", "model:k.onnx", "model:r2/w/m.onnx",
                                            "model:r1/w/m.onnx"]
    assert artifact_names([x]) == ["model:m.onnx"]  # a later call does not remember the earlier one
