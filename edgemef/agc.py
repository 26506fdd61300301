"""Adaptive gamma correction (AGC) of Rahman et al. 2016 (numpy + OpenCV only).

S. Rahman, M. M. Rahman, M. Abdullah-Al-Wadud, G. D. Al-Quaderi and M. Shoyaib, "An adaptive
gamma correction for image enhancement", EURASIP Journal on Image and Video Processing 2016:35.

The method works on the brightness channel ``I`` in [0, 1] (HSV V in the paper) with its mean
``mu`` and standard deviation ``sigma``:

* contrast class: low contrast when ``D = 4 * sigma <= 1 / tau`` (``tau = 3``), else high contrast;
* gamma: low contrast ``gamma = -log2(sigma)``; high contrast ``gamma = exp((1 - (mu + sigma)) / 2)``;
* brightness sub-class: dark when ``mu < 0.5``, bright otherwise;
* transform ``I_out = c * I**gamma`` with ``c = 1 / (1 + H(0.5 - mu) * (k - 1))`` and
  ``k = I**gamma + (1 - I**gamma) * mu**gamma`` (``H`` the Heaviside step), i.e. bright images get
  plain ``I**gamma`` and dark images ``I**gamma / k``, which lifts the mean to about 0.5.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

TAU = 3.0
"""The paper's contrast threshold: low contrast when 4 * sigma <= 1 / TAU."""
LOW_DARK, LOW_BRIGHT, HIGH_DARK, HIGH_BRIGHT = "low-contrast dark", "low-contrast bright", "high-contrast dark", "high-contrast bright"
CLASSES = (LOW_DARK, LOW_BRIGHT, HIGH_DARK, HIGH_BRIGHT)
_SIGMA_MIN = 1e-3  # flat images: caps the low-contrast gamma at -log2(1e-3) ~ 9.97
_MU_MIN = 1e-4  # black images: keeps the dark-class k-factor finite
_STATS_PIXELS = 1 << 18  # statistics of larger images are taken on a strided subsample


def agc_stats(lum: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of a brightness image in [0, 1].

    Images above ~262k pixels are subsampled on a regular grid (cheap, same statistics to ~1e-3).
    """
    lum = np.asarray(lum)
    if lum.size == 0:
        raise ValueError("agc_stats: empty image")
    step = max(1, int(math.sqrt(lum.size / _STATS_PIXELS)))
    sub = lum[::step, ::step] if lum.ndim >= 2 else lum[::step]
    if lum.dtype == np.uint8:
        sub = sub.astype(np.float32) / np.float32(255.0)
    mean, std = cv2.meanStdDev(np.ascontiguousarray(sub, dtype=np.float32).reshape(-1, 1))
    return float(mean[0, 0]), float(std[0, 0])


def classify(mu: float, sigma: float, tau: float = TAU) -> str:
    """The paper's class of an image with brightness mean ``mu`` and deviation ``sigma``."""
    low = 4.0 * sigma <= 1.0 / tau
    dark = mu < 0.5
    if low:
        return LOW_DARK if dark else LOW_BRIGHT
    return HIGH_DARK if dark else HIGH_BRIGHT


def gamma_for(mu: float, sigma: float, tau: float = TAU) -> tuple[float, str]:
    """(gamma, class) from the statistics: -log2(sigma) at low contrast, exp((1-(mu+sigma))/2) at high."""
    cls = classify(mu, sigma, tau)
    if cls in (LOW_DARK, LOW_BRIGHT):
        gamma = -math.log2(max(sigma, _SIGMA_MIN))
    else:
        gamma = math.exp((1.0 - (mu + sigma)) / 2.0)
    return gamma, cls


def agc_gamma(lum: np.ndarray, tau: float = TAU) -> tuple[float, str]:
    """Gamma and class of a brightness image.

    Args:
        lum: (H, W) brightness (V or luminance), float in [0, 1] or uint8.
        tau: contrast threshold (3 in the paper).

    Returns:
        (gamma, cls) with ``cls`` one of :data:`CLASSES`.
    """
    mu, sigma = agc_stats(lum)
    return gamma_for(mu, sigma, tau)


def agc_curve(x: np.ndarray, gamma: float, mu: float) -> np.ndarray:
    """Apply the AGC transform with a given gamma and image mean to values ``x`` in [0, 1].

    Bright images (``mu >= 0.5``): ``x**gamma``; dark ones: ``x**gamma / (x**gamma + (1 - x**gamma) * mu**gamma)``.
    """
    xg = np.power(np.clip(np.asarray(x, np.float32), 0.0, 1.0), np.float32(gamma))
    if mu >= 0.5:
        return xg
    mg = np.float32(max(mu, _MU_MIN) ** gamma)
    k = xg + (1.0 - xg) * mg
    return (xg / np.maximum(k, np.float32(1e-12))).astype(np.float32)


def agc_lut(lum: np.ndarray, tau: float = TAU) -> tuple[np.ndarray, float, str]:
    """A 256-entry uint8 lookup table applying AGC to a uint8 image: (lut, gamma, class)."""
    mu, sigma = agc_stats(lum)
    gamma, cls = gamma_for(mu, sigma, tau)
    lut = agc_curve(np.arange(256, dtype=np.float32) / 255.0, gamma, mu)
    return np.clip(lut * 255.0 + 0.5, 0, 255).astype(np.uint8), gamma, cls


def agc_luminance(lum: np.ndarray, tau: float = TAU) -> np.ndarray:
    """AGC of a brightness image: (H, W) float in [0, 1] -> (H, W) float32 in [0, 1]."""
    mu, sigma = agc_stats(lum)
    gamma, _ = gamma_for(mu, sigma, tau)
    return agc_curve(lum, gamma, mu)


def adaptive_gamma_correction(image: np.ndarray, tau: float = TAU) -> np.ndarray:
    """Enhance an RGB image by AGC of its HSV value channel, hue and saturation kept.

    Replacing V = max(R, G, B) by V' at fixed H and S scales each pixel's RGB by V' / V, which is
    what is done here (exactly the HSV round trip, without it).

    Args:
        image: float32 (H, W, 3) RGB in [0, 1].
        tau: contrast threshold (3 in the paper).

    Returns:
        float32 (H, W, 3) RGB in [0, 1].
    """
    img = np.asarray(image, np.float32)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"adaptive_gamma_correction: expected (H, W, 3) RGB, got shape {img.shape}")
    v = img.max(axis=2)
    v_new = agc_luminance(v, tau)
    scale = np.where(v > 0, v_new / np.maximum(v, np.float32(1e-12)), 0.0).astype(np.float32)
    return np.clip(img * scale[..., None], 0.0, 1.0)
