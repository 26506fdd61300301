"""Sinks: a video appears only when complete and playable; images are numbered; clear refusals."""
import os

import numpy as np
import pytest

from edgemef.camera.sinks import ImageSequenceSink, VideoSink, WindowSink, gui_problem, make_sinks
from edgemef.errors import EdgemefError
from edgemef.io import load_image
from tests.camera.conftest import read_video


def frames(n, h=48, w=64):
    return [np.full((h, w, 3), (i + 1) / (n + 1), np.float32) for i in range(n)]


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".mkv"])
def test_video_is_renamed_into_place_only_when_closed(tmp_path, suffix):
    out = tmp_path / f"v{suffix}"
    sink = VideoSink(out, fps=10)
    for f in frames(5):
        sink.write(f)
        assert not out.exists()  # only the hidden temporary file so far
    sink.close()
    sink.close()
    decoded = read_video(out)
    assert len(decoded) == 5 and decoded[0].shape == (48, 64, 3)
    assert decoded[0].mean() < decoded[-1].mean()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_video_without_frames_leaves_nothing_and_rejects_size_change(tmp_path):
    sink = VideoSink(tmp_path / "empty.mp4")
    sink.close()
    assert not list(tmp_path.iterdir())
    sink = VideoSink(tmp_path / "v.mp4")
    sink.write(frames(1)[0])
    with pytest.raises(EdgemefError, match="frame size changed"):
        sink.write(frames(1, 32, 32)[0])
    sink.close()
    assert len(read_video(tmp_path / "v.mp4")) == 1


def test_image_sequence(tmp_path):
    sink = ImageSequenceSink(str(tmp_path / "f_%03d.png"))
    for f in frames(3):
        sink.write(f)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f_000.png", "f_001.png", "f_002.png"]
    assert abs(float(load_image(tmp_path / "f_002.png").image.mean()) - 0.75) < 0.01


def test_refusals(tmp_path):
    cases = [
        ((tmp_path / "o.png", False), "-o is a video"),
        ((tmp_path / "o.mov", False), "-o is a video"),
        ((str(tmp_path / "o_%05d.xyz"), False), "images must end in"),
        ((str(tmp_path / "o_%05d_%05d.png"), False), "placeholder"),
        ((str(tmp_path / "nodir" / "o_%05d.png"), False), "does not exist"),
        ((None, False), "needs somewhere"),
    ]
    for args, message in cases:
        with pytest.raises(EdgemefError, match=message):
            make_sinks(*args)
    (tmp_path / "d.mp4").mkdir()
    with pytest.raises(EdgemefError, match="is a directory"):
        make_sinks(tmp_path / "d.mp4", False)


@pytest.mark.skipif(gui_problem() is None, reason="this machine can open windows")
def test_display_without_gui_is_a_clear_error():
    with pytest.raises(EdgemefError, match="^--display: (this OpenCV build has no window support|no display)"):
        WindowSink()
