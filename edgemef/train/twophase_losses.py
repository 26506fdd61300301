"""Losses of the two-phase network: ``L1 + lambda_vgg * VGG + lambda_ssim * (1 - SSIM)``.

One composite loss, applied per phase (:class:`TwoPhaseLoss`): phase 1 compares the
intermediate exposure with its target, phase 2 the fused image with the ground truth, 'joint'
sums both. SSIM is single-scale with the 11-tap Gaussian window (sigma 1.5, 'valid') of
:mod:`edgemef.train.losses`. The VGG term is the mean L1 distance between VGG-19 features
(default ``relu1_2``, ``relu2_2``, ``relu3_3``; :mod:`edgemef.models.vgg`) and needs a weights file:
without one it is OFF, and :attr:`TwoPhaseLoss.warning` says so for the training loop to print
and record. The lambdas are tunable defaults, not values from the paper.
All functions take ``(B, 3, H, W)`` tensors in [0, 1].
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from edgemef.models.vgg import DEFAULT_LAYERS, VGGFeatures
from edgemef.train.losses import WIN, WIN_SIGMA, K1, K2, gaussian_kernel1d, separable_filter

PHASES = (1, 2, "joint")


def _check(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.ndim != 4 or x.shape != y.shape:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image SSIM of (B, C, H, W) tensors (mean over pixels and channels): (B,), 1 if identical."""
    _check(x, y)
    if min(x.shape[-2:]) < WIN:
        raise ValueError(f"SSIM needs images of at least {WIN}x{WIN}, got {x.shape[-2]}x{x.shape[-1]}")
    win = gaussian_kernel1d(WIN, WIN_SIGMA, x.device, x.dtype)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = separable_filter(x, win), separable_filter(y, win)
    sxx = separable_filter(x * x, win) - mu_x * mu_x
    syy = separable_filter(y * y, win) - mu_y * mu_y
    sxy = separable_filter(x * y, win) - mu_x * mu_y
    s = (2 * mu_x * mu_y + c1) * (2 * sxy + c2) / ((mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2))
    return s.flatten(1).mean(1)


