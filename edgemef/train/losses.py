"""Losses: differentiable MS-SSIM (Wang et al. 2003) and the fusion loss MSE + alpha (1 - MS-SSIM).

MS-SSIM follows the reference implementation: an 11-tap Gaussian window (sigma 1.5) applied
'valid', 2x average pooling between scales, the five published scale weights, contrast-structure
terms at the coarse scales and the full SSIM at the last one. Crops too small for five scales use
as many as fit (weights renormalised). All functions take ``(B, C, H, W)`` tensors in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN, WIN_SIGMA = 11, 1.5
K1, K2 = 0.01, 0.03


def _check(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.ndim != 4 or x.shape != y.shape:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")


def gaussian_kernel1d(size: int, sigma: float, device=None, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps: (size,)."""
    t = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(t * t) / (2 * sigma * sigma))
    return g / g.sum()


def separable_filter(x: torch.Tensor, k: torch.Tensor, padding: str | None = None) -> torch.Tensor:
    """Filter every channel of (B, C, H, W) with the 1-D kernel ``k`` along H then W.

    ``padding`` None filters 'valid' (output shrinks by len(k) - 1); 'reflect' keeps the size.
    """
    c, n = x.shape[1], k.numel()
    if padding is not None:
        r = n // 2
        x = F.pad(x, (r, r, r, r), mode=padding)
    kh = k.view(1, 1, n, 1).expand(c, 1, n, 1)
    kw = k.view(1, 1, 1, n).expand(c, 1, 1, n)
    return F.conv2d(F.conv2d(x, kh, groups=c), kw, groups=c)


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, win: torch.Tensor, data_range: float):
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = separable_filter(x, win), separable_filter(y, win)
    sxx = separable_filter(x * x, win) - mu_x * mu_x
    syy = separable_filter(y * y, win) - mu_y * mu_y
    sxy = separable_filter(x * y, win) - mu_x * mu_y
    cs_map = (2 * sxy + c2) / (sxx + syy + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs_map
    return ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)  # (B, C) each


def ms_ssim_levels(height: int, width: int, win: int = WIN) -> int:
    """How many MS-SSIM scales fit: the coarsest scale must still hold one window."""
    levels, side = 1, min(height, width)
    while levels < len(MS_WEIGHTS) and side // 2 >= win:
        side //= 2
        levels += 1
    if min(height, width) < win:
        raise ValueError(f"MS-SSIM needs images of at least {win}x{win}, got {height}x{width}")
    return levels


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, levels: int | None = None) -> torch.Tensor:
    """Per-image MS-SSIM of (B, C, H, W) tensors: (B,), 1 for identical inputs.

    Args:
        x, y: images in [0, data_range].
        data_range: the value range (sets the stabilising constants).
        levels: number of scales (default: as many as fit, at most 5).
    """
    _check(x, y)
    levels = levels or ms_ssim_levels(x.shape[-2], x.shape[-1])
    weights = torch.tensor(MS_WEIGHTS[:levels], device=x.device, dtype=x.dtype)
    weights = weights / weights.sum()
    win = gaussian_kernel1d(WIN, WIN_SIGMA, x.device, x.dtype)
    terms = []
    for i in range(levels):
        ssim, cs = _ssim_cs(x, y, win, data_range)
        terms.append(ssim if i == levels - 1 else cs)
        if i < levels - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    # clamp (not relu): 0 ** w has an infinite gradient
    stack = torch.stack(terms, dim=0).clamp(min=1e-4)  # (levels, B, C)
    return torch.prod(stack ** weights.view(-1, 1, 1), dim=0).mean(dim=1)


def fusion_loss(x: torch.Tensor, y: torch.Tensor, alpha: float = 1000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image ``MSE + alpha * (1 - MS-SSIM)`` of (B, C, H, W) tensors.

    Returns:
        (loss, mse): both (B,), so callers can weight images individually (ParamTuner).
    """
    _check(x, y)
    mse = (x - y).square().flatten(1).mean(1)
    return mse + alpha * (1.0 - ms_ssim(x, y)), mse


def sobel_magnitude(x: torch.Tensor) -> torch.Tensor:
    """``|Sobel_x| + |Sobel_y|`` of every channel of (B, C, H, W), replicated borders (same size)."""
    ky = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]], device=x.device, dtype=x.dtype)
    k = torch.stack([ky.t(), ky]).unsqueeze(1)  # (2, 1, 3, 3): x then y
    c = x.shape[1]
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k.repeat(c, 1, 1, 1), groups=c)
    return g.abs().unflatten(1, (c, 2)).sum(2)


def max_gradient_loss(sources: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
    """Per-image L1 between the fused image's Sobel magnitude and the strongest source's,
    ``mean | |grad F| - max_i |grad I_i| |`` (SwinFusion's texture loss): each edge as strong as
    the exposure that shows it best, the edge transfer Q^AB/F scores.

    Args:
        sources: (B, N, H, W) exposures, one plane each, in [0, 1].
        fused: (B, 1, H, W) in [0, 1].

    Returns:
        (B,).
    """
    if sources.ndim != 4 or fused.ndim != 4 or fused.shape[1] != 1 or sources.shape[-2:] != fused.shape[-2:]:
        raise ValueError(f"expected sources (B, N, H, W) and fused (B, 1, H, W), got {tuple(sources.shape)} "
                         f"and {tuple(fused.shape)}")
    target = sobel_magnitude(sources).amax(1, keepdim=True)
    return (sobel_magnitude(fused) - target).abs().flatten(1).mean(1)
