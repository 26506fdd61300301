"""GStreamer sources: any pipeline, and Jetson CSI sensors through ``nvarguscamerasrc``.

The pip build of OpenCV has no GStreamer backend, so a pipeline runs as a real ``gst-launch-1.0``
process: the user's pipeline is followed by ``videoconvert ! videoscale ! video/x-raw,format=BGR
! fdsink fd=N`` (a pipe), raw frames are read from that pipe, and the negotiated size and frame rate come
from the caps ``gst-launch-1.0 -v`` prints for the sink. Rows of BGR frames are padded to 4 bytes
in GStreamer's layout; the padding is stripped.
"""
from __future__ import annotations

import os
import re
import select
import shlex
import shutil
import subprocess
import threading
import time
from collections import deque

import numpy as np

from edgemef.camera.exposure import ExposureSchedule
from edgemef.camera.frames import Frame
from edgemef.camera.sources import FrameSource, SourceOptions
from edgemef.errors import EdgemefError

GST_LAUNCH = "gst-launch-1.0"
STARTUP_TIMEOUT = 10.0  # seconds a pipeline may take to deliver its first frame
SINK = "edgemef_sink"
FRAME_FD = 3
LIVE_HINTS = ("v4l2src", "nvarguscamerasrc", "libcamerasrc", "rtspsrc", "udpsrc", "srtsrc", "souphttpsrc",
              "is-live=true")
_CAPS = re.compile(rf"{SINK}\.GstPad:sink: caps = (.*)$")


def gst_available() -> bool:
    """Whether ``gst-launch-1.0`` is on PATH."""
    return shutil.which(GST_LAUNCH) is not None


def launch_args(pipeline: str, size: tuple[int, int] | None = None, fd: int = FRAME_FD) -> list[str]:
    """The ``gst-launch-1.0`` command line that runs ``pipeline`` and writes BGR frames to ``fd``."""
    caps = "video/x-raw,format=BGR" + (f",width={size[0]},height={size[1]}" if size else "")
    tail = f"videoconvert ! videoscale ! {caps} ! fdsink name={SINK} fd={fd} sync=false"
    try:  # gst-launch-1.0 escapes spaces inside each argument: split like a shell would
        return [GST_LAUNCH, "-v", *shlex.split(f"{pipeline} ! {tail}")]
    except ValueError as e:
        raise EdgemefError(f"gst: cannot parse pipeline ({e})") from None


def parse_caps(text: str) -> tuple[int, int, float | None]:
    """(width, height, fps or None) from a caps string printed by ``gst-launch-1.0 -v``."""
    w = re.search(r"width=\(int\)(\d+)", text)
    h = re.search(r"height=\(int\)(\d+)", text)
    if not (w and h) or "format=(string)BGR" not in text:
        raise EdgemefError(f"unexpected caps from GStreamer: {text[:200]}")
    rate = re.search(r"framerate=\(fraction\)(\d+)/(\d+)", text)
    fps = int(rate.group(1)) / int(rate.group(2)) if rate and int(rate.group(2)) and int(rate.group(1)) else None
    return int(w.group(1)), int(h.group(1)), fps


def gst_error(lines: list[str]) -> str:
    """The one-line gist of ``gst-launch-1.0``'s error output."""
    for i, line in enumerate(lines):
        if line.startswith("WARNING: erroneous pipeline:"):
            return line.split(":", 2)[2].strip()
        if line.startswith("ERROR: from element"):
            msg = line.rsplit(": ", 1)[-1].strip()
            detail = lines[i + 3].strip() if i + 3 < len(lines) and "debug info" in lines[i + 1] else ""
            return f"{msg} ({detail})" if detail else msg
    tail = [ln for ln in lines if ln.strip()]
    return tail[-1].strip() if tail else "no error message"


def is_live(pipeline: str) -> bool:
    """Whether a pipeline reads a live device (heuristic on its elements)."""
    return any(h in pipeline for h in LIVE_HINTS)


