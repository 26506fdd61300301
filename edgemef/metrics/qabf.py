"""Q^AB/F, the gradient-based fusion metric of Xydeas and Petrovic (2000), as MEFB computes it.

MEFB's ``metricsQabf`` scores each RGB channel separately and averages the three; one channel is
the Sobel edge strength and orientation of each source kept in the fused image, weighted by the
source's edge strength. Quirks kept on purpose, because they move the numbers:

- ``conv2(.., 'same')``: zero padding, so the image border counts as a strong edge;
- values are scaled to [0, 255^2] (``255 * im2double`` of a double) before the gradients, and
  where a source and the fused image have *equal* gradient magnitude the strength ratio is set to
  that magnitude (not 1), so the sigmoid saturates at ``Tg``;
- orientation is ``atan(gy / gx)``, pi/2 where ``gx == 0``.

With three sources the sum runs over all three (the usual generalisation; MEFB has two).
"""
from __future__ import annotations

import numpy as np

from edgemef.metrics.matlab_compat import conv2_same, planes
from edgemef.metrics.mef_ssim import _check_sizes

TG, KG, DG = 0.9994, -15.0, 0.5
TA, KA, DA = 0.9879, -22.0, 0.8
SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)


def _gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel magnitude and orientation of one (H, W) channel in MEFB's scaling."""
    p = 255.0 * x
    sx = conv2_same(p, SOBEL_X)
    sy = conv2_same(p, SOBEL_Y)
    mag = np.sqrt(sx * sx + sy * sy)
    zero = sx == 0
    angle = np.divide(sy, sx, out=np.zeros_like(sx), where=~zero)
    np.arctan(angle, out=angle)
    angle[zero] = np.pi / 2
    return mag, angle


def _preservation(ga: np.ndarray, aa: np.ndarray, gf: np.ndarray, af: np.ndarray) -> np.ndarray:
    """Q^AF: how much of source A's edge strength and orientation survives in F, per pixel."""
    hi = np.maximum(ga, gf)
    ratio = np.divide(np.minimum(ga, gf), hi, out=np.zeros_like(hi), where=hi > 0)
    equal = ga == gf
    ratio[equal] = gf[equal]  # MEFB's branch for equal magnitudes: the magnitude itself
    # Tg / (1 + exp(kg (ratio - Dg))) * Ta / (1 + exp(ka (orientation - Da))), in place.
    ratio -= DG
    ratio *= KG
    np.exp(ratio, out=ratio)
    ratio += 1.0
    orient = np.abs(aa - af)
    orient *= -1.0 / (np.pi / 2)
    orient += 1.0 - DA
    orient *= KA
    np.exp(orient, out=orient)
    orient += 1.0
    ratio *= orient
    return (TG * TA) / ratio


def qabf_channel(sources: list[np.ndarray], fused: np.ndarray) -> float:
    """Q^AB/F of one channel.

    Args:
        sources: (H, W) float64 channels in [0, 255].
        fused: (H, W) float64 channel in [0, 255].
    """
    gf, af = _gradients(fused)
    num = 0.0
    den = 0.0
    for s in sources:
        gs, as_ = _gradients(s)
        num += float(np.sum(_preservation(gs, as_, gf, af) * gs))
        den += float(np.sum(gs))
    return num / den if den > 0 else float("nan")


def qabf(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """Q^AB/F in [0, 1] (higher is better), the mean over colour channels as in MEFB.

    Args:
        fused: (H, W, 3) or (H, W) image, float in [0, 1] or uint8 (scored as 8-bit).
        sources: the 2-3 exposures, same size and convention. Gray sources with a colour fused
            image use the fused image's first channel, as MEFB does.

    Returns:
        The score; NaN when no source has any gradient.
    """
    _check_sizes(fused, sources)
    fp = planes(fused)
    sp = [planes(s) for s in sources]
    if all(len(s) == 1 for s in sp):
        fp = fp[:1]
    scores = [qabf_channel([s[min(c, len(s) - 1)] for s in sp], f) for c, f in enumerate(fp)]
    return float(np.mean(scores))
