"""Skies for synthetic scenes: gradients, clouds, sun, moon and stars, as linear radiance."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgemef.data.fastops import expand3, pixel_grid, randn, scale_channels
from edgemef.data.textures import fbm

# (zenith, horizon) linear colours per sky mode; jittered per scene.
_SKIES = {
    "day": ((0.10, 0.22, 0.62), (0.62, 0.72, 0.88)),
    "sunset": ((0.10, 0.10, 0.30), (1.00, 0.42, 0.13)),
    "overcast": ((0.45, 0.47, 0.52), (0.80, 0.81, 0.83)),
    "dusk": ((0.02, 0.04, 0.16), (0.55, 0.30, 0.22)),
    "night": ((0.004, 0.008, 0.03), (0.04, 0.035, 0.05)),
}
_SUN = {"day": (1.0, 0.96, 0.88), "sunset": (1.0, 0.55, 0.22), "overcast": (1.0, 0.98, 0.95)}


@dataclass
class Sky:
    """A rendered sky and what the rest of the scene needs to know about its light."""

    image: np.ndarray       # (H, W, 3) radiance
    mode: str
    horizon_color: np.ndarray  # (3,) radiance just above the horizon
    sun: tuple[float, float, float] | None  # (x, y, radius) in pixels, or None
    sun_color: np.ndarray   # (3,)
    level: float            # mean sky radiance


def _jitter(rng, c, amount=0.15):
    return np.clip(np.asarray(c) * rng.uniform(1 - amount, 1 + amount, 3), 0.002, None).astype(np.float32)


def render_sky(rng: np.random.Generator, h: int, w: int, horizon: float, mode: str,
               sun_strength: float | None = None) -> Sky:
    """A sky gradient with clouds, and a sun disk for day/sunset/overcast modes.

    Args:
        horizon: y of the horizon in pixels (may lie outside the frame).
        mode: one of 'day', 'sunset', 'overcast', 'dusk', 'night'.
        sun_strength: sun radiance relative to the mean sky; random when None.
    """
    zen, hor = (_jitter(rng, c) for c in _SKIES[mode])
    if mode == "sunset" and rng.random() < 0.5:  # pink/violet band variant
        hor = _jitter(rng, (0.95, 0.35, 0.45))
    y = np.arange(h, dtype=np.float32)
    t = np.clip((horizon - y) / max(horizon, 1.0), 0.0, 1.0) ** rng.uniform(0.35, 0.9)
    col = hor[None] * (1 - t[:, None]) + zen[None] * t[:, None]
    img = np.broadcast_to(col[:, None, :], (h, w, 3)).copy()
    sun = None
    scale = max(h, w) / 256.0
    if mode in _SUN and rng.random() < (0.25 if mode == "overcast" else 0.8):
        sx = rng.uniform(-0.15, 1.15) * w
        lo = 0.05 * h if mode == "day" else max(0.0, horizon - 0.35 * h)
        sy = rng.uniform(min(lo, horizon - 2), horizon - 2)
        sun = (float(sx), float(sy), float(rng.uniform(2.0, 5.0) * scale))
        yy, xx = pixel_grid(h, w)
        d = np.sqrt((xx - sx) ** 2 + (yy - sy) ** 2) / max(h, w)
        # brighter sky around the sun (forward scattering)
        img *= expand3(1.0 + np.float32(rng.uniform(0.5, 3.0)) * np.exp(d * np.float32(-1.0 / rng.uniform(0.08, 0.3))))
    _clouds(rng, img, h, w, horizon, mode)
    sun_color = _jitter(rng, _SUN.get(mode, (1.0, 1.0, 1.0)), 0.05)
    level = float(img.mean())
    hcol = img[int(np.clip(int(horizon) - 1, 0, h - 1))].mean(axis=0).astype(np.float32)
    if sun is not None:
        strength = sun_strength if sun_strength is not None else 10 ** rng.uniform(
            *( (2.0, 3.3) if mode == "sunset" else (2.8, 4.2)))
        disk = np.zeros((h, w), np.float32)
        cv2.circle(disk, (int(round(sun[0] * 4)), int(round(sun[1] * 4))), int(round(sun[2] * 4)), 1.0, -1,
                   cv2.LINE_AA, shift=2)
        occl = 1.0 if mode != "overcast" else rng.uniform(0.02, 0.2)
        img += scale_channels(expand3(disk), sun_color * np.float32(strength * level * occl))
    return Sky(img, mode, hcol, sun, sun_color, level)


def _clouds(rng, img, h, w, horizon, mode):
    """Blend fractal clouds into ``img`` in place (not in 'night' mode, rarely at dusk)."""
    if mode == "night" or rng.random() < (0.15 if mode != "overcast" else 0.0):
        return
    stretch = rng.uniform(1.5, 4.0)  # clouds are wider than tall
    small = fbm(rng, max(8, h // 2), max(8, int(w / (2 * stretch))), rng.uniform(2.0, 3.0))
    n = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    n += np.float32(rng.uniform(0.1, 0.4)) * fbm(rng, h, w, rng.uniform(1.4, 2.0))  # wispy detail
    cover = rng.uniform(-1.0, 1.2) if mode != "overcast" else rng.uniform(-1.5, -0.5)
    c = np.clip((n - np.float32(cover)) * np.float32(rng.uniform(0.8, 3.0)), 0.0, 1.0)
    y = np.arange(h, dtype=np.float32)[:, None]
    c *= np.clip((horizon - y) / (0.08 * h + 1), 0.0, 1.0)  # fade into the horizon haze
    thick = np.clip((n - np.float32(cover)) * np.float32(0.5), 0.0, 1.0)
    base = float(img.mean())
    if mode == "day":
        ccol = np.full(3, base * rng.uniform(1.5, 3.0), np.float32)
    elif mode == "sunset":
        lit = rng.random() < 0.6
        ccol = _jitter(rng, (1.0, 0.5, 0.3) if lit else (0.3, 0.2, 0.3)) * np.float32(base * (2.5 if lit else 0.8))
    else:
        ccol = _jitter(rng, (1.0, 1.0, 1.0), 0.03) * np.float32(base * rng.uniform(0.7, 1.4))
    shade = 1.0 - np.float32(rng.uniform(0.3, 0.75)) * thick  # thick cloud bases are darker
    img *= expand3(1.0 - c)
    img += scale_channels(expand3(shade * c), ccol)


def add_stars(rng: np.random.Generator, img: np.ndarray, below: float, strength: float):
    """Sprinkle point stars above ``below`` (y) in a night sky, in place."""
    h, w = img.shape[:2]
    n = int(rng.integers(5, 60) * (h * w) / 65536)
    ys = rng.integers(0, max(1, int(below)), n)
    xs = rng.integers(0, w, n)
    img[ys, xs] += (10 ** rng.uniform(0, np.log10(strength), n))[:, None].astype(np.float32) * img.mean()


def haze(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Low-frequency multiplicative variation (0.6..1.4) for large surfaces."""
    return np.float32(1.0) + np.float32(rng.uniform(0.05, 0.3)) * np.clip(
        cv2.resize(randn(rng, (4, 4)), (w, h), interpolation=cv2.INTER_CUBIC), -2, 2)
