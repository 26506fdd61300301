"""The real camera loop on generated alternating-exposure recordings: output, status, drop policy,
throughput vs the slowest stage, and Ctrl-C."""
import os
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edgemef.camera.pipeline import LoopConfig, run_camera
from edgemef.camera.sinks import ImageSequenceSink, VideoSink
from edgemef.camera.sources import VideoFileSource
from edgemef.cli import cli
from edgemef.fusion import METHODS, fuse_average, register_method
from tests.camera.conftest import REPO_ROOT, SIZE, alternating_frames, read_video, write_video


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def luma(bgr: np.ndarray) -> float:
    return float(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).mean()) / 255.0


def test_cli_fuses_alternating_video_with_alignment(alt_video, tmp_path):
    out = tmp_path / "fused.mp4"
    res = run("fuse", "--camera", alt_video, "-o", out, "--status-every", "0.2")
    assert res.exit_code == 0, res.output
    fused = read_video(out)
    assert len(fused) == 12 and fused[0].shape == (SIZE[1], SIZE[0], 3)
    inputs = read_video(alt_video)
    under = np.mean([luma(f) for f in inputs[0::2]])
    over = np.mean([luma(f) for f in inputs[1::2]])
    got = np.mean([luma(f) for f in fused])
    print(f"mean luma: under {under:.3f}, over {over:.3f}, fused {got:.3f}")
    assert under + 0.05 < got < over - 0.05
    assert "12 pairs captured, 12 fused, 0 dropped" in res.stdout and "stopped by end of stream" in res.stdout
    assert re.search(r"median per stage: capture [\d.]+ ms, align [\d.]+ ms, fuse [\d.]+ ms, output [\d.]+ ms",
                     res.stdout)
    assert "slowest stage: " in res.stdout and f"wrote 12 fused frames to {out}" in res.stdout
    assert "even frames are the short exposures" in res.stderr
    assert re.search(r"camera: +[\d.]+ s \| pairs \d+ captured, \d+ fused", res.stderr)  # status lines
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_odd_parity_dropped_frame_and_image_sequence(tmp_path):
    frames = alternating_frames(7)
    frames = frames[1:9] + frames[10:]  # starts with a long frame; recorded frame 9 (a long one) lost
    video = write_video(tmp_path / "odd.avi", frames)
    res = run("fuse", "--camera", video, "-o", tmp_path / "img_%04d.png", "--no-align", "--method", "average")
    assert res.exit_code == 0, res.output
    written = sorted(p.name for p in tmp_path.glob("img_*.png"))
    assert written == [f"img_{i:04d}.png" for i in range(5)]
    assert "odd frames are the short exposures" in res.stderr
    assert "warning: dropped frame 7: frame 8" in res.stderr and "re-pairing" in res.stderr
    assert "5 fused" in res.stdout and "2 frames rejected (alternation 1, before first short frame 1)" in res.stdout


