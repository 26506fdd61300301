"""The brightness map between two frames of one scene, fitted on a patch (numpy + OpenCV).

Dynamic-scene synthesis (:mod:`edgemef.data.dynamic`) shows an inserted object at the label's
brightness and maps it into the under-exposed frame with the ``I_gt -> I_u`` relation of the
box it lands in: :class:`GainGamma`, ``y = gain * x ** gamma`` per channel on display values,
fitted by :func:`fit_gain_gamma`. :func:`residual_noise` measures the frame's noise so that the
object gets the same grain.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LO, HI = 3 / 255, 250 / 255  # pixels darker or brighter than this do not enter the fits
_HP_SIGMA = 1.0
_g = cv2.getGaussianKernel(7, _HP_SIGMA)
_hp = -(_g @ _g.T)
_hp[3, 3] += 1.0
HP_GAIN = float(np.sqrt((_hp ** 2).sum()))  # std of white noise after the high-pass below


@dataclass(frozen=True)
class GainGamma:
    """Per-channel brightness map ``y = gain * x ** gamma`` on display values in [0, 1]."""

    gain: tuple[float, float, float]
    gamma: tuple[float, float, float]

    def apply(self, img: np.ndarray) -> np.ndarray:
        """Map an RGB image ``(..., 3)``; the result is clipped to [0, 1]."""
        x = np.clip(np.asarray(img, np.float32), 0.0, 1.0)
        y = np.power(x, np.array(self.gamma, np.float32)) * np.array(self.gain, np.float32)
        return np.clip(y, 0.0, 1.0).astype(np.float32)


def _fit_channel(x: np.ndarray, y: np.ndarray, lo: float, hi: float, min_pixels: int) -> tuple[float, float]:
    ok = (x > lo) & (x < hi) & (y > lo) & (y < hi)
    if ok.sum() < min_pixels:  # too few usable pixels: a plain gain from the means
        return float((y.sum() + 1e-6) / (x.sum() + 1e-6)), 1.0
    lx, ly = np.log(x[ok].astype(np.float64)), np.log(y[ok].astype(np.float64))
    wt = y[ok].astype(np.float64) ** 2  # ~1 / var(log y) under additive noise
    for _ in range(2):  # weighted least squares, then once more without the outliers
        mx, my = np.average(lx, weights=wt), np.average(ly, weights=wt)
        vx = np.average((lx - mx) ** 2, weights=wt)
        g = np.average((lx - mx) * (ly - my), weights=wt) / vx if vx > 1e-4 else 1.0
        g = float(np.clip(g, 0.3, 4.0))
        la = my - g * mx
        r = ly - la - g * lx
        mad = np.median(np.abs(r - np.median(r)))
        keep = np.abs(r) <= 3.0 * 1.4826 * mad + 1e-3
        if keep.sum() < min_pixels or keep.all():
            break
        lx, ly, wt = lx[keep], ly[keep], wt[keep]
    return float(np.exp(la)), g


def fit_gain_gamma(gt: np.ndarray, under: np.ndarray, lo: float = LO, hi: float = HI,
                   min_pixels: int = 16) -> GainGamma:
    """Fit :class:`GainGamma` from ``gt`` to ``under`` (same-size RGB patches in [0, 1]).

    Per channel, weighted least squares of ``log under = log gain + gamma * log gt`` over the
    pixels that are neither near black nor clipped in either patch, then a refit without the
    outliers (3 MADs); gamma is kept in [0.3, 4]. With fewer than ``min_pixels`` usable pixels,
    a plain gain (ratio of the sums) and gamma 1.
    """
    if gt.shape != under.shape or gt.ndim != 3 or gt.shape[2] != 3:
        raise ValueError(f"need two (H, W, 3) patches of one shape, got {gt.shape} and {under.shape}")
    fits = [_fit_channel(gt[..., c], under[..., c], lo, hi, min_pixels) for c in range(3)]
    return GainGamma(tuple(f[0] for f in fits), tuple(f[1] for f in fits))


def residual_noise(gt: np.ndarray, under: np.ndarray, t: GainGamma, lo: float = LO, hi: float = HI) -> float:
    """The under patch's noise std: robust std (1.4826 MAD) of the high-passed residual
    ``under - t(gt)`` over unclipped pixels, rescaled to white noise (the high-pass drops the
    slow misfit of the map; the clean label has no noise of its own)."""
    r = (under.astype(np.float32) - t.apply(gt)).mean(-1)
    hp = r - cv2.GaussianBlur(r, (7, 7), _HP_SIGMA)
    ok = ((under > lo) & (under < hi)).all(-1)
    v = hp[ok]
    if v.size < 16:
        return 0.0
    # averaging 3 channels of independent noise divides its std by sqrt(3)
    return float(1.4826 * np.median(np.abs(v - np.median(v))) / HP_GAIN * np.sqrt(3.0))
