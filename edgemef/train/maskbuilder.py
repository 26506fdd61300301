"""MaskBuilder (Im et al. 2023): per-pixel masks of where each source is worth copying.

Each source luminance is blurred with a Gaussian (sigma 10, kernel 6 sigma + 1, reflected borders)
and min-max normalised per image. The under-exposed frame is informative where it is bright (the
scene's highlights), so its mask is the normalised blur itself; the over-exposed frame is
informative where it is dark (the shadows), so its mask is inverted. The masks weight a loss
between the fused image and each source: ``loss(M * fused, M * source)``.
"""
from __future__ import annotations

import torch

from edgemef.train.losses import gaussian_kernel1d, separable_filter

EPS = 1e-6


def kernel_size(sigma: float) -> int:
    """6 sigma + 1 taps, rounded to an odd integer (61 for sigma 10)."""
    n = int(round(6 * sigma)) + 1
    return n if n % 2 else n + 1


def blur(x: torch.Tensor, sigma: float = 10.0) -> torch.Tensor:
    """Gaussian blur of (B, C, H, W) with reflected borders (kernel clipped to fit small images)."""
    n = kernel_size(sigma)
    n = min(n, 2 * min(x.shape[-2:]) - 1)  # reflect padding needs pad < size
    return separable_filter(x, gaussian_kernel1d(n, sigma, x.device, x.dtype), padding="reflect")


def minmax(x: torch.Tensor) -> torch.Tensor:
    """Scale each (C, H, W) image of a (B, C, H, W) batch to [0, 1] (a flat image gives 0)."""
    flat = x.flatten(1)
    lo = flat.min(dim=1).values.view(-1, 1, 1, 1)
    hi = flat.max(dim=1).values.view(-1, 1, 1, 1)
    return (x - lo) / (hi - lo).clamp(min=EPS)


def build_masks(under: torch.Tensor, over: torch.Tensor, sigma: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks of an under/over pair.

    Args:
        under: (B, 1, H, W) luminance of the under-exposed frame, [0, 1].
        over: (B, 1, H, W) luminance of the over-exposed frame, [0, 1].
        sigma: Gaussian sigma in pixels.

    Returns:
        (mask_under, mask_over), each (B, 1, H, W) in [0, 1]; no gradient flows through them.
    """
    with torch.no_grad():
        return minmax(blur(under, sigma)), 1.0 - minmax(blur(over, sigma))
