"""A dynamic test set with real motion, and its static twin (numpy + OpenCV).

Unlike :mod:`edgemef.data.dynamic`, which pastes objects into a finished under frame, here the
objects are part of the radiance scene and move between the exposures: each frame (under, EV0,
over, captured in that order) is rendered from its own radiance with the objects at that
frame's position and gait phase. The over frame is the reference: the label is rendered from
its geometry. The static twin is the same scene, camera, exposure times and noise with the
objects held at the over frame's position in every frame, so its over frame and label are the
dynamic set's own, byte for byte, and any difference between the twins is the motion.

Seeds come from :func:`test_seed`, a stream of its own, apart from the training seeds of
:func:`edgemef.data.item_seed`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgemef.data.brackets import BracketSet, bracket_times
from edgemef.data.camera import ev0_time, expose, highlight_time, random_camera
from edgemef.data.fastops import luminance
from edgemef.data.labels import render_label
from edgemef.data.scenes import render_radiance
from edgemef.data.silhouettes import FigureSource, soften
from edgemef.data.textures import srgb_to_linear

TEST_STREAM = 0x7E57  # seed-sequence key that keeps test seeds apart from training seeds
FRAMES = ("under", "ev0", "over")


def test_seed(seed: int, index: int) -> int:
    """Seed of test item ``index`` of a test sequence seeded with ``seed``."""
    return int(np.random.SeedSequence([TEST_STREAM, int(seed), int(index)]).generate_state(1, np.uint32)[0])


test_seed.__test__ = False  # not a pytest test


@dataclass
class MotionPair:
    """A dynamic test set and its static twin.

    Attributes:
        dynamic, static: the two :class:`BracketSet` (radiance: the over frame's scene).
        objects: per object, its top-left ``(x, y)`` and size ``(w, h)`` in each frame.
        alpha: per frame name, the objects' alpha ``(H, W)`` in the dynamic set.
        static_alpha: the same for the static twin (every frame: the over frame's alpha).
        seed: the seed that reproduces the pair.
    """

    dynamic: BracketSet
    static: BracketSet
    objects: list[dict]
    alpha: dict[str, np.ndarray]
    static_alpha: dict[str, np.ndarray]
    seed: int


def _place(rad: np.ndarray, figs: list, spots: list[tuple[int, int]], illum: float, alpha: np.ndarray) -> np.ndarray:
    """Composite figures (display RGB -> linear albedo * ``illum``) into a copy of ``rad``,
    softened like the scene (0.7 pixels per 256 of the longer side)."""
    out = rad.copy()
    for fig, (x, y) in zip(figs, spots):
        fig = soften(fig, 0.7 * max(rad.shape[:2]) / 256)
        h, w = fig.alpha.shape
        a = fig.alpha[..., None]
        region = out[y:y + h, x:x + w]
        out[y:y + h, x:x + w] = region * (1.0 - a) + srgb_to_linear(fig.rgb) * np.float32(illum) * a
        np.maximum(alpha[y:y + h, x:x + w], fig.alpha, out=alpha[y:y + h, x:x + w])
    return np.maximum(out, np.float32(1e-6))


def _trajectory(rng, figs, size, motion) -> list[tuple[int, int]]:
    """Top-left corners per frame: feet on one ground line, the over frame's position last,
    moved by ``motion`` (fraction of the width, under -> over) with a little vertical drift."""
    H, W = size
    fw = max(f.alpha.shape[1] for f in figs)
    fh = max(f.alpha.shape[0] for f in figs)
    dx = rng.uniform(*motion) * W * rng.choice([-1.0, 1.0])
    dy = rng.normal(0.0, 0.02) * H
    lo_x, hi_x = max(0.0, -dx), W - fw - max(0.0, dx)
    if hi_x < lo_x:  # no room for this move: shrink it
        dx = np.sign(dx) * max(0.0, W - fw - 1.0)
        lo_x, hi_x = max(0.0, -dx), W - fw - max(0.0, dx)
    x_u = rng.uniform(lo_x, max(lo_x, hi_x))
    bottom = rng.uniform(max(fh, 0.55 * H), H) - abs(dy)
    bottom = float(np.clip(bottom, fh + abs(dy), H - abs(dy)))
    spots = []
    for k, fig in enumerate(figs):
        f = k / (len(figs) - 1)
        h, w = fig.alpha.shape
        cx = x_u + fw / 2 + f * dx
        x = int(np.clip(round(cx - w / 2), 0, W - w))
        y = int(np.clip(round(bottom + f * dy - h), 0, H - h))
        spots.append((x, y))
    return spots


def render_motion_pair(seed: int, size=(256, 256), ev_gap=(2.0, 6.0), source=None, n_objects=(1, 2),
                       height=(0.3, 0.6), motion=(0.06, 0.18), kind: str | None = None) -> MotionPair:
    """Render one dynamic test set and its static twin, fully determined by ``seed``.

    Args:
        source: an object source with ``moving(rng, max_h, max_w, n)`` (default: figures).
        n_objects: range of the number of moving objects.
        height: object height range, fraction of the frame height.
        motion: horizontal travel between the under and the over frame, fraction of the width.
    """
    source = source or FigureSource()
    rng = np.random.default_rng(seed)
    size = tuple(size)
    rad, _ = render_radiance(rng, size, kind)
    cam = random_camera(rng)
    H, W = size
    objs = []
    for _ in range(int(rng.integers(n_objects[0], n_objects[1] + 1))):
        figs = source.moving(rng, max(8, int(H * rng.uniform(*height))), max(4, int(W * 0.4)), len(FRAMES))
        spots = _trajectory(rng, figs, size, motion)
        x, y = spots[-1]
        h, w = figs[-1].alpha.shape
        local = float(np.median(luminance(np.ascontiguousarray(rad[y:y + h, x:x + w]))))
        illum = rng.uniform(1.5, 4.0) * float(np.clip(local, 0.25, 2.0)) ** 0.5
        objs.append((figs, spots, illum))
    alpha = {f: np.zeros(size, np.float32) for f in FRAMES}
    rads = {}
    for k, name in enumerate(FRAMES):
        rads[name] = rad
        for figs, spots, illum in objs:
            rads[name] = _place(rads[name], [figs[k]], [spots[k]], illum, alpha[name])
    still = {"over": rads["over"]}
    still_alpha = np.zeros(size, np.float32)
    r = rad
    for figs, spots, illum in objs:
        r = _place(r, [figs[-1]], [spots[-1]], illum, still_alpha)
    still["under"] = still["ev0"] = r
    ref = rads["over"]
    t0 = ev0_time(cam, ref)
    times = bracket_times(rng, t0, ev_gap, highlight_time(cam, ref))
    noise_seed = int(rng.integers(1 << 62))
    label = render_label(cam, ref)
    sets = []
    for radiances in (rads, still):
        nrng = np.random.default_rng(noise_seed)  # the same noise for both twins
        u, e, o = (expose(cam, radiances[name], t, nrng) for name, t in zip(FRAMES, times))
        sets.append(BracketSet(u, o, e, ref, label, tuple(float(t) for t in times), int(seed)))
    info = [{name: {"x": s[0], "y": s[1], "w": int(f.alpha.shape[1]), "h": int(f.alpha.shape[0])}
             for name, s, f in zip(FRAMES, spots, figs)} | {"illumination": round(float(il), 4)}
            for figs, spots, il in objs]
    return MotionPair(sets[0], sets[1], info, alpha, {f: still_alpha for f in FRAMES}, int(seed))
