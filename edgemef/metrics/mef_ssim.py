"""MEF-SSIM (K. Ma, K. Zeng, Z. Wang, IEEE TIP 24(11), 2015), computed as MEFB does.

MEFB's ``metricsMEF_SSIM`` converts the sources and the fused image to 8-bit gray with
``rgb2gray`` and calls the authors' ``mef_ms_ssim`` with its defaults: K = 0.03, an 11x11 Gaussian
window (sigma 1.5), 3 scales with weights [0.0448, 0.2856, 0.3001] (normalised), a 2x2 mean
filter + decimation between scales, and the mean of the quality map at each scale.

The per-patch loops of the MATLAB code are rewritten with window sums. For one patch the
"desired" structure is ``r = sum_k c_k (x_k - mu_k)`` with ``c_k = w_k / ed_k``, rescaled to norm
``max_k ed_k``; its Gaussian-weighted variance and covariance with the fused patch follow from the
windowed moments of the sources and the fused image, so nothing is evaluated patch by patch.
"""
from __future__ import annotations

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.metrics.matlab_compat import box_sum_valid, filter_valid, gaussian_1d, halve, rgb2gray_u8

EPS = np.finfo(np.float64).eps
WINDOW = 11
SCALE_WEIGHTS = np.array([0.0448, 0.2856, 0.3001])


def mef_ssim_map(sources: list[np.ndarray], fused: np.ndarray, k: float = 0.03) -> np.ndarray:
    """Single-scale MEF-SSIM quality map (``mef_ssim.m``) of gray images in [0, 255].

    Args:
        sources: K float64 (H, W) gray images.
        fused: float64 (H, W) gray image.
        k: the SSIM stabilising constant (C = (k * 255)^2).

    Returns:
        (H - 10, W - 10) float64 map, one value per fully-inside 11x11 window.
    """
    n = WINDOW * WINDOW
    g = gaussian_1d(WINDOW, 1.5)
    xs = [np.asarray(s, np.float64) for s in sources]
    f = np.asarray(fused, np.float64)
    nk = len(xs)

    # Window sums (exact on 8-bit data) -> means and mean-removed energies ||x - mu||^2.
    sums = [box_sum_valid(x, WINDOW) for x in xs]
    mu = [s / n for s in sums]
    energy = {}
    for i in range(nk):
        for j in range(i, nk):
            e = box_sum_valid(xs[i] * xs[j], WINDOW) - sums[i] * sums[j] / n
            energy[i, j] = energy[j, i] = e
    # ed = sqrt(max(wSize^2 * sigmaSq, 0)) + 0.001 (the signal strength of each patch).
    ed = np.stack([np.sqrt(np.maximum(energy[i, i], 0.0)) + 0.001 for i in range(nk)])

    # Structure consistency R = ||sum_k (x_k - mu_k)|| / sum_k ||x_k - mu_k||.
    num = np.sqrt(np.maximum(sum(energy[i, j] for i in range(nk) for j in range(nk)), 0.0))
    den = sum(np.sqrt(np.maximum(energy[i, i], 0.0)) for i in range(nk))
    r = (num + EPS) / (den + EPS)
    r[r > 1] = 1 - EPS
    r[r < 0] = EPS
    p = np.minimum(np.tan(np.pi / 2 * r), 10.0)

    w = (ed / WINDOW) ** p + EPS
    w /= w.sum(axis=0)
    max_ed = ed.max(axis=0)
    c = w / ed  # coefficient of (x_k - mu_k) in the desired patch

    # ||sum_k c_k (x_k - mu_k)||^2 over the square window; rescale to norm max_ed when non-zero.
    norm2 = np.maximum(sum(c[i] * c[j] * energy[i, j] for i in range(nk) for j in range(nk)), 0.0)
    safe = np.where(norm2 > 0, norm2, 1.0)
    scale = np.where(norm2 > 0, max_ed / np.sqrt(safe), 0.0)

    # Gaussian-weighted moments of the sources and the fused image.
    gm = [filter_valid(x, g) for x in xs]
    gf = filter_valid(f, g)
    var_f = filter_valid(f * f, g) - gf * gf
    cov_xf = [filter_valid(x * f, g) - m * gf for x, m in zip(xs, gm)]
    var_r = np.zeros_like(gf)
    for i in range(nk):
        for j in range(i, nk):
            cov = filter_valid(xs[i] * xs[j], g) - gm[i] * gm[j]
            var_r += (1.0 if i == j else 2.0) * c[i] * c[j] * cov
    var_r *= scale * scale
    cov_rf = scale * sum(c[i] * cov_xf[i] for i in range(nk))

    cc = (k * 255.0) ** 2
    return (2.0 * cov_rf + cc) / (var_r + var_f + cc)


def mef_ssim_scales(sources: list[np.ndarray], fused: np.ndarray, levels: int = 3) -> list[float]:
    """Mean MEF-SSIM at each scale (``mef_ms_ssim.m``'s ``Q``), gray images in [0, 255]."""
    xs = [np.asarray(s, np.float64) for s in sources]
    f = np.asarray(fused, np.float64)
    if min(f.shape) / 2 ** (levels - 1) < WINDOW:
        raise EdgemefError(
            f"image too small for {levels}-scale MEF-SSIM ({f.shape[1]}x{f.shape[0]}; "
            f"needs at least {WINDOW * 2 ** (levels - 1)} px a side)"
        )
    out = []
    for level in range(levels):
        out.append(float(np.mean(mef_ssim_map(xs, f))))
        if level < levels - 1:
            xs = [halve(x) for x in xs]
            f = halve(f)
    return out


def mef_ssim(fused: np.ndarray, sources: list[np.ndarray]) -> float:
    """MEF-SSIM of a fused image against its source exposures, as MEFB computes it.

    Every image is quantised to 8 bits and converted to gray like MATLAB's ``rgb2gray`` on uint8
    (weights 0.2989/0.5870/0.1140, rounded); then the 3-scale ``mef_ms_ssim`` score
    ``prod(Q_l ** w_l)``. Higher is better; 1 means the fused image has the locally best structure.

    Args:
        fused: (H, W, 3) or (H, W) image, float in [0, 1] or uint8.
        sources: the 2-3 exposures, same size and convention.

    Returns:
        The score, at most 1.
    """
    _check_sizes(fused, sources)
    q = np.array(mef_ssim_scales([rgb2gray_u8(s) for s in sources], rgb2gray_u8(fused)))
    weights = SCALE_WEIGHTS / SCALE_WEIGHTS.sum()
    return float(np.prod(q**weights))


def _check_sizes(fused: np.ndarray, sources: list[np.ndarray]) -> None:
    if len(sources) < 1:
        raise EdgemefError("need at least one source image")
    shapes = {np.shape(s)[:2] for s in sources} | {np.shape(fused)[:2]}
    if len(shapes) != 1:
        raise EdgemefError(f"fused and source images differ in size: {sorted(shapes)}")
