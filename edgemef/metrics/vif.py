"""VIF for image fusion (Y. Han, Y. Cai, Y. Cao, X. Xu, Information Fusion 14(2), 2013), as MEFB.

MEFB's ``metricsVIF`` scores each RGB channel on its own (so the code's Lab branch never runs)
and averages. For one channel, Sheikh and Bovik's pixel-domain VIF statistics are computed for
each source against the fused image on 4 Gaussian scales (windows 17, 9, 5, 3 px, sigma = N/5,
``filter2 'valid'`` and 2x decimation); at each pixel the source with the *smaller* gain ``g`` is
kept, and the per-scale ratios sum(VID + C) / sum(VIND + C) are averaged with weights
[1, 0, 0.15, 1] / 2.15. Visual noise variance 0.005 * 255^2, C = 1e-7.
"""
from __future__ import annotations

import numpy as np

from edgemef.metrics.matlab_compat import filter_valid, gaussian_1d, planes
from edgemef.metrics.mef_ssim import _check_sizes

NOISE_VAR = 0.005 * 255 * 255
C = 1e-7
SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
TINY = 1e-10


def _windows() -> list[np.ndarray]:
    """Gaussian windows of the 4 scales: N = 17, 9, 5, 3 with sigma N / 5."""
    return [gaussian_1d(2 ** (5 - scale) + 1, (2 ** (5 - scale) + 1) / 5.0) for scale in range(1, 5)]


def _pyramid(x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(image, local mean, local variance clipped at 0) at each scale (``ComVidVindG``)."""
    out = []
    for scale, win in enumerate(_windows()):
        if scale > 0:
            x = filter_valid(x, win)[::2, ::2]
        mu = filter_valid(x, win)
        var = np.maximum(filter_valid(x * x, win) - mu * mu, 0.0)
        out.append((x, mu, var))
    return out


def _vid_vind(src, dist, win: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VID, VIND and gain maps of one source against the fused image at one scale.

    ``src`` and ``dist`` are (image, mean, variance) triples from :func:`_pyramid`.
    """
    (x, mu1, s1), (y, mu2, s2) = src, dist
    s12 = filter_valid(x * y, win) - mu1 * mu2
    g = s12 / (s1 + TINY)
    sv = s2 - g * s12
    low1, low2 = s1 < TINY, s2 < TINY
    g = np.where(low1 | low2, 0.0, g)
    sv = np.where(low2, 0.0, np.where(low1, s2, sv))
    s1 = np.where(low1, 0.0, s1)
    neg = g < 0
    sv = np.where(neg, s2, sv)
    g = np.where(neg, 0.0, g)
    sv = np.maximum(sv, TINY)
    vid = np.log10(1.0 + g * g * s1 / (sv + NOISE_VAR))
    vind = np.log10(1.0 + s1 / NOISE_VAR)
    return vid, vind, g


def vif_channel(sources: list[np.ndarray], fused: np.ndarray) -> float:
    """Fusion VIF of one channel; sources and fused are (H, W) float64 in [0, 255]."""
    dist = _pyramid(np.asarray(fused, np.float64))
    srcs = [_pyramid(np.asarray(s, np.float64)) for s in sources]
    total = 0.0
    for scale, (weight, win) in enumerate(zip(SCALE_WEIGHTS, _windows())):
        # Keep, per pixel, the source with the smallest gain; ties go to the later source
        # (MATLAB: ``L = G1 < G2`` takes source 1 only where its gain is strictly smaller).
        vid, vind, g = _vid_vind(srcs[-1][scale], dist[scale], win)
        for src in reversed(srcs[:-1]):
            vid_k, vind_k, g_k = _vid_vind(src[scale], dist[scale], win)
            take = g_k < g
            vid = np.where(take, vid_k, vid)
            vind = np.where(take, vind_k, vind)
            g = np.where(take, g_k, g)
        total += weight * float(np.sum(vid + C) / np.sum(vind + C))
    return total


def vif(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """Han et al.'s fusion VIF (higher is better), mean over colour channels as in MEFB.

    Args:
        fused: (H, W, 3) or (H, W) image, float in [0, 1] or uint8 (scored as 8-bit).
        sources: the 2-3 exposures, same size and convention.
    """
    _check_sizes(fused, sources)
    fp = planes(fused)
    sp = [planes(s) for s in sources]
    if all(len(s) == 1 for s in sp):
        fp = fp[:1]
    return float(np.mean([vif_channel([s[min(c, len(s) - 1)] for s in sp], f) for c, f in enumerate(fp)]))
