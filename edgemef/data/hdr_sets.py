"""Bracket sets with an HDR training target: :class:`~edgemef.data.brackets.BracketSet` plus the
scene radiance as the camera sees it, normalised to the reference frame's exposure.

HDR networks (STHDR) take each frame with its exposure time relative to the reference frame and
predict linear radiance in that frame's units: 1 is where the reference frame saturates. The
target is therefore the camera's linear signal ``M @ radiance * K * t_ref`` (white balance and
colour matrix applied, no noise, no clipping), which needs the set's camera; :func:`render_hdr_set`
renders exactly what :func:`~edgemef.data.brackets.render_bracket_set` renders for the same seed
and keeps the camera.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgemef.data.brackets import UNDER_SPLIT, BracketSet, item_seed, render_with_camera
from edgemef.data.camera import SENSITIVITY, Camera
from edgemef.data.fastops import tune_malloc


@dataclass
class HDRSet:
    """A bracket set and its HDR target.

    Attributes:
        brackets: the :class:`BracketSet` (under, over, ev0, label, radiance, exposure_times).
        camera: the camera that took it.
    """

    brackets: BracketSet
    camera: Camera

    def times(self, order: str = "under,over") -> np.ndarray:
        """Exposure times in seconds of the frames named in ``order`` (comma-separated)."""
        t = dict(zip(("under", "ev0", "over"), self.brackets.exposure_times))
        return np.array([t[k] for k in order.split(",")], np.float64)

    def camera_radiance(self, reference: str = "over", clip_at: str | None = "under") -> np.ndarray:
        """(H, W, 3) float32 linear camera signal at the ``reference`` frame's exposure time
        ('under', 'ev0' or 'over'): 1 = that frame's saturation, noise-free.

        ``clip_at`` caps it where the named frame saturates (default the darkest: what the
        brackets can record at all; a sun at 1e6 would otherwise dominate any loss); None: no cap.
        """
        t = float(self.times(reference)[0])
        out = cv2.transform(self.brackets.radiance, self.camera.matrix * np.float32(SENSITIVITY * t))
        top = np.inf if clip_at is None else t / float(self.times(clip_at)[0])
        return np.clip(out, np.float32(0.0), np.float32(top))


def render_hdr_set(seed: int, size: tuple[int, int] = (256, 256), ev_gap: tuple[float, float] = (2.0, 6.0),
                   kind: str | None = None, under_split: tuple[float, float] = UNDER_SPLIT) -> HDRSet:
    """:func:`~edgemef.data.brackets.render_bracket_set` (same draws, same images) keeping the camera."""
    return HDRSet(*render_with_camera(seed, size, ev_gap, kind, under_split))


class SyntheticHDRSets:
    """Like :class:`~edgemef.data.brackets.SyntheticBrackets` (same seeds per index, same images),
    yielding :class:`HDRSet`."""

    def __init__(self, seed: int = 0, size=(256, 256), length: int = 10_000, ev_gap=(2.0, 6.0),
                 under_split=UNDER_SPLIT):
        self.seed, self.size, self.length, self.ev_gap = int(seed), tuple(size), int(length), tuple(ev_gap)
        self.under_split = tuple(under_split)
        tune_malloc()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> HDRSet:
        if not 0 <= int(i) < self.length:
            raise IndexError(f"index {i} out of range for {self.length} sets")
        return render_hdr_set(item_seed(self.seed, int(i)), self.size, self.ev_gap, under_split=self.under_split)