def perceptual_distance(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the per-image mean absolute feature difference: (B,)."""
    return torch.stack([(a - b).abs().flatten(1).mean(1) for a, b in zip(fa, fb)]).mean(0)


def _phase(phase) -> int | str:
    key = int(phase) if str(phase) in ("1", "2") else phase
    if key not in PHASES:
        raise ValueError(f"unknown training phase {phase!r} (use 1, 2 or 'joint')")
    return key


class TwoPhaseLoss(nn.Module):
    """The composite loss for either phase.

    Args:
        lambda_vgg: weight of the VGG perceptual term (0 turns it off deliberately, no warning).
        lambda_ssim: weight of ``1 - SSIM``.
        vgg_weights: torchvision-compatible VGG state dict file (.safetensors / .pth); None: VGG OFF.
        vgg_arch: 'vgg19' or 'vgg16'.
        vgg_layers: feature layers compared.
        inter_weight: weight of the phase-1 term in 'joint' training.

    Attributes:
        vgg_enabled: whether the VGG term is computed.
        warning: '' or the message saying the VGG term is off and why (also emitted as a
            ``UserWarning`` at construction).
    """

    def __init__(self, lambda_vgg: float = 0.1, lambda_ssim: float = 0.5, vgg_weights: str | Path | None = None,
                 vgg_arch: str = "vgg19", vgg_layers: tuple[str, ...] = DEFAULT_LAYERS, inter_weight: float = 1.0):
        super().__init__()
        self.lambda_vgg, self.lambda_ssim, self.inter_weight = float(lambda_vgg), float(lambda_ssim), float(inter_weight)
        self.vgg_weights = str(vgg_weights) if vgg_weights is not None else None
        self.vgg: VGGFeatures | None = None
        self.warning = ""
        if self.lambda_vgg > 0 and vgg_weights is not None:
            self.vgg = VGGFeatures(vgg_arch, tuple(vgg_layers), weights=vgg_weights)
        elif self.lambda_vgg > 0:
            self.warning = (f"VGG perceptual loss is OFF: no {vgg_arch} weights file was given, so the loss is "
                            f"L1 + {self.lambda_ssim:g} * (1 - SSIM) only (lambda_vgg={self.lambda_vgg:g} unused). "
                            f"Pass --vgg-weights FILE (config: vgg_weights; a torchvision {vgg_arch} state dict, "
                            f".pth or .safetensors) to enable it.")
            warnings.warn(self.warning, UserWarning, stacklevel=2)

    @property
    def vgg_enabled(self) -> bool:
        return self.vgg is not None

    def summary(self) -> dict:
        """What the loss computes, for the run's saved config."""
        return {"lambda_vgg": self.lambda_vgg, "lambda_ssim": self.lambda_ssim, "inter_weight": self.inter_weight,
                "vgg_enabled": self.vgg_enabled, "vgg_weights": self.vgg_weights,
                "vgg_arch": self.vgg.arch if self.vgg else None, "vgg_layers": list(self.vgg.layers) if self.vgg else None,
                "warning": self.warning}

    def composite(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Per-image ``L1 + lambda_vgg * VGG + lambda_ssim * (1 - SSIM)``: ((B,), {term: (B,)})."""
        _check(pred, target)
        terms = {"l1": (pred - target).abs().flatten(1).mean(1), "ssim": 1.0 - ssim(pred, target)}
        loss = terms["l1"] + self.lambda_ssim * terms["ssim"]
        if self.vgg is not None:
            with torch.no_grad():
                ft = self.vgg(target)
            terms["vgg"] = perceptual_distance(self.vgg(pred), ft)
            loss = loss + self.lambda_vgg * terms["vgg"]
        return loss, terms

    def forward(self, fused: torch.Tensor | None, inter: torch.Tensor | None, target: torch.Tensor,
                phase: int | str = 2, inter_target: torch.Tensor | None = None,
                reduction: str = "mean") -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of one training phase.

        Args:
            fused: (B, 3, H, W) phase-2 output (unused, may be None, in phase 1).
            inter: (B, 3, H, W) phase-1 output (unused, may be None, in phase 2).
            target: (B, 3, H, W) ground-truth fused image.
            phase: 1 (``inter`` vs ``inter_target``), 2 (``fused`` vs ``target``) or 'joint' (both,
                the phase-1 term weighted by ``inter_weight``).
            inter_target: (B, 3, H, W) target of the intermediate exposure; default ``target``.
            reduction: 'mean' (scalar) or 'none' (per image, (B,)).

        Returns:
            (loss, terms): terms are detached, named 'l1', 'ssim' (= 1 - SSIM), 'vgg' (when on),
            prefixed 'inter/' / 'fused/' in joint training, reduced like the loss.
        """
        key = _phase(phase)
        if reduction not in ("mean", "none"):
            raise ValueError(f"unknown reduction '{reduction}' (use mean or none)")
        parts: list[tuple[str, torch.Tensor, torch.Tensor, float]] = []
        if key in (1, "joint"):
            if inter is None:
                raise ValueError(f"phase {key!r} loss needs the intermediate exposure")
            parts.append(("inter", inter, target if inter_target is None else inter_target,
                          1.0 if key == 1 else self.inter_weight))
        if key in (2, "joint"):
            if fused is None:
                raise ValueError(f"phase {key!r} loss needs the fused image")
            parts.append(("fused", fused, target, 1.0))
        total, terms = 0.0, {}
        for name, pred, tgt, weight in parts:
            loss, sub = self.composite(pred, tgt)
            total = total + weight * loss
            prefix = f"{name}/" if key == "joint" else ""
            terms.update({prefix + k: v.detach() for k, v in sub.items()})
        if reduction == "mean":
            return total.mean(), {k: v.mean() for k, v in terms.items()}
        return total, terms