def test_frame_limit_and_bad_camera_options(alt_video, tmp_path):
    res = run("fuse", "--camera", alt_video, "-o", tmp_path / "a.avi", "--frames", "3", "--no-align")
    assert res.exit_code == 0, res.output
    assert len(read_video(tmp_path / "a.avi")) == 3 and "stopped by frame limit" in res.stdout
    one = run("fuse", "--camera", alt_video, "-o", tmp_path / "b.avi", "--frames", "1", "--no-align")
    assert one.exit_code == 0 and "1 fused" in one.stdout, one.output
    assert "0.00 fps" not in one.stdout and "throughput n/a (1 fused; a rate needs two)" in one.stdout
    cases = [
        (("x.png", "--camera", alt_video, "-o", tmp_path / "o.mp4"), "takes no IMAGES"),
        (("--camera", alt_video, "-o", tmp_path / "o.png"), "-o is a video"),
        (("--camera", alt_video, "-o", tmp_path / "o_%d_%d.png"), "placeholder"),
        (("--camera", alt_video), "needs somewhere to put"),
        (("--camera", alt_video, "-o", tmp_path / "nodir" / "o.mp4"), "does not exist"),
        (("--camera", "/dev/video7", "-o", tmp_path / "o.mp4"), "no such camera device"),
        (("--camera", "/dev/video7", "-o", tmp_path / "o.mp4", "--exposures", "9,3"), "short < long"),
        (("--camera", alt_video, "-o", tmp_path / "o.mp4", "--exposures", "100,200"), "not a video file"),
        (("--camera", alt_video, "-o", tmp_path / "o.mp4", "--size", "640x480"), "--size applies to V4L2"),
        (("--camera", "gst:videotestsrc", "-o", tmp_path / "o.mp4", "--fps", "60"), "not a gst: pipeline"),
        (("--camera", alt_video, "-o", tmp_path / "o_%03d.tif", "--bit-depth", "16"), "camera outputs are 8-bit"),
    ]
    for args, message in cases:
        res = run("fuse", *args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.stderr and res.stderr.startswith("edgemef: error:"), (args, res.stderr)
    assert not list(tmp_path.glob("o*"))


@pytest.fixture
def sleepy_method():
    def sleepy(images):
        time.sleep(0.1)
        return fuse_average(images)

    register_method("test-sleep-100ms", "test only: average after sleeping 100 ms", lambda: sleepy)
    yield "test-sleep-100ms"
    METHODS.pop("test-sleep-100ms")


def test_throughput_is_set_by_the_slowest_stage(sleepy_method, tmp_path):
    def sleepy_align(images, reference):
        time.sleep(0.06)
        return images

    video = write_video(tmp_path / "alt20.avi", alternating_frames(20))
    lines = []
    cfg = LoopConfig(method=sleepy_method, align=sleepy_align)
    s = run_camera(VideoFileSource(video), [VideoSink(tmp_path / "out.mp4")], cfg, lines.append)
    total = sum(s.median_ms.values()) / 1e3
    print("\n".join(s.lines()))
    print(f"pipelined {s.fps:.2f} fps; slowest stage ({s.slowest}) allows {s.capacity:.2f} fps; "
          f"stages in sequence would give {1 / total:.2f} fps")
    assert s.fused == 20 and s.slowest == "fuse" and s.stopped_by == "end of stream"
    assert s.fps > 1.3 / total
    assert len(read_video(tmp_path / "out.mp4")) == 20


def test_drop_oldest_keeps_counts_consistent(sleepy_method, alt_video, tmp_path):
    cfg = LoopConfig(method=sleepy_method, align=False, drop_policy="drop-oldest", queue_size=1)
    s = run_camera(VideoFileSource(alt_video), [ImageSequenceSink(str(tmp_path / "f_%03d.png"))], cfg, lambda _: None)
    print("\n".join(s.lines()))
    assert s.dropped > 0 and s.fused + s.dropped == s.captured == 12
    assert len(list(tmp_path.glob("f_*.png"))) == s.fused


def _ctrl_c_default():
    """In the child: SIGINT back to its default. A shell starts background jobs (``pytest &``)
    with SIGINT ignored, children inherit that, and Python then installs no Ctrl-C handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_leaves_a_playable_video(tmp_path):
    video = write_video(tmp_path / "long.avi", alternating_frames(600))  # long enough to outlast a loaded machine's first status line
    out = tmp_path / "out.mp4"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", "from edgemef.cli import main; main()", "fuse", "--camera", str(video), "-o", str(out),
                             "--status-every", "0.2"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_default)
    deadline = time.time() + 120  # a loaded machine can take long to fuse the first frame
    for line in proc.stderr:  # wait until frames are flowing
        if re.search(r"[1-9]\d* fused", line) or time.time() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, (stdout, stderr)
    assert "stopped by Ctrl-C" in stdout and "Traceback" not in stderr
    n = int(re.search(r"wrote (\d+) fused frames?\b", stdout).group(1))  # "1 fused frame" when loaded
    assert 0 < n < 600 and len(read_video(out)) == n


def test_a_file_that_is_not_a_video_gives_one_line_and_no_ffmpeg_noise(tmp_path):
    """FFmpeg logs from C straight to fd 2, so this runs the console script in a subprocess."""
    fake = tmp_path / "text.png"
    fake.write_bytes(b"hello, not an image")
    exe = [sys.executable, "-c", "from edgemef.cli import main; main()"]
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    p = subprocess.run(exe + ["fuse", "--camera", str(fake), "-o", str(tmp_path / "o.mp4")],
                       capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == f"edgemef: error: {fake}: no frame could be decoded\n"
