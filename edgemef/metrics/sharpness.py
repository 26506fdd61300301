"""Single-image statistics used as fusion metrics in MEFB: AG, EI, SF, SD, EN.

Each takes only the fused image, quantised to 8 bits and read as float64 in [0, 255] like MEFB's
``imread`` + ``double``; each is computed per colour channel and averaged over channels, as MEFB's
``metricsAvg_gradient``, ``metricsEdge_intensity``, ``metricsSpatial_frequency``, ``metricsSD`` and
``metricsEntropy`` do for RGB images. Higher means more detail/contrast; none says the result
looks right on its own (a noisy image scores high on all five).
"""
from __future__ import annotations

import numpy as np

from edgemef.metrics.matlab_compat import imfilter_replicate, planes

SOBEL = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64)  # fspecial('sobel')


def _ag(x: np.ndarray) -> float:
    gy, gx = np.gradient(x)  # MATLAB gradient: central inside, one-sided at the ends
    h, w = x.shape
    return float(np.sum(np.sqrt((gx * gx + gy * gy) / 2.0)) / ((h - 1) * (w - 1)))


def _ei(x: np.ndarray) -> float:
    gx = imfilter_replicate(x, SOBEL)
    gy = imfilter_replicate(x, SOBEL.T)
    return float(np.mean(np.sqrt(gx * gx + gy * gy)))


def _sf(x: np.ndarray) -> float:
    n = x.size
    rf = np.sum(np.diff(x, axis=1) ** 2) / n
    cf = np.sum(np.diff(x, axis=0) ** 2) / n
    return float(np.sqrt(rf + cf))


def _sd(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean((x - x.mean()) ** 2)))


def _en(x: np.ndarray) -> float:
    counts = np.bincount(np.floor(x).astype(np.int64).ravel(), minlength=256)
    p = counts[counts > 0] / x.size
    return float(-np.sum(p * np.log2(p)))


def _per_channel(fn, image: np.ndarray) -> float:
    return float(np.mean([fn(c) for c in planes(image)]))


def ag(image: np.ndarray) -> float:
    """Average gradient: mean of sqrt((dx^2 + dy^2) / 2), summed and divided by (H-1)(W-1).

    Args:
        image: (H, W, 3) or (H, W), float in [0, 1] or uint8.
    """
    return _per_channel(_ag, image)


def ei(image: np.ndarray) -> float:
    """Edge intensity: mean Sobel gradient magnitude (replicated borders)."""
    return _per_channel(_ei, image)


def sf(image: np.ndarray) -> float:
    """Spatial frequency sqrt(RF^2 + CF^2), both squared-difference sums divided by H*W."""
    return _per_channel(_sf, image)


def sd(image: np.ndarray) -> float:
    """Standard deviation of the pixel values (population, divided by H*W)."""
    return _per_channel(_sd, image)


def en(image: np.ndarray) -> float:
    """Shannon entropy in bits of the 256-bin histogram."""
    return _per_channel(_en, image)
