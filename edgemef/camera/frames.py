"""One captured frame, its brightness, and the garbage checks every source's frames go through."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from edgemef.errors import EdgemefError


@dataclass
class Frame:
    """A frame as a source delivers it.

    Attributes:
        image: uint8 (H, W, 3) BGR, as OpenCV and GStreamer deliver it.
        index: position in the source's stream (0-based, counting every frame read).
        time: ``time.perf_counter()`` when it arrived.
        label: the exposure the source asked for ('short' or 'long'), or None when the source
            cannot set exposures (a video file, an arbitrary GStreamer pipeline).
        requested: the exposure value asked for, in the source's units, or None.
        reported: the exposure the device reports for this frame, read back after the grab, or
            None when the device cannot report one.
        luma: mean Rec. 601 luma in [0, 1] (filled by :func:`frame_luma` on demand).
    """

    image: np.ndarray
    index: int
    time: float = field(default_factory=time.perf_counter)
    label: str | None = None
    requested: float | None = None
    reported: float | None = None
    luma: float | None = None

    def brightness(self) -> float:
        """Mean luma in [0, 1], computed once on a small copy."""
        if self.luma is None:
            self.luma = frame_luma(self.image)
        return self.luma


def frame_luma(image: np.ndarray) -> float:
    """Mean Rec. 601 luma in [0, 1] of a uint8 BGR frame, on a copy about 64 pixels wide."""
    h, w = image.shape[:2]
    small = image
    if w > 64:
        small = cv2.resize(image, (64, max(1, round(h * 64 / w))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return float(gray.mean()) / 255.0


class FrameChecker:
    """Rejects garbage: empty frames, a size change, and runs of all-constant frames.

    One constant frame can be legitimate (a long exposure of a bright scene saturates); a run of
    ``max_constant`` in a row, across both exposures, means a dead or covered sensor.

    Args:
        source: the source's name, for messages.
        max_constant: constant frames in a row that end the loop.
        constant_range: a frame whose max - min (8-bit) is at most this counts as constant.
    """

    def __init__(self, source: str, max_constant: int = 6, constant_range: int = 2):
        self.source = source
        self.max_constant = max_constant
        self.constant_range = constant_range
        self.shape: tuple[int, ...] | None = None
        self.constant_run = 0

    def check(self, frame: Frame) -> Frame:
        """Return ``frame`` if it is usable.

        Raises:
            EdgemefError: an empty or wrongly shaped frame, or too many constant frames in a row.
        """
        img = frame.image
        if img is None or not isinstance(img, np.ndarray) or img.size == 0:
            raise EdgemefError(f"{self.source}: frame {frame.index} is empty (camera returned no image data)")
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise EdgemefError(
                f"{self.source}: frame {frame.index} is not 8-bit 3-channel (got {img.dtype} {img.shape})"
            )
        if self.shape is None:
            self.shape = img.shape
        elif img.shape != self.shape:
            raise EdgemefError(
                f"{self.source}: frame {frame.index} is {img.shape[1]}x{img.shape[0]}, earlier frames were "
                f"{self.shape[1]}x{self.shape[0]} (garbage or a mode change)"
            )
        small = cv2.resize(img, (32, 32), interpolation=cv2.INTER_NEAREST)
        if int(small.max()) - int(small.min()) <= self.constant_range and _is_constant(img, self.constant_range):
            self.constant_run += 1
            if self.constant_run >= self.max_constant:
                raise EdgemefError(
                    f"{self.source}: {self.constant_run} all-constant frames in a row (value "
                    f"{int(img.flat[0])}): sensor dead, covered or returning garbage"
                )
        else:
            self.constant_run = 0
        return frame


def _is_constant(img: np.ndarray, tol: int) -> bool:
    lo, hi, _, _ = cv2.minMaxLoc(img.reshape(img.shape[0], -1))
    return hi - lo <= tol