class GstSource(FrameSource):
    """Frames from a GStreamer pipeline run by ``gst-launch-1.0``.

    Args:
        pipeline: everything before the conversion to BGR, e.g. ``videotestsrc num-buffers=40``.
        size: (width, height) to scale to, or None to keep the negotiated size.
        timeout: seconds without a frame before the source counts as stalled.
    """

    labeled = False

    def __init__(self, pipeline: str, size: tuple[int, int] | None = None, timeout: float = 5.0):
        if not pipeline:
            raise EdgemefError("gst: empty pipeline (use gst:'videotestsrc ! ...')")
        self.pipeline = pipeline
        self.size = size
        self.timeout = timeout
        self.live = is_live(pipeline)
        self.name = f"gst:{pipeline.split('!')[0].strip()}"
        self._proc: subprocess.Popen | None = None
        self._fd: int | None = None
        self._caps = threading.Event()
        self._shape: tuple[int, int, int] | None = None  # (height, width, row stride in bytes)
        self._stderr: deque = deque(maxlen=40)
        self._threads: list[threading.Thread] = []
        self._index = 0

    def open(self) -> None:
        if not gst_available():
            raise EdgemefError(f"{GST_LAUNCH} not found: install gstreamer1.0-tools (GStreamer sources need it)")
        r, w = os.pipe()
        try:  # pass_fds keeps the pipe's write end at the same number in the child: fdsink fd=<w>
            self._proc = subprocess.Popen(
                launch_args(self.pipeline, self.size, fd=w), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(w,), start_new_session=True,
            )
        except BaseException as e:
            os.close(r)
            if isinstance(e, OSError):
                raise EdgemefError(f"{self.name}: cannot start {GST_LAUNCH} ({e.strerror})") from None
            raise
        finally:
            os.close(w)
        self._fd = r
        for stream, fn in ((self._proc.stdout, self._watch_stdout), (self._proc.stderr, self._watch_stderr)):
            t = threading.Thread(target=fn, args=(stream,), daemon=True)
            t.start()
            self._threads.append(t)

    def _watch_stdout(self, stream) -> None:
        with stream:
            self._scan_stdout(stream)

    def _scan_stdout(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            m = _CAPS.search(raw.decode(errors="replace").rstrip())
            if m and not self._caps.is_set():
                try:
                    w, h, fps = parse_caps(m.group(1))
                except EdgemefError as e:
                    self._stderr.append(f"ERROR: {e}")
                    continue
                self._shape, self.fps = (h, w, (w * 3 + 3) & ~3), fps
                self._caps.set()

    def _watch_stderr(self, stream) -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                self._stderr.append(raw.decode(errors="replace").rstrip())

    def _ended(self) -> None:
        """The process closed its frame pipe: return on a clean end of stream, else raise."""
        try:
            rc = self._proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            rc = None
        if rc:
            for t in self._threads:
                t.join(timeout=1.0)
            lines = list(self._stderr)
            why = gst_error(lines) if any(ln.strip() for ln in lines) else "no error message"
            raise EdgemefError(f"{self.name}: {why} ({GST_LAUNCH} exited with status {rc}; camera gone?)")

    def read(self) -> Frame | None:
        if self._proc is None or self._fd is None:
            raise EdgemefError(f"{self.name}: read before open")
        # Starting a pipeline (and a sensor) takes longer than the gap between two frames: the
        # first frame gets STARTUP_TIMEOUT at least, later frames the stall timeout.
        start_deadline = time.monotonic() + max(self.timeout, STARTUP_TIMEOUT)
        while not self._caps.is_set():
            if self._proc.poll() is not None:
                self._caps.wait(0.5)  # the caps line may still be in the pipe
                if not self._caps.is_set():
                    self._ended()
                    return None
            if time.monotonic() > start_deadline:
                raise EdgemefError(f"{self.name}: no frame within {max(self.timeout, STARTUP_TIMEOUT):g} s "
                                   "of starting (stalled)")
            self._caps.wait(0.05)
        h, w, stride = self._shape
        need = h * stride
        deadline = start_deadline if self._index == 0 else time.monotonic() + self.timeout
        buf = bytearray()
        while len(buf) < need:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EdgemefError(f"{self.name}: no frame for {self.timeout:g} s (camera stalled or disconnected)")
            ready, _, _ = select.select([self._fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._fd, need - len(buf))
            if not chunk:
                self._ended()
                if buf:
                    raise EdgemefError(f"{self.name}: stream ended in the middle of frame {self._index}")
                return None
            buf += chunk
        image = np.frombuffer(bytes(buf), np.uint8).reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()
        frame = Frame(image, self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=3.0)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            for t in self._threads:  # they close the streams at end of file
                t.join(timeout=2.0)
            self._proc = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def jetson_pipeline(sensor_id: int, exposure_ns: int, size: tuple[int, int] = (1920, 1080), fps: float = 30,
                    num_buffers: int = 2) -> str:
    """An ``nvarguscamerasrc`` pipeline with one fixed exposure, unit gain and auto-exposure locked.

    Args:
        sensor_id: the CSI sensor (``jetson:N``).
        exposure_ns: exposure time in nanoseconds (Argus clamps it to the sensor's range).
        size: capture (width, height); must be a mode the sensor offers.
        fps: capture frame rate; the exposure cannot exceed the frame time.
        num_buffers: frames to capture before the pipeline ends.
    """
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} num-buffers={num_buffers} aelock=true "
        f'exposuretimerange="{exposure_ns} {exposure_ns}" gainrange="1 1" ispdigitalgainrange="1 1" ! '
        f"video/x-raw(memory:NVMM),width={size[0]},height={size[1]},framerate={round(fps)}/1 ! "
        f"nvvidconv ! video/x-raw,format=BGRx"
    )


class JetsonSource(FrameSource):
    """A Jetson CSI camera: one short-lived fixed-exposure pipeline per bracket.

    ``nvarguscamerasrc`` fixes its exposure when the pipeline starts, so each bracket restarts the
    pipeline (about a second on Argus); it keeps the last of ``settle + 1`` frames. Unverified
    without Jetson hardware.
    """

    live = True
    labeled = True

    def __init__(self, sensor_id: int, options: SourceOptions):
        self.sensor_id = sensor_id
        self.options = options
        self.name = f"jetson:{sensor_id}"
        self.size = options.size or (1920, 1080)
        self.rate = options.fps or 30.0
        short, long = options.exposures
        if long > 1e6 / self.rate:
            raise EdgemefError(f"jetson: long exposure {long:g} us exceeds the frame time at {self.rate:g} fps")
        self.schedule = ExposureSchedule(short * 1e3, long * 1e3, options.settle)
        self._index = 0

    def read(self) -> Frame | None:
        label, ns = self.schedule.next()
        pipe = jetson_pipeline(self.sensor_id, round(ns), self.size, self.rate, self.schedule.settle + 1)
        last = None
        with GstSource(pipe, timeout=self.options.timeout) as src:
            while (frame := src.read()) is not None:
                last = frame
        if last is None:
            raise EdgemefError(f"{self.name}: the {label} exposure pipeline delivered no frame")
        out = Frame(last.image, self._index, label=label, requested=ns)
        self._index += 1
        return out
