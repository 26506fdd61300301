"""`edgemef fuse` and `edgemef demo` through click's CliRunner: exit codes, stdout, stderr."""
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from edgemef.cli import COMMANDS, cli
from edgemef.io import load_brackets, load_image
from tests.conftest import mefb_pairs


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), prog_name="edgemef")


def test_every_command_has_help():
    for name in COMMANDS:
        res = run(name, "--help")
        assert res.exit_code == 0, (name, res.output)
        assert "Usage:" in res.output and "--help" in res.output


def test_fuse_real_pair(mefb_dir, tmp_path):
    _, (a, b) = mefb_pairs()[3]
    out = tmp_path / "fused.png"
    res = run("fuse", b, a, "-o", out)
    assert res.exit_code == 0, res.output
    assert "with mertens" in res.stdout and "timings:" in res.stdout and "align" in res.stdout
    fused = load_image(out).image
    assert fused.shape == load_image(a).image.shape


def test_bad_inputs_give_one_line_errors(tmp_path, mefb_dir):
    _, (a, b) = mefb_pairs()[0]
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    cases = [
        ((a, "-o", tmp_path / "o.png"), "need 2 or 3"),
        ((a, tmp_path / "missing.png", "-o", tmp_path / "o.png"), "no such file"),
        ((a, tmp_path / "corrupt.jpg", "-o", tmp_path / "o.png"), "cannot decode"),
        ((a, a, "-o", tmp_path / "o.png"), "is given twice"),
        ((a, b, "-o", tmp_path / "nodir" / "o.png"), "does not exist"),
        ((a, b, "-o", tmp_path / "o.png", "--method", "nope"), "unknown method"),
        ((a, b, "-o", tmp_path / "o.png", "--tonemap", "reinhard"), "applies to HDR networks"),
        ((a, b, "-o", tmp_path / "o.png", "-m", "densefuse", "--tonemap", "reinhard"), "outputs a display image"),
    ]
    for args, message in cases:
        res = run("fuse", *args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.startswith("edgemef: error:") and message in res.stderr
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.output
    assert not (tmp_path / "o.png").exists()
    # a --tonemap left in the process's network options reaches only the HDR network
    from edgemef.fusion import get_method
    from edgemef.runtimes.methods import NETWORK_OPTIONS

    assert NETWORK_OPTIONS.get("tonemap") == "reinhard"
    ims = [b.image[:64, :64] for b in load_brackets([a, b])]
    assert get_method("densefuse")(ims).shape == (64, 64, 3)


def test_failed_run_keeps_existing_output(tmp_path, mefb_dir):
    _, (a, b) = mefb_pairs()[0]
    out = tmp_path / "o.png"
    out.write_bytes(b"previous result")
    res = run("fuse", a, tmp_path / "missing.png", "-o", out)
    assert res.exit_code == 2 and out.read_bytes() == b"previous result"


def test_mismatched_sizes(tmp_path, mefb_dir):
    (_, (a, _)), (_, (_, d)) = mefb_pairs()[0], mefb_pairs()[5]
    res = run("fuse", a, d, "-o", tmp_path / "o.png")
    assert res.exit_code == 2 and "sizes differ" in res.stderr


def test_demo_writes_fused_and_side_by_side(tmp_path):
    res = run("demo", "-o", tmp_path, "--method", "mertens")
    assert res.exit_code == 0, res.output
    sheets = sorted(tmp_path.glob("*_side_by_side.png"))
    fused = sorted(tmp_path.glob("*_mertens.png"))
    assert len(sheets) >= 3 and len(fused) == len(sheets)
    img = load_image(fused[0]).image
    assert 0.15 < float(np.mean(img)) < 0.85
    assert "timings:" in res.stdout
    assert res.stdout.splitlines()[-1] == (f"wrote {len(fused)} fused images and {len(sheets)} side-by-side "
                                           f"comparisons to {tmp_path}")
    quiet = run("demo", "-o", tmp_path / "q", "--method", "average", "-q")
    assert quiet.exit_code == 0 and quiet.stdout.count("\n") == 1 and quiet.stdout.startswith("wrote ")
    bad = run("demo", "-o", tmp_path / "x", "--method", "nosuch")
    assert bad.exit_code == 2 and "unknown method 'nosuch'" in bad.stderr and not (tmp_path / "x").exists()
    (tmp_path / "file").write_bytes(b"")
    bad = run("demo", "-o", tmp_path / "file" / "sub", "--method", "mertens")
    assert bad.exit_code == 2 and "cannot create the output folder" in bad.stderr and "Traceback" not in bad.output


def test_ctrl_c_exits_130_and_keeps_the_output(tmp_path, mefb_dir):
    from edgemef.fusion import METHODS, register_method

    def interrupted(images):
        raise KeyboardInterrupt

    _, (a, b) = mefb_pairs()[0]
    out = tmp_path / "o.png"
    out.write_bytes(b"previous result")
    register_method("test-ctrl-c", "test only: Ctrl-C while fusing", lambda: interrupted)
    try:
        res = run("fuse", a, b, "-o", out, "-m", "test-ctrl-c", "--no-align")
    finally:
        METHODS.pop("test-ctrl-c")
    assert res.exit_code == 130 and res.stderr == "edgemef: interrupted\n"
    assert out.read_bytes() == b"previous result"


def test_console_script_exit_code(tmp_path):
    exe = [sys.executable, "-c", "from edgemef.cli import main; main()"]
    p = subprocess.run(exe + ["fuse", "x.png", "y.png", "-o", str(tmp_path / "o.png")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.strip() == "edgemef: error: x.png: no such file"


def test_demo_with_every_method_runs_the_bundled_network(tmp_path):
    """The embedded default job: every registered method on every sample. The networks take two
    exposures: on the three-bracket sample they fuse its darkest and brightest and say so."""
    res = run("demo", "-o", tmp_path)
    assert res.exit_code == 0, res.output
    for net in ("densefuse", "twophase", "sthdr"):
        assert len(list(tmp_path.glob(f"*_{net}.png"))) == 3
        assert f"note: {net} fuses 2 exposures: it used the darkest and the brightest of the 3" in res.stdout
    assert "skipped" not in res.stdout
    assert len(list(tmp_path.glob("*_side_by_side.png"))) == 3


def test_a_two_exposure_network_given_three_fuses_the_extremes():
    from edgemef.fusion import fuse
    from edgemef.samples import sample_sets

    three = next(load_brackets(files) for _, files in sample_sets() if len(files) == 3)
    res = fuse(three, method="densefuse", align=False)
    direct = fuse([three[0], three[-1]], method="densefuse", align=False)
    assert res.notes == ["densefuse fuses 2 exposures: it used the darkest and the brightest of the 3 "
                         "(the middle one is left out)"]
    assert np.array_equal(res.image, direct.image)
    mertens = fuse(three, method="mertens", align=True)
    assert len(mertens.homographies) == 3 and not mertens.notes  # classical methods take all three


def test_options_that_would_do_nothing_are_refused(tmp_path, mefb_dir):
    """An option that cannot apply is an error, not silently ignored."""
    _, (a, b) = mefb_pairs()[0]
    o = tmp_path / "o.png"
    cases = [
        ((a, b, "-o", o, "--model", tmp_path / "m.onnx", "-m", "densefuse"), "--model and --method"),
        ((a, b, "-o", o, "--threads", "2"), "--threads applies to network methods"),
        ((a, b, "-o", o, "-m", "average", "--backend", "openvino"), "--backend applies to network methods"),
        ((a, b, "-o", o, "--frames", "5"), "--frames applies with --camera only"),
        ((a, b, "-o", o, "--display"), "--display applies with --camera only"),
        ((a, b, "-o", o, "--exposures", "100,200"), "--exposures applies with --camera only"),
        ((a, b, "-o", tmp_path / "o.jpg", "--bit-depth", "16"), "holds 8 bits"),
        ((a, b, "-o", tmp_path / "o.bmp", "--bit-depth", "16"), "holds 8 bits"),
        ((a, b, "-o", o, "--no-align", "--reference", "over"), "--reference applies when aligning"),
        ((a, b, "-o", o, "-m", "densefuse", "--threads", "99999"), "not in the range 1<=x<=256"),
    ]
    for args, message in cases:
        res = run("fuse", *args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.startswith("edgemef: error:") and message in res.stderr, (args, res.stderr)
        assert res.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())
    ok = run("fuse", a, b, "-o", tmp_path / "o16.png", "--bit-depth", "16", "-q")
    assert ok.exit_code == 0 and load_image(tmp_path / "o16.png").bit_depth == 16


def test_usage_errors_are_one_line():
    """click's own usage errors (bad option values, unknown options, a missing -o) also get one
    line on stderr with a pointer to --help, and exit code 2."""
    cases = [
        (("fuse", "a.png", "b.png", "-o", "x.png", "--threads", "0"), "'--threads'"),
        (("fuse", "a.png", "b.png"), "Missing option '-o'"),
        (("fuse", "a.png", "--nosuch"), "No such option '--nosuch'"),
        (("export", "--target", "onnx"), "Missing option '--model'"),
        (("nosuch",), "No such command 'nosuch'"),
    ]
    for args, message in cases:
        res = run(*args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.startswith("edgemef: error:") and message in res.stderr, (args, res.stderr)
        assert res.stderr.count("\n") == 1, res.stderr
        assert f"(see 'edgemef {args[0]} --help')" in res.stderr or args == ("nosuch",)


def test_a_tiled_network_fuse_shows_its_progress(tmp_path, mefb_dir):
    """An image above one network call's size is fused in tiles, with a bar on stderr."""
    import cv2

    _, (a, b) = mefb_pairs()[0]
    big = []
    for i, f in enumerate((a, b)):
        im = cv2.imread(str(f))
        big.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(big[-1]), cv2.resize(im, (1700, 1300), interpolation=cv2.INTER_LINEAR))
    res = run("fuse", *big, "-o", tmp_path / "o.png", "-m", "densefuse", "--no-align", "--threads", "2")
    assert res.exit_code == 0, res.output
    assert "densefuse tiles" in res.stderr and "2/2" in res.stderr
