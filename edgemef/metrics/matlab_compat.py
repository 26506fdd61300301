"""Small numpy/OpenCV equivalents of the MATLAB calls the MEFB metric code relies on.

MEFB (X. Zhang, "Benchmarking and comparing multi-exposure image fusion algorithms", Information
Fusion 74, 2021) reads every image with ``imread`` (uint8), so its metrics see 8-bit values as
doubles in [0, 255]. These helpers reproduce that view of an edgemef image and the filtering
conventions (``filter2 'valid'``, ``conv2 'same'``, ``imfilter 'replicate'``, ``fspecial``).
"""
from __future__ import annotations

import cv2
import numpy as np

from edgemef.errors import EdgemefError

# MATLAB's rgb2gray weights (the YIQ luminance row, as MATLAB writes it).
GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def to_uint8(image: np.ndarray) -> np.ndarray:
    """The 8-bit image MEFB would read back from a lossless file.

    Args:
        image: (H, W) or (H, W, C) uint8, uint16, or float in [0, 1] (edgemef convention).

    Returns:
        uint8 array of the same shape; floats are clipped and rounded half up, as
        :func:`edgemef.io.save_image` writes them.
    """
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        return np.floor(np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise EdgemefError(f"unsupported image type {a.dtype} (use uint8, uint16 or float in [0, 1])")


def planes(image: np.ndarray) -> list[np.ndarray]:
    """Channels of an 8-bit-quantised image as float64 (H, W) arrays in [0, 255]."""
    u8 = to_uint8(image)
    if u8.ndim == 2:
        return [u8.astype(np.float64)]
    return [u8[..., c].astype(np.float64) for c in range(u8.shape[2])]


def rgb2gray_u8(image: np.ndarray) -> np.ndarray:
    """MATLAB ``double(rgb2gray(uint8 image))``: weighted sum rounded to uint8, as float64.

    A single-channel image is returned as is (in [0, 255]).
    """
    u8 = to_uint8(image)
    if u8.ndim == 2 or u8.shape[2] == 1:
        return u8.reshape(u8.shape[:2]).astype(np.float64)
    y = u8[..., :3].astype(np.float64) @ GRAY_WEIGHTS
    return np.clip(np.floor(y + 0.5), 0, 255)


def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB's ``fspecial('gaussian', size, sigma)`` (which is separable).

    ``fspecial`` zeroes taps below ``eps * max``; for the sizes used here none are that small.
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def filter_valid(x: np.ndarray, k1d: np.ndarray) -> np.ndarray:
    """``filter2(outer(k1d, k1d), x, 'valid')`` for a symmetric separable kernel.

    Args:
        x: (H, W) float64.
        k1d: (N,) odd-length 1-D kernel.

    Returns:
        (H - N + 1, W - N + 1) float64.
    """
    r = len(k1d) // 2
    k = np.asarray(k1d, np.float64)
    y = cv2.sepFilter2D(x, cv2.CV_64F, k, k, borderType=cv2.BORDER_CONSTANT)
    return y[r : x.shape[0] - r, r : x.shape[1] - r]


def box_sum_valid(x: np.ndarray, size: int) -> np.ndarray:
    """Sum over every ``size`` x ``size`` window fully inside ``x`` (direct summation, no running sums).

    Exact for integer- or dyadic-valued inputs, which keeps flat patches exactly flat.
    """
    return filter_valid(x, np.ones(size, np.float64))


def conv2_same(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB ``conv2(x, kernel, 'same')``: true convolution with zero padding, odd kernels."""
    k = np.ascontiguousarray(np.asarray(kernel, np.float64)[::-1, ::-1])
    return cv2.filter2D(x, cv2.CV_64F, k, borderType=cv2.BORDER_CONSTANT)


def imfilter_replicate(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB ``imfilter(x, kernel, 'replicate')``: correlation, replicated borders, odd kernels."""
    k = np.asarray(kernel, np.float64)
    return cv2.filter2D(x, cv2.CV_64F, k, borderType=cv2.BORDER_REPLICATE)


def halve(x: np.ndarray) -> np.ndarray:
    """``imfilter(x, ones(2)/4, 'symmetric', 'same')`` then ``(1:2:end, 1:2:end)``.

    The 2x2 mean anchored at the top-left pixel, with the last row/column mirrored on odd sizes:
    (H, W) -> (ceil(H/2), ceil(W/2)).
    """
    h, w = x.shape
    if h % 2 or w % 2:
        x = np.pad(x, ((0, h % 2), (0, w % 2)), mode="edge")
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4.0
