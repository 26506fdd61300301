"""Full-reference metrics against a ground-truth label: PSNR, SSIM, MS-SSIM.

SSIM is Wang, Bovik, Sheikh and Simoncelli (IEEE TIP 2004) as in their ``ssim_index.m``: an 11x11
Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, the mean over the windows fully inside the image,
no automatic downsampling. Colour images are reduced to luma first (MATLAB ``rgb2gray`` weights,
not rounded). MS-SSIM is Wang, Simoncelli and Bovik (2003): 5 scales, weights
[0.0448, 0.2856, 0.3001, 0.2363, 0.1333], 2x2 mean + decimation between scales, contrast-structure
at every scale and luminance at the coarsest; a negative term is clipped to 0 (as pytorch-msssim).
"""
from __future__ import annotations

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.metrics.matlab_compat import GRAY_WEIGHTS, filter_valid, gaussian_1d, halve

MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _as_float(image: np.ndarray) -> tuple[np.ndarray, float]:
    """float64 values and their natural range: 255 for uint8, 65535 for uint16, else 1."""
    a = np.asarray(image)
    rng = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 1.0)
    return a.astype(np.float64), rng


def _pair(x: np.ndarray, y: np.ndarray, data_range: float | None) -> tuple[np.ndarray, np.ndarray, float]:
    if np.shape(x) != np.shape(y):
        raise EdgemefError(f"image and reference differ in shape: {np.shape(x)} vs {np.shape(y)}")
    xf, rx = _as_float(x)
    yf, _ = _as_float(y)
    return xf, yf, float(data_range if data_range is not None else rx)


def _luma(x: np.ndarray) -> np.ndarray:
    if x.ndim == 3 and x.shape[2] >= 3:
        return x[..., :3] @ GRAY_WEIGHTS
    return x.reshape(x.shape[:2])


def psnr(image: np.ndarray, reference: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels.

    Args:
        image, reference: same shape; float (range 1 by default) or uint8/uint16.
        data_range: peak value; default 255 for uint8, 65535 for uint16, 1 for floats.

    Returns:
        10 log10(range^2 / MSE); ``inf`` for identical images.
    """
    x, y, r = _pair(image, reference, data_range)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(r * r / mse))


PSNR_CAP_DB = 120.0  # what identical images report instead of infinity (JSON has no inf)


def psnr_capped(image: np.ndarray, reference: np.ndarray, cap: float = PSNR_CAP_DB) -> float:
    """PSNR in dB of float images with peak 1 (float64 MSE), at most ``cap``: the figure parity
    checks and benchmarks record, where identical outputs must stay a finite JSON number."""
    mse = float(np.mean((np.asarray(image, np.float64) - np.asarray(reference, np.float64)) ** 2))
    return cap if mse <= 10 ** (-cap / 10) else float(10.0 * np.log10(1.0 / mse))


def _ssim_terms(x: np.ndarray, y: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """(luminance term, contrast-structure term) maps over the valid windows."""
    g = gaussian_1d(11, 1.5)
    c1, c2 = (0.01 * r) ** 2, (0.03 * r) ** 2
    mx, my = filter_valid(x, g), filter_valid(y, g)
    vx = filter_valid(x * x, g) - mx * mx
    vy = filter_valid(y * y, g) - my * my
    cxy = filter_valid(x * y, g) - mx * my
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    cs = (2 * cxy + c2) / (vx + vy + c2)
    return lum, cs


def ssim(image: np.ndarray, reference: np.ndarray, data_range: float | None = None) -> float:
    """Mean SSIM on luma (see the module notes); 1 for identical images.

    Args:
        image, reference: (H, W, 3) or (H, W), H and W at least 11.
        data_range: as in :func:`psnr`.
    """
    x, y, r = _pair(image, reference, data_range)
    x, y = _luma(x), _luma(y)
    if min(x.shape) < 11:
        raise EdgemefError(f"image too small for SSIM ({x.shape[1]}x{x.shape[0]}; needs 11 px a side)")
    lum, cs = _ssim_terms(x, y, r)
    return float(np.mean(lum * cs))


def ms_ssim(image: np.ndarray, reference: np.ndarray, data_range: float | None = None) -> float:
    """5-scale MS-SSIM on luma; 1 for identical images. Needs at least 176 px a side."""
    x, y, r = _pair(image, reference, data_range)
    x, y = _luma(x), _luma(y)
    levels = len(MS_SSIM_WEIGHTS)
    if min(x.shape) < 11 * 2 ** (levels - 1):
        raise EdgemefError(
            f"image too small for MS-SSIM ({x.shape[1]}x{x.shape[0]}; needs {11 * 2 ** (levels - 1)} px a side)"
        )
    score = 1.0
    for level, weight in enumerate(MS_SSIM_WEIGHTS):
        lum, cs = _ssim_terms(x, y, r)
        term = np.mean(lum * cs) if level == levels - 1 else np.mean(cs)
        score *= max(float(term), 0.0) ** weight
        if level < levels - 1:
            x, y = halve(x), halve(y)
    return float(score)
