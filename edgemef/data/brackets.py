"""Synthetic exposure bracket sets: HDR scene + random camera -> under, over, EV0, label.

This is the public entry point of :mod:`edgemef.data`: :func:`render_bracket_set` and the
indexable :class:`SyntheticBrackets` sequence (numpy only; a torch Dataset wraps it elsewhere).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgemef.data.camera import ev0_time, expose, highlight_time, random_camera
from edgemef.data.fastops import tune_malloc
from edgemef.data.labels import render_label
from edgemef.data.scenes import render_radiance


@dataclass
class BracketSet:
    """One synthetic bracket set. Images are float32 ``(H, W, 3)`` RGB.

    Attributes:
        under: the short exposure, [0, 1], on the 8-bit grid, noisy.
        over: the long exposure, [0, 1], on the 8-bit grid, clipped highlights.
        ev0: the correctly exposed frame (median luminance on mid-grey), same camera, noisy.
        radiance: linear scene radiance (relative units, median luminance 1).
        label: the fused reference in [0, 1] (clean exposure fusion of a dense stack).
        exposure_times: (under, ev0, over) in seconds.
        seed: the seed that reproduces this set.
    """

    under: np.ndarray
    over: np.ndarray
    ev0: np.ndarray
    radiance: np.ndarray
    label: np.ndarray
    exposure_times: tuple[float, float, float]
    seed: int

    @property
    def ev_gap(self) -> float:
        """EV difference between the over and the under frame."""
        return float(np.log2(self.exposure_times[2] / self.exposure_times[0]))


UNDER_SPLIT = (0.45, 0.85)


def bracket_times(rng: np.random.Generator, t0: float, ev_gap: tuple[float, float],
                  t_highlights: float | None = None,
                  under_split: tuple[float, float] = UNDER_SPLIT) -> tuple[float, float, float]:
    """(under, ev0, over) times: a gap drawn from ``ev_gap``, split unevenly around EV0.

    The under frame sits a share drawn from ``under_split`` of the gap below EV0 (default 45-85 %:
    real under frames are darker than real over frames are bright; a lower bound near 0 also
    draws pairs of a near-normal frame and a blown-out one). With ``t_highlights`` (the time at which the brightest 0.5 % just
    clip), 70 % of sets move the split, within the same gap, so that the under frame keeps those
    highlights, as a photographer bracketing for a bright sky would.
    """
    lo, hi = float(ev_gap[0]), float(ev_gap[1])
    gap = rng.uniform(lo, hi) if hi > lo else lo
    down = gap * rng.uniform(float(under_split[0]), float(under_split[1]))
    protect = rng.random() < 0.7
    if protect and t_highlights is not None and t_highlights > 0:
        down = max(down, float(np.log2(t0 / t_highlights)))
    margin = min(0.5, gap / 4)
    down = float(np.clip(down, margin, gap - margin))
    return (t0 * 2.0 ** -down, t0, t0 * 2.0 ** (gap - down))


def render_bracket_set(seed: int, size: tuple[int, int] = (256, 256),
                       ev_gap: tuple[float, float] = (2.0, 6.0), kind: str | None = None,
                       under_split: tuple[float, float] = UNDER_SPLIT) -> BracketSet:
    """Render one bracket set, fully determined by ``seed``.

    Args:
        seed: any non-negative integer.
        size: (H, W).
        ev_gap: range of the EV difference between over and under.
        kind: force a scene family (see :data:`edgemef.data.scenes.SCENE_KINDS`).
        under_split: range of the share of the gap the under frame sits below EV0.
    """
    return render_with_camera(seed, size, ev_gap, kind, under_split)[0]


def render_with_camera(seed: int, size: tuple[int, int] = (256, 256), ev_gap: tuple[float, float] = (2.0, 6.0),
                       kind: str | None = None, under_split: tuple[float, float] = UNDER_SPLIT):
    """:func:`render_bracket_set` and the random camera that shot it: (BracketSet, camera)."""
    rng = np.random.default_rng(seed)
    radiance, _ = render_radiance(rng, size, kind)
    cam = random_camera(rng)
    t0 = ev0_time(cam, radiance)
    times = bracket_times(rng, t0, ev_gap, highlight_time(cam, radiance), tuple(under_split))
    under, ev0, over = (expose(cam, radiance, t, rng) for t in times)
    label = render_label(cam, radiance)
    return BracketSet(under, over, ev0, radiance, label, tuple(float(t) for t in times), int(seed)), cam


def item_seed(seed: int, index: int) -> int:
    """The seed of item ``index`` of a sequence seeded with ``seed`` (stable across versions)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


class SyntheticBrackets:
    """A deterministic, indexable sequence of :class:`BracketSet` (renders on access).

    Item ``i`` is ``render_bracket_set(item_seed(seed, i), size, ev_gap)``. Creating one raises
    glibc's malloc trim/mmap thresholds for the process (:func:`edgemef.data.fastops.tune_malloc`).
    """

    def __init__(self, seed: int = 0, size=(256, 256), length: int = 10_000, ev_gap=(2.0, 6.0),
                 under_split=UNDER_SPLIT):
        self.seed, self.size, self.length, self.ev_gap = int(seed), tuple(size), int(length), tuple(ev_gap)
        self.under_split = tuple(under_split)
        tune_malloc()  # reuse freed image buffers: ~25 % faster rendering (see fastops.tune_malloc)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> BracketSet:
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError(f"index {i} out of range for {self.length} sets")
        return render_bracket_set(item_seed(self.seed, int(i)), self.size, self.ev_gap, under_split=self.under_split)

    def __iter__(self):
        return (self[i] for i in range(self.length))
