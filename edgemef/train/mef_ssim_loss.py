"""Differentiable MEF-SSIM (Ma, Zeng and Wang 2015) in torch: the metric as a training loss.

The same formulas as :mod:`edgemef.metrics.mef_ssim` (MEFB's ``mef_ms_ssim``: 11x11 windows,
K = 0.03, 3 scales with 2x2 mean decimation, the desired patch built from the sources' signal
strengths and structures), written with window filters so it back-propagates into the fused
image. Inputs are planes in [0, 1] (scaled to [0, 255] inside so the constants match, and computed
in float64 whatever their dtype: see :func:`mef_ssim`); the quantisation to 8 bits and
``rgb2gray`` of the metric are left out (not differentiable). An
unsupervised fusion loss of this kind is what DeepFuse (Prabhakar et al. 2017) and MEF-Net
(Ma et al. 2019) train with.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from edgemef.train.losses import gaussian_kernel1d, separable_filter

WINDOW = 11
SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001)
K = 0.03


def mef_ssim_map(sources: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
    """Single-scale MEF-SSIM map (numerically sound in float64 only, which :func:`mef_ssim` uses).

    Args:
        sources: (B, N, H, W) exposures in [0, 255].
        fused: (B, 1, H, W) in [0, 255].

    Returns:
        (B, 1, H - 10, W - 10) quality map.
    """
    n = WINDOW * WINDOW
    box = torch.ones(WINDOW, device=fused.device, dtype=fused.dtype)
    g = gaussian_kernel1d(WINDOW, 1.5, fused.device, fused.dtype)
    nk = sources.shape[1]
    xs = [sources[:, k:k + 1] for k in range(nk)]
    sums = [separable_filter(x, box) for x in xs]
    energy = {}
    for i in range(nk):
        for j in range(i, nk):
            energy[i, j] = energy[j, i] = separable_filter(xs[i] * xs[j], box) - sums[i] * sums[j] / n
    strength = [torch.sqrt(energy[i, i].clamp(min=1e-12)) for i in range(nk)]
    ed = torch.stack([s + 0.001 for s in strength])
    num = torch.sqrt(sum(energy[i, j] for i in range(nk) for j in range(nk)).clamp(min=1e-12))
    eps = torch.finfo(fused.dtype).eps
    r = ((num + eps) / (sum(strength) + eps)).clamp(eps, 1 - eps)
    p = torch.tan(torch.pi / 2 * r).clamp(0.0, 10.0)  # in float32 tan(pi/2 (1 - eps)) can come out negative
    w = (ed / WINDOW) ** p + eps
    w = w / w.sum(dim=0)
    c = w / ed
    norm2 = sum(c[i] * c[j] * energy[i, j] for i in range(nk) for j in range(nk)).clamp(min=1e-12)
    scale = ed.max(dim=0).values / torch.sqrt(norm2)
    gm = [separable_filter(x, g) for x in xs]
    gf = separable_filter(fused, g)
    var_f = separable_filter(fused * fused, g) - gf * gf
    var_r = torch.zeros_like(gf)
    for i in range(nk):
        for j in range(i, nk):
            cov = separable_filter(xs[i] * xs[j], g) - gm[i] * gm[j]
            var_r = var_r + (1.0 if i == j else 2.0) * c[i] * c[j] * cov
    var_r = var_r * scale * scale
    cov_rf = scale * sum(c[i] * (separable_filter(xs[i] * fused, g) - gm[i] * gf) for i in range(nk))
    cc = (K * 255.0) ** 2
    return (2.0 * cov_rf + cc) / (var_r + var_f + cc)


def mef_ssim(sources: torch.Tensor, fused: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """Per-image 3-scale MEF-SSIM: (B,); sources (B, N, H, W) and fused (B, 1, H, W) in [0, 1]."""
    if sources.ndim != 4 or fused.ndim != 4 or fused.shape[1] != 1 or sources.shape[-2:] != fused.shape[-2:]:
        raise ValueError(f"expected sources (B, N, H, W) and fused (B, 1, H, W), got {tuple(sources.shape)} "
                         f"and {tuple(fused.shape)}")
    if min(fused.shape[-2:]) < WINDOW * 2 ** (levels - 1):
        raise ValueError(f"MEF-SSIM with {levels} scales needs at least {WINDOW * 2 ** (levels - 1)} px a side")
    # float64 inside: the window statistics are differences of sums over values up to 255 ** 2,
    # and in float32 a near-flat window's energies (true value ~0) come out as +/- rounding noise
    # that the structure weights and the signal-strength scale then blow up (map values of
    # +/- 1e5, per-image scores from 0.002 to 49 where float64 gives 0.99)
    xs, f = sources.double() * 255.0, fused.double() * 255.0
    weights = torch.tensor(SCALE_WEIGHTS[:levels], device=f.device, dtype=f.dtype)
    weights = weights / weights.sum()
    score = torch.ones(f.shape[0], device=f.device, dtype=f.dtype)
    for level in range(levels):
        q = mef_ssim_map(xs, f).flatten(1).mean(1).clamp(min=1e-4)
        score = score * q ** weights[level]
        if level < levels - 1:
            xs, f = F.avg_pool2d(xs, 2), F.avg_pool2d(f, 2)
    return score.to(fused.dtype)
