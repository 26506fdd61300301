"""HDR radiance scenes: pick a scene family, render it, then apply lens effects and normalise.

Families: ``outdoor`` (sky with sun and clouds, mountains, ground or water, buildings, trees,
sometimes a dark cave/arch surround), ``interior`` (a room with bright windows and lamps),
``night`` (lit windows, street lamps, neon), ``clutter`` (dead-leaves arrangement of textured
shapes under uneven light, with emitters).
"""
from __future__ import annotations

import cv2
import numpy as np

from edgemef.data.fastops import dynamic_range, expand3, luminance, quantiles
from edgemef.data.indoor import clutter_scene, interior_scene
from edgemef.data.outdoor import night_scene, outdoor_scene

SCENE_KINDS = {
    "outdoor": outdoor_scene,
    "interior": interior_scene,
    "night": night_scene,
    "clutter": clutter_scene,
}
SCENE_WEIGHTS = {"outdoor": 0.4, "interior": 0.3, "night": 0.12, "clutter": 0.18}
def bloom(img: np.ndarray, amount: float, levels: int = 5) -> np.ndarray:
    """Veiling glare: add a wide blur of the brightest light (lens flare / atmospheric halo)."""
    thr = np.float32(quantiles(luminance(img[::4, ::4]), [98.0])[0])
    bright = np.maximum(img - thr, 0.0)
    small, sizes = bright, []
    for _ in range(levels):
        if min(small.shape[:2]) < 8:
            break
        sizes.append(small.shape[1::-1])
        small = cv2.pyrDown(small)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    for size in reversed(sizes):
        small = cv2.pyrUp(small, dstsize=size)
    return img + np.float32(amount) * small


def ensure_range(rad: np.ndarray, target: float) -> np.ndarray:
    """Raise a scene's dynamic range to ``target`` when it falls short by brightening its
    large-scale bright areas (sky, lit walls: above the 70th percentile of a blurred
    log-luminance); fine texture and the shadows are kept as they were."""
    dr = dynamic_range(rad)
    if dr >= 0.95 * target:
        return rad
    log = np.log(luminance(rad) + np.float32(1e-6))
    small, sizes = log, []
    while min(small.shape) > 16:
        sizes.append(small.shape[::-1])
        small = cv2.pyrDown(small)
    small = cv2.GaussianBlur(small, (0, 0), 1.0)
    for size in reversed(sizes):
        small = cv2.pyrUp(small, dstsize=size)
    knee, hi = quantiles(small[::2, ::2], [70.0, 99.9])
    k = np.log(target / dr) / max(hi - knee, 0.25)
    gain = np.exp(np.float32(k) * np.maximum(small - np.float32(knee), 0.0))
    return rad * expand3(gain)


def render_radiance(rng: np.random.Generator, size: tuple[int, int], kind: str | None = None) -> tuple[np.ndarray, str]:
    """A random HDR scene.

    Args:
        rng: the generator that decides everything (same state -> same scene).
        size: (H, W).
        kind: a key of :data:`SCENE_KINDS`, or None for a weighted random choice.

    Returns:
        (radiance float32 (H, W, 3) linear, median luminance 1, kind).
    """
    h, w = size
    if kind is None:
        names = list(SCENE_WEIGHTS)
        kind = str(rng.choice(names, p=np.array([SCENE_WEIGHTS[n] for n in names])))
    target = 10 ** rng.uniform(3.05, 4.0)
    rad = SCENE_KINDS[kind](rng, h, w).render(min_range=1.5 * target)
    rad = bloom(rad, 10 ** rng.uniform(-3.5, -2.3))
    sigma = rng.uniform(0.4, 1.0) * max(h, w) / 256.0  # lens + demosaic softness
    rad = cv2.GaussianBlur(rad, (0, 0), sigma)
    for _ in range(2):
        rad = ensure_range(rad, target)
    med = quantiles(luminance(rad[::3, ::3]), [50.0])[0]
    rad *= np.float32(1.0 / max(med, 1e-8))
    np.maximum(rad, np.float32(1e-6), out=rad)
    return rad, kind
