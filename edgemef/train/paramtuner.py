"""ParamTuner (Im et al. 2023): dynamic weights of the per-source losses from adaptive gamma.

Each image's adaptive gamma (Rahman et al. 2016, :func:`edgemef.agc.agc_gamma`) says how far its
exposure is from a well-exposed one. The weight of source ``i`` is

    lambda_i = beta * D_i / sum_j D_j,   D_i = |gamma_i - gamma_co|

with ``gamma_co`` the gamma of the co-target, so the weights sum to ``beta`` (2 in the paper).
When every distance is zero the weights are equal (beta / N).
"""
from __future__ import annotations

import numpy as np
import torch

from edgemef.agc import agc_gamma

EPS = 1e-8


def gamma_of(lum: np.ndarray) -> float:
    """AGC gamma of an (H, W) luminance image in [0, 1]."""
    return float(agc_gamma(np.asarray(lum, np.float32))[0])


def dynamic_weights(source_gammas: torch.Tensor, co_gamma: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    """ParamTuner weights.

    Args:
        source_gammas: (B, N) gamma of each source image.
        co_gamma: (B,) gamma of the co-target.
        beta: the weights of one image sum to beta.

    Returns:
        (B, N) weights lambda.
    """
    if source_gammas.ndim != 2 or co_gamma.shape != source_gammas.shape[:1]:
        raise ValueError(f"expected (B, N) and (B,), got {tuple(source_gammas.shape)} and {tuple(co_gamma.shape)}")
    d = (source_gammas - co_gamma[:, None]).abs()
    total = d.sum(dim=1, keepdim=True)
    equal = torch.full_like(d, 1.0 / d.shape[1])
    share = torch.where(total > EPS, d / total.clamp(min=EPS), equal)
    return beta * share


def fixed_weights(batch: int, sources: int, beta: float = 2.0, device=None) -> torch.Tensor:
    """The weights without ParamTuner: beta / N for every source, (B, N)."""
    return torch.full((batch, sources), beta / sources, device=device)
