"""Exposure scheduling, the read-back and brightness checks, and pairing, over recorded sequences;
plus the pure parts of the V4L2 and Jetson sources (no camera on this machine)."""
import numpy as np
import pytest

from edgemef.camera.exposure import (ExposureSchedule, Pairer, brighter_enough, detect_parity, exposure_matches,
                                     parse_exposures)
from edgemef.camera.frames import Frame, FrameChecker
from edgemef.camera.gstreamer import JetsonSource, gst_error, is_live, jetson_pipeline, launch_args, parse_caps
from edgemef.camera.sources import SourceOptions, open_source
from edgemef.camera.v4l2 import V4L2Source, exposure_units, v4l2_ctl_commands
from edgemef.errors import EdgemefError

EMPTY = np.empty(0, np.uint8)


def recorded(rows):
    """Frames from (label, requested, reported, luma) rows, as a camera log would give them."""
    return [Frame(EMPTY, i, label=lab, requested=req, reported=rep, luma=luma)
            for i, (lab, req, rep, luma) in enumerate(rows)]


def run_pairer(frames, labeled):
    p = Pairer(labeled)
    pairs = [pair for f in frames for pair in p.push(f)] + p.finish()
    return [(a.index, b.index) for a, b in pairs], dict(p.rejected), p


def test_schedule_alternates_short_first_and_validates():
    s = ExposureSchedule(20, 160, settle=1)
    assert [s.next() for _ in range(4)] == [("short", 20), ("long", 160), ("short", 20), ("long", 160)]
    for bad in ((160, 20), (0, 10), (10, 10)):
        with pytest.raises(EdgemefError, match="short < long"):
            ExposureSchedule(*bad)
    assert parse_exposures("2000,16000") == (2000.0, 16000.0)
    for bad in ("2000", "a,b", "16000,2000"):
        with pytest.raises(EdgemefError):
            parse_exposures(bad)


def test_readback_and_brightness_checks():
    assert exposure_matches(20, 20) and exposure_matches(200, 205) and exposure_matches(20, None)
    assert not exposure_matches(20, 160) and not exposure_matches(200, 230)
    assert brighter_enough(0.10, 0.40) and brighter_enough(0.85, 0.97)
    assert not brighter_enough(0.40, 0.41)  # one exposure plus sensor noise
    assert not brighter_enough(0.40, 0.10)  # the wrong order
    assert not brighter_enough(0.005, 0.02)  # ratio large, gap too small to trust


def test_parity_detected_from_brightness():
    dark, bright = 0.12, 0.55
    assert detect_parity([dark, bright] * 3) == 0
    assert detect_parity([bright, dark] * 3) == 1
    with pytest.raises(EdgemefError, match="does not alternate"):
        detect_parity([0.3, 0.31, 0.3, 0.29, 0.3, 0.3])


def test_unlabeled_stream_repairs_after_dropped_and_repeated_frames():
    # S L S L | S S(dropped L) L | L(repeated) S L | S L
    lumas = [0.1, 0.5, 0.1, 0.5, 0.1, 0.1, 0.5, 0.5, 0.1, 0.5, 0.1, 0.5]
    pairs, rejected, p = run_pairer(recorded([(None, None, None, v) for v in lumas]), labeled=False)
    assert pairs == [(0, 1), (2, 3), (5, 6), (8, 9), (10, 11)]
    assert rejected == {"alternation": 2}
    assert p.parity == 0 and len(p.warnings) == 2 and "re-pairing" in p.warnings[0]


def test_unlabeled_stream_starting_with_a_long_frame():
    lumas = [0.5, 0.1, 0.5, 0.1, 0.5, 0.1, 0.5, 0.1]
    pairs, rejected, p = run_pairer(recorded([(None, None, None, v) for v in lumas]), labeled=False)
    assert p.parity == 1 and pairs == [(1, 2), (3, 4), (5, 6)]
    assert rejected == {"before first short frame": 1, "unpaired": 1}


def test_labeled_stream_drops_readback_mismatch_and_late_exposure():
    # a V4L2 log: requested / reported (100 us units) / luma; frame 2's read-back says the driver
    # still held the long value; frames 6-7: the long request was not applied yet (same brightness)
    rows = [
        ("short", 20, 20, 0.10), ("long", 160, 160, 0.52),
        ("short", 20, 160, 0.50), ("long", 160, 160, 0.51),
        ("short", 20, 20, 0.11), ("long", 160, 160, 0.50),
        ("short", 20, 20, 0.10), ("long", 160, 160, 0.10),
        ("short", 20, 20, 0.10), ("long", 160, 160, 0.49),
    ]
    pairs, rejected, p = run_pairer(recorded(rows), labeled=True)
    assert pairs == [(0, 1), (4, 5), (8, 9)]
    assert rejected == {"exposure read-back": 1, "unpaired": 1, "brightness": 2}
    assert any("device reports 160" in w for w in p.warnings)


def test_warnings_are_capped_but_all_drops_counted():
    lumas = [0.1, 0.5] * 3 + [0.3] * 10
    pairs, rejected, p = run_pairer(recorded([(None, None, None, v) for v in lumas]), labeled=False)
    assert len(pairs) == 3 and rejected["alternation"] == 9 and rejected["unpaired"] == 1
    assert len([w for w in p.warnings if "frame" in w]) == 3 + 1  # 3 alternation + 1 unpaired
    assert "only counted" in p.warnings[2]


