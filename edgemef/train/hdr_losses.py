"""Losses for HDR-output networks (STHDR): L1 on mu-law tone-mapped radiance, at every scale.

T(H) = log(1 + mu H) / log(1 + mu) with mu = 5000 (Kalantari and Ramamoorthi 2017 and the
HDR-deghosting papers after it; the same curve as :func:`edgemef.netio.tonemap`). STHDR's loss is
the sum over its scales, weight 1 each, of L1(T(output_s), T(target_s)); target_s is the target
average-pooled to that scale exactly as the network pools its inputs. The supervised-attention
stage-1 images are supervised the same way (``stage1_weight``, 1 by default; 0 drops them).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from edgemef.netio import HDR_MU


def mu_law(hdr: torch.Tensor, mu: float = HDR_MU) -> torch.Tensor:
    """T(H) = log(1 + mu H) / log(1 + mu), H clamped at 0; any shape."""
    return torch.log1p(mu * hdr.clamp(min=0.0)) / math.log1p(mu)


def mu_law_l1(pred: torch.Tensor, target: torch.Tensor, mu: float = HDR_MU) -> torch.Tensor:
    """Mean |T(pred) - T(target)| over every element; same shapes, (B, 3, H, W)."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    return (mu_law(pred, mu) - mu_law(target, mu)).abs().mean()


def hdr_pyramid(target: torch.Tensor, scales: int) -> list[torch.Tensor]:
    """(B, C, H, W) -> finest-first list of (B, C, ceil(H / 2**s), ceil(W / 2**s)) 2**s average pools.

    Ragged edges are replicate-padded first, as STHDR pads its input, so the levels match its outputs.
    """
    h, w = target.shape[-2:]
    levels = [target]
    for s in range(1, scales):
        f = 2**s
        ph, pw = -(-h // f) * f - h, -(-w // f) * f - w
        t = F.pad(target, (0, pw, 0, ph), mode="replicate") if ph or pw else target
        levels.append(F.avg_pool2d(t, f))
    return levels


def multiscale_mu_law_l1(outputs: dict | torch.Tensor, target: torch.Tensor, mu: float = HDR_MU,
                         scale_weights: list[float] | None = None, stage1_weight: float = 1.0,
                         return_terms: bool = False):
    """STHDR's training loss.

    Args:
        outputs: ``model(x, ratios, return_all=True)`` ('scales' and 'stage1' lists, finest first),
            or a single (B, 3, H, W) prediction (then plain :func:`mu_law_l1`).
        target: ground-truth radiance (B, 3, H, W), same normalisation as the model's H_i.
        mu: mu-law parameter.
        scale_weights: one weight per scale, finest first (default all 1).
        stage1_weight: weight of each scale's stage-1 (SAM) image relative to its final image.
        return_terms: also return a dict of the unweighted terms ('final_s0', 'stage1_s0', ...).

    Returns:
        The scalar loss, or (loss, terms) with ``return_terms``.
    """
    if isinstance(outputs, torch.Tensor):
        loss = mu_law_l1(outputs, target, mu)
        return (loss, {"final_s0": loss.detach()}) if return_terms else loss
    finals, stage1s = outputs["scales"], outputs.get("stage1", [])
    weights = list(scale_weights) if scale_weights is not None else [1.0] * len(finals)
    if len(weights) != len(finals):
        raise ValueError(f"{len(weights)} scale weights for {len(finals)} scales")
    targets = hdr_pyramid(target, len(finals))
    loss = target.new_zeros(())
    terms = {}
    for s, (y, t, wt) in enumerate(zip(finals, targets, weights)):
        term = mu_law_l1(y, t, mu)
        loss = loss + wt * term
        terms[f"final_s{s}"] = term.detach()
        if stage1_weight and s < len(stage1s):
            term1 = mu_law_l1(stage1s[s], t, mu)
            loss = loss + wt * stage1_weight * term1
            terms[f"stage1_s{s}"] = term1.detach()
    return (loss, terms) if return_terms else loss
