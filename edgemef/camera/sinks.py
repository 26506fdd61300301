"""Where fused frames go: a video file, numbered images, or a window.

Every sink checks its destination when it is built (before the camera starts) and leaves valid
files behind however the loop ends: a video is written to a hidden temporary file beside the
target and renamed into place when :meth:`VideoSink.close` has released the writer, so the
target is always a complete, playable file; numbered images are each written atomically.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from edgemef.errors import EdgemefError
from edgemef.io import IMAGE_SUFFIXES, normal_permissions, save_image, to_uint

VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class StopRequested(Exception):
    """Raised by a sink when the user asks the loop to stop (a key in the window)."""


def _check_dir(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise EdgemefError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise EdgemefError(f"{path}: directory {parent} is not writable")
    return parent


class Sink:
    """Consumes fused float32 (H, W, 3) RGB frames in [0, 1]."""

    name = "sink"
    written = 0

    def write(self, image: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish; safe to call twice."""


class VideoSink(Sink):
    """A video file through ``cv2.VideoWriter``: mp4v in .mp4, Motion-JPEG in .avi and .mkv.

    Args:
        path: the target file.
        fps: the frame rate written into the file; 0 lets the loop set it from the source
            (half the camera's frame rate: one fused frame per pair), else 15.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 0.0):
        self.path = Path(path)
        self.name = str(self.path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_CODECS:
            raise EdgemefError(f"{self.path}: video output must end in {', '.join(VIDEO_CODECS)}")
        if self.path.is_dir():
            raise EdgemefError(f"{self.path}: is a directory")
        self.parent = _check_dir(self.path)
        self.fps = float(fps)
        self.fourcc = VIDEO_CODECS[suffix]
        self.written = 0
        self._writer: cv2.VideoWriter | None = None
        self._tmp: Path | None = None
        self._size: tuple[int, int] | None = None

    def _open(self, size: tuple[int, int]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".part{self.path.suffix}", dir=self.parent)
        os.close(fd)
        normal_permissions(tmp)
        self._tmp = Path(tmp)
        fps = self.fps if self.fps > 0 else 15.0
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*self.fourcc), fps, size)
        if not writer.isOpened():
            self._tmp.unlink(missing_ok=True)
            raise EdgemefError(f"{self.path}: OpenCV cannot write {self.fourcc} video here")
        self._writer, self._size = writer, size

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self._writer is None:
            self._open((w, h))
        elif (w, h) != self._size:
            raise EdgemefError(f"{self.path}: frame size changed from {self._size} to {(w, h)}")
        self._writer.write(cv2.cvtColor(to_uint(image), cv2.COLOR_RGB2BGR))
        self.written += 1

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if self.written:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


class ImageSequenceSink(Sink):
    """Numbered images from a printf pattern such as ``out/fused_%05d.png``, each written atomically."""

    def __init__(self, pattern: str, start: int = 0):
        try:
            first, second = pattern % start, pattern % (start + 1)
        except (TypeError, ValueError):
            raise EdgemefError(f"{pattern}: an image pattern needs one number placeholder like %05d") from None
        if first == second:
            raise EdgemefError(f"{pattern}: an image pattern needs one number placeholder like %05d")
        if Path(first).suffix.lower() not in IMAGE_SUFFIXES:
            raise EdgemefError(f"{pattern}: images must end in one of {', '.join(IMAGE_SUFFIXES)}")
        _check_dir(Path(first))
        self.pattern = pattern
        self.name = pattern
        self.index = start
        self.written = 0

    def write(self, image: np.ndarray) -> None:
        save_image(self.pattern % self.index, image)
        self.index += 1
        self.written += 1


def gui_problem() -> str | None:
    """Why a window cannot be shown here, or None when it can."""
    info = cv2.getBuildInformation()
    gui = info[info.find("GUI:"):].split("\n", 1)[0] if "GUI:" in info else ""
    if "NONE" in gui:
        return "this OpenCV build has no window support (opencv-python-headless); install opencv-python"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display to open a window on ($DISPLAY is not set)"
    return None


class WindowSink(Sink):
    """Shows each fused frame with ``cv2.imshow``; 'q' or Esc (or closing the window) stops the loop."""

    def __init__(self, title: str = "edgemef"):
        why = gui_problem()
        if why:
            raise EdgemefError(f"--display: {why}")
        self.name = f"window '{title}'"
        self.title = title
        self.written = 0
        self._shown = False

    def write(self, image: np.ndarray) -> None:
        cv2.imshow(self.title, cv2.cvtColor(to_uint(image), cv2.COLOR_RGB2BGR))
        self._shown = True
        self.written += 1
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27) or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            raise StopRequested("window closed")

    def close(self) -> None:
        if self._shown:
            cv2.destroyWindow(self.title)
            self._shown = False


def make_sinks(output: str | os.PathLike | None, display: bool, fps: float = 0.0) -> list[Sink]:
    """Sinks for ``-o`` (a video file or a numbered-image pattern) and ``--display``.

    Args:
        output: a video path or an image pattern with one %d placeholder, or None.
        display: also show the frames in a window.
        fps: frame rate of a video file (0: from the source).
    """
    sinks: list[Sink] = []
    if display:
        sinks.append(WindowSink())
    if output is not None:
        text = str(output)
        if "%" in text:
            sinks.append(ImageSequenceSink(text))
        elif Path(text).suffix.lower() in VIDEO_CODECS:
            sinks.append(VideoSink(text, fps))
        else:
            raise EdgemefError(
                f"{text}: with --camera, -o is a video ({', '.join(VIDEO_CODECS)}) or a numbered image "
                f"pattern such as fused_%05d.png"
            )
    if not sinks:
        raise EdgemefError("--camera needs somewhere to put the fused frames: -o OUT.mp4, -o 'out_%05d.png' or --display")
    return sinks
