"""Frame sources for the camera loop and the SOURCE syntax of ``edgemef fuse --camera``.

=====================  ====================================================================
SOURCE                 what it opens
=====================  ====================================================================
``/dev/videoN``        a V4L2 camera through OpenCV's V4L2 backend, manual alternating
``v4l2:N``             exposures read back per frame (:mod:`edgemef.camera.v4l2`)
``jetson:N``           a Jetson CSI sensor through ``nvarguscamerasrc``, one fixed-exposure
                       pipeline per bracket (:mod:`edgemef.camera.gstreamer`)
``gst:PIPELINE``       any GStreamer pipeline, run by ``gst-launch-1.0`` (frames must
                       alternate short/long)
a video file           a recording of alternating exposures (short/long/short/long...)
=====================  ====================================================================
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2

from edgemef.camera.frames import Frame
from edgemef.errors import EdgemefError


@dataclass
class SourceOptions:
    """Settings for sources that take them (cameras); files and pipelines ignore most.

    Attributes:
        size: (width, height) to capture at, or None for the device default.
        fps: frames per second to ask for, or None.
        exposures: (short, long) in microseconds for cameras that set exposures.
        settle: frames discarded after each exposure change.
        timeout: seconds without a frame before the source counts as stalled.
    """

    size: tuple[int, int] | None = None
    fps: float | None = None
    exposures: tuple[float, float] = (2000.0, 16000.0)
    settle: int = 1
    timeout: float = 5.0


class FrameSource:
    """A stream of :class:`Frame` objects. Use as a context manager.

    Attributes:
        name: a short description for messages.
        live: frames keep coming whether or not they are read (a camera): the loop drops old
            pairs rather than letting the camera wait. File-like sources are never dropped from.
        labeled: frames carry the exposure they were asked for.
        fps: the source's frame rate when known, else None.
    """

    name = "source"
    live = False
    labeled = False
    fps: float | None = None

    def open(self) -> None:
        """Start delivering frames."""

    def read(self) -> Frame | None:
        """The next frame, or None at the end of the stream.

        Raises:
            EdgemefError: the source failed, disappeared or stalled.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Stop and release the device or process; safe to call twice."""

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()


class VideoFileSource(FrameSource):
    """A video file holding alternating exposures, decoded by OpenCV (FFmpeg)."""

    live = False
    labeled = False

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.name = self.path.name
        self._cap: cv2.VideoCapture | None = None
        self._index = 0

    def open(self) -> None:
        if not self.path.is_file():
            raise EdgemefError(f"{self.path}: no such video file")
        # FFmpeg's own log lines ("[png @ 0x...] Invalid PNG signature") would precede our one-line
        # error; OpenCV reads the level when it first opens a capture. A user's setting wins.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise EdgemefError(f"{self.path}: OpenCV cannot open this video")
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 else None

    def read(self) -> Frame | None:
        if self._cap is None:
            raise EdgemefError(f"{self.name}: read before open")
        ok, image = self._cap.read()
        if not ok:
            if self._index == 0:
                raise EdgemefError(f"{self.path}: no frame could be decoded")
            return None
        frame = Frame(image, self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def source_kind(spec: str) -> str:
    """What ``spec`` names: 'gst', 'jetson', 'v4l2' or 'file' (checked for existence by open_source)."""
    for prefix, kind in (("gst:", "gst"), ("jetson:", "jetson"), ("v4l2:", "v4l2"), ("/dev/video", "v4l2")):
        if spec.startswith(prefix):
            return kind
    return "file"


def open_source(spec: str, options: SourceOptions | None = None) -> FrameSource:
    """Build the source named by ``spec`` (see the module docstring); it is not opened yet."""
    opts = options or SourceOptions()
    if spec.startswith("gst:"):
        from edgemef.camera.gstreamer import GstSource

        return GstSource(spec[4:].strip(), size=opts.size, timeout=opts.timeout)
    if spec.startswith("jetson:"):
        from edgemef.camera.gstreamer import JetsonSource

        return JetsonSource(_index(spec, "jetson:"), opts)
    if spec.startswith("v4l2:") or spec.startswith("/dev/video"):
        from edgemef.camera.v4l2 import V4L2Source

        device = f"/dev/video{_index(spec, 'v4l2:')}" if spec.startswith("v4l2:") else spec
        return V4L2Source(device, opts)
    if Path(spec).is_file():
        return VideoFileSource(spec)
    raise EdgemefError(
        f"camera source '{spec}' not found: give /dev/videoN, v4l2:N, jetson:N, gst:PIPELINE or a video file"
    )


def _index(spec: str, prefix: str) -> int:
    try:
        n = int(spec[len(prefix):])
    except ValueError:
        raise EdgemefError(f"'{spec}': expected {prefix}N with a number N") from None
    if n < 0:
        raise EdgemefError(f"'{spec}': the index must be >= 0")
    return n


__all__ = ["Frame", "FrameSource", "SourceOptions", "VideoFileSource", "open_source", "source_kind"]
