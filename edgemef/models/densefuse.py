"""DenseFuse (Li and Wu, IEEE TIP 2019) as used by Im et al. 2023 for exposure fusion.

Encoder: conv 1->16, dense block of three 3x3 convs (16->16, 32->16, 48->16) whose outputs are
concatenated to 64 channels. Fusion: the exposures' features are added (``fusion='add'``, as Im
et al. train it), or averaged with weights from their local L1 activity (``fusion='l1-norm'``, the
paper's second strategy; no parameters). Decoder: 64->64->32->16->1.
All convs are 3x3 with reflection padding and ReLU, except the last (no activation): 74,193
parameters. It works on luminance (CIELAB L scaled to [0, 1]).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class DenseFuseConfig:
    """DenseFuse hyper-parameters (the published network is the default)."""

    in_channels: int = 1
    base: int = 16
    dense_layers: int = 3
    exposures: int = 2
    fusion: str = "add"  # 'add' or 'l1-norm' (the paper's two fusion strategies)
    l1_radius: int = 1  # the l1-norm strategy's block radius r (the paper: 1)


def _conv(cin: int, cout: int, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DenseBlock(nn.Module):
    """Each layer sees the concatenation of the block input and every earlier layer's output."""

    def __init__(self, channels: int, growth: int, layers: int):
        super().__init__()
        self.layers = nn.ModuleList(_conv(channels + i * growth, growth) for i in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class DenseFuse(nn.Module):
    """DenseFuse with the addition (default) or l1-norm fusion strategy.

    Input: ``(B, N, H, W)`` luminance of N exposures in [0, 1] (N = 2 as trained; N = 3 works, the
    feature sum is scaled by 2/N so its magnitude matches training). Output: ``(B, 1, H, W)``.
    """

    def __init__(self, config: DenseFuseConfig | None = None):
        super().__init__()
        self.config = cfg = config or DenseFuseConfig()
        if cfg.fusion not in FUSION_STRATEGIES:
            raise ValueError(f"unknown DenseFuse fusion '{cfg.fusion}' (choose from: {', '.join(FUSION_STRATEGIES)})")
        feat = cfg.base * (1 + cfg.dense_layers)
        self.encoder = nn.Sequential(
            _conv(cfg.in_channels, cfg.base), DenseBlock(cfg.base, cfg.base, cfg.dense_layers)
        )
        self.decoder = nn.Sequential(
            _conv(feat, feat), _conv(feat, feat // 2), _conv(feat // 2, feat // 4),
            _conv(feat // 4, cfg.in_channels, relu=False),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, 64, H, W) features."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] < 2:
            raise ValueError(f"DenseFuse expects (B, N>=2, H, W) luminance, got {tuple(x.shape)}")
        # one encoder pass per exposure, then adds: the same sum as folding the exposures into the
        # batch, but the exported graph has no 5-D reshape and ReduceSum, which cost OpenVINO's
        # int8 CPU path layout reorders (measured at 1280x720, 2 threads: 374 -> 292 ms; fp32
        # 1339 -> 1014 ms)
        n = x.shape[1]
        if self.config.fusion == "l1-norm":
            return self.decoder(l1_norm_fusion([self.encode(x[:, i:i + 1]) for i in range(n)],
                                               self.config.l1_radius))
        fused = self.encode(x[:, 0:1])
        for i in range(1, n):
            fused = fused + self.encode(x[:, i:i + 1])
        return self.decoder(fused * (2.0 / n))


FUSION_STRATEGIES = ("add", "l1-norm")


def l1_norm_fusion(features: list[torch.Tensor], radius: int = 1, eps: float = 1e-6) -> torch.Tensor:
    """DenseFuse's l1-norm strategy: each exposure's activity is the L1 norm of its feature vector,
    averaged over a (2r+1)^2 block; the features are averaged with weights proportional to it.

    The result is scaled by 2 so that two equally active exposures give the sum the 'add'
    strategy (and a decoder trained with it) sees.
    """
    k = 2 * radius + 1
    acts = [F.avg_pool2d(f.abs().sum(1, keepdim=True), k, stride=1, padding=radius, count_include_pad=False)
            for f in features]
    total = sum(acts) + eps
    return 2.0 * sum(f * (a / total) for f, a in zip(features, acts))
