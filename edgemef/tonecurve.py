"""The input frames' own tone curves, fitted from radiance: how an HDR network's output is re-exposed.

An HDR network (STHDR) reads its frames as ``I ** 2.2 / t`` and returns radiance on that scale.
Re-exposing the radiance with the same gamma (:func:`edgemef.netio.reexpose`) gives frames in a
generic camera's look; a real camera's curve is not a pure power law (an S-shaped shoulder, a
toe, per-channel differences), so those virtual frames come out darker or flatter than the
frames the user shot, most in the bright tones. :func:`match_frames` fits, for each frame and
colour channel, one monotone curve from the virtual frame's values to the real frame's (64 bins,
each bin's mean pulled toward the identity when it holds few pixels, then made non-decreasing by
pool-adjacent-violators) and applies it. The curve is global, one value per bin: it cannot copy
a frame's content, only its tone, so what moved between the frames stays where the network put it.

On mefb-dev's 40 real pairs the bundled STHDR weights, shown by exposure fusion, go from
MEF-SSIM 0.9456 / Q^AB/F 0.5533 to 0.9515 / 0.5634 with matched curves; on 32 synthetic sets
(random camera curves) from 0.9262 to 0.9328 and synthetic PSNR from 19.05 to 19.49 dB
(``python -m edgemef.benchmarks.hdr_display`` measures the same for the true radiance).

numpy only.
"""
from __future__ import annotations

import numpy as np

BINS = 64  # curve resolution over [0, 1]
PRIOR = 50.0  # pixels' worth of pull toward the identity in each bin (sparse bins stay near it)


def _nondecreasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit of ``values`` (pool-adjacent-violators)."""
    means: list[float] = []
    mass: list[float] = []
    sizes: list[int] = []
    for v, w in zip(values.tolist(), weights.tolist()):
        means.append(v)
        mass.append(w)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2, w1 = mass.pop(), mass.pop()
            v2, v1 = means.pop(), means.pop()
            n2, n1 = sizes.pop(), sizes.pop()
            means.append((v1 * w1 + v2 * w2) / (w1 + w2))
            mass.append(w1 + w2)
            sizes.append(n1 + n2)
    return np.repeat(np.asarray(means, np.float64), sizes)


def fit_curve(source: np.ndarray, target: np.ndarray, bins: int = BINS,
              prior: float = PRIOR) -> tuple[np.ndarray, np.ndarray]:
    """Monotone curve ``source -> target`` (both in [0, 1], same shape): (knots, values), ``bins`` each."""
    s = np.clip(np.asarray(source, np.float64).ravel(), 0.0, 1.0)
    t = np.clip(np.asarray(target, np.float64).ravel(), 0.0, 1.0)
    if s.shape != t.shape:
        raise ValueError(f"source and target differ in size: {s.shape} vs {t.shape}")
    knots = (np.arange(bins) + 0.5) / bins
    idx = np.minimum((s * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins).astype(np.float64)
    total = np.bincount(idx, weights=t, minlength=bins)
    means = (total + prior * knots) / (count + prior)
    return knots, _nondecreasing(means, count + prior)


def apply_curve(x: np.ndarray, curve: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The fitted curve at ``x`` (linear between knots, flat past the ends), float32."""
    knots, values = curve
    return np.interp(x, knots, values).astype(np.float32)


def match_frames(virtual: list[np.ndarray], frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each virtual frame (H, W, C) given its real frame's tone, per channel (see the module doc)."""
    if len(virtual) != len(frames):
        raise ValueError(f"{len(virtual)} virtual frames for {len(frames)} frames")
    out = []
    for v, f in zip(virtual, frames):
        if np.shape(v) != np.shape(f):
            raise ValueError(f"a virtual frame {np.shape(v)} and its frame {np.shape(f)} differ in size")
        m = np.empty(np.shape(v), np.float32)
        for c in range(m.shape[-1]):
            m[..., c] = apply_curve(v[..., c], fit_curve(v[..., c], f[..., c]))
        out.append(m)
    return out
