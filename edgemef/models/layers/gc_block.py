"""Global context block (Cao et al., "GCNet", ICCVW 2019).

Context modelling: a 1x1 conv gives one attention logit per pixel, softmax over all H*W pixels,
and the attention-weighted sum of the features is one (C,) context vector per image. Transform:
1x1 conv C -> C*ratio, LayerNorm, ReLU, 1x1 conv back to C. Fusion: 'add' (GCNet's default,
x + t) or 'mul' (channel attention, x * sigmoid(t), as STHDR's spatial correct module uses it).
"""
from __future__ import annotations

import torch
from torch import nn

FUSIONS = ("add", "mul")


class GlobalContextBlock(nn.Module):
    """GC block: (B, C, H, W) -> (B, C, H, W).

    Args:
        channels: C.
        ratio: bottleneck width of the transform as a fraction of C (GCNet uses 1/4 or 1/16).
        fusion: 'add' or 'mul' (see the module docstring).
    """

    def __init__(self, channels: int, ratio: float = 0.25, fusion: str = "mul"):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion '{fusion}' (use {', '.join(FUSIONS)})")
        hidden = max(1, int(round(channels * ratio)))
        self.fusion = fusion
        self.attention = nn.Conv2d(channels, 1, 1)
        self.transform = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.LayerNorm([hidden, 1, 1]), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, 1, 1): softmax(attention logits over H*W)-weighted feature sum."""
        weights = self.attention(x).flatten(2).softmax(dim=-1)          # (B, 1, HW)
        return torch.matmul(x.flatten(2), weights.transpose(1, 2)).unsqueeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.transform(self.context(x))
        return x * torch.sigmoid(t) if self.fusion == "mul" else x + t