def test_a_camera_ignoring_the_requested_exposure_ends_the_stream():
    rows = [("short", 20, 20, 0.10), ("long", 160, 160, 0.52)] + [("short", 20, 33, 0.3), ("long", 160, 33, 0.3)] * 20
    p = Pairer(labeled=True, max_unpaired=30)
    with pytest.raises(EdgemefError, match="no valid short/long pair in the last 31 frames.*device reports 33"):
        for f in recorded(rows):
            p.push(f)
    assert p.rejected["exposure read-back"] == 31


def test_frame_checker_rejects_garbage():
    rng = np.random.default_rng(0)
    good = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    c = FrameChecker("cam", max_constant=4)
    c.check(Frame(good, 0))
    with pytest.raises(EdgemefError, match="is 32x48, earlier frames were 64x48"):
        c.check(Frame(good[:, :32], 1))
    with pytest.raises(EdgemefError, match="empty"):
        FrameChecker("cam").check(Frame(EMPTY, 0))
    with pytest.raises(EdgemefError, match="8-bit 3-channel"):
        FrameChecker("cam").check(Frame(good[..., 0], 0))
    # saturated long frames between textured short ones are fine ...
    c = FrameChecker("cam", max_constant=4)
    for i in range(10):
        c.check(Frame(good if i % 2 == 0 else np.full_like(good, 255), i))
    # ... a run of constant frames is not
    with pytest.raises(EdgemefError, match="4 all-constant frames in a row"):
        for i in range(10):
            c.check(Frame(np.full_like(good, 7), i))


def test_v4l2_units_commands_and_missing_device():
    assert exposure_units(2000) == 20 and exposure_units(16000) == 160 and exposure_units(10) == 1
    cmds = v4l2_ctl_commands("/dev/video2", "exposure", 160)
    assert cmds[0] == ["v4l2-ctl", "-d", "/dev/video2", "--set-ctrl=exposure_time_absolute=160"]
    assert cmds[1][-1] == "--set-ctrl=exposure_absolute=160"
    assert v4l2_ctl_commands("/dev/video2", "auto", 1)[0][-1] == "--set-ctrl=auto_exposure=1"
    src = open_source("/dev/video9", SourceOptions(exposures=(2000, 16000)))
    assert isinstance(src, V4L2Source) and src.schedule.next() == ("short", 20)
    with pytest.raises(EdgemefError, match="/dev/video9: no such camera device"):
        src.open()
    with pytest.raises(EdgemefError, match="round to the same V4L2 value"):
        V4L2Source("/dev/video0", SourceOptions(exposures=(2000, 2010)))


def test_jetson_pipeline_and_command_line():
    pipe = jetson_pipeline(1, 2_000_000, (1280, 720), 60, num_buffers=3)
    assert pipe.startswith("nvarguscamerasrc sensor-id=1 num-buffers=3 aelock=true")
    assert 'exposuretimerange="2000000 2000000"' in pipe and 'gainrange="1 1"' in pipe
    assert "video/x-raw(memory:NVMM),width=1280,height=720,framerate=60/1 ! nvvidconv" in pipe
    args = launch_args(pipe, fd=7)
    assert args[:3] == ["gst-launch-1.0", "-v", "nvarguscamerasrc"]
    assert "exposuretimerange=2000000 2000000" in args  # one argument, as a shell passes it
    assert args[-3:] == ["name=edgemef_sink", "fd=7", "sync=false"]
    src = open_source("jetson:0", SourceOptions(exposures=(1000, 8000), fps=30))
    assert isinstance(src, JetsonSource) and src.live and src.labeled
    assert src.schedule.next() == ("short", 1_000_000)
    with pytest.raises(EdgemefError, match="exceeds the frame time"):
        open_source("jetson:0", SourceOptions(exposures=(1000, 40000), fps=30))
    assert is_live(pipe) and is_live("v4l2src ! videoconvert") and not is_live("filesrc location=a.mkv ! decodebin")


def test_gst_text_parsing():
    caps = ("video/x-raw, format=(string)BGR, width=(int)321, height=(int)240, framerate=(fraction)30/1, "
            "pixel-aspect-ratio=(fraction)1/1")
    assert parse_caps(caps) == (321, 240, 30.0)
    assert parse_caps(caps.replace("30/1", "0/1"))[2] is None
    with pytest.raises(EdgemefError):
        parse_caps("video/x-raw, format=(string)NV12, width=(int)2, height=(int)2")
    log = ["ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.",
           "Additional debug info:", "../gstfilesrc.c(553): gst_file_src_start (): /GstPipeline:pipeline0:",
           'No such file "/x"', "ERROR: pipeline doesn't want to preroll."]
    assert gst_error(log) == 'Resource not found. (No such file "/x")'
    assert gst_error(['WARNING: erroneous pipeline: no element "foo"']) == 'no element "foo"'


def test_source_syntax(tmp_path):
    with pytest.raises(EdgemefError, match="not found: give /dev/videoN"):
        open_source(str(tmp_path / "missing.mp4"))
    with pytest.raises(EdgemefError, match="expected jetson:N"):
        open_source("jetson:x")
