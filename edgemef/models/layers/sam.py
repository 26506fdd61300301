"""Supervised attention module (Zamir et al., "MPRNet", CVPR 2021).

From stage-1 features it predicts a stage-1 image (supervised by the loss) and, from that image,
a sigmoid attention map that gates the features passed on to stage 2:
``img = act(conv2(x) [+ base])``, ``out = conv1(x) * sigmoid(conv3(img)) + x``.
"""
from __future__ import annotations

import torch
from torch import nn


class SupervisedAttention(nn.Module):
    """SAM: (B, C, H, W) features [+ (B, 3, H, W) base image] -> (features, stage-1 image).

    Args:
        channels: C.
        image_channels: channels of the predicted image (3: RGB).
        activation: applied to the predicted image ('relu', 'sigmoid' or 'identity').
    """

    def __init__(self, channels: int, image_channels: int = 3, activation: str = "relu"):
        super().__init__()
        acts = {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "identity": nn.Identity()}
        if activation not in acts:
            raise ValueError(f"unknown activation '{activation}' (use {', '.join(acts)})")
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, image_channels, 3, padding=1)
        self.conv3 = nn.Conv2d(image_channels, channels, 3, padding=1)
        self.act = acts[activation]

    def forward(self, x: torch.Tensor, base: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (gated features (B, C, H, W), stage-1 image (B, image_channels, H, W))."""
        img = self.conv2(x)
        if base is not None:
            img = img + base
        img = self.act(img)
        return self.conv1(x) * torch.sigmoid(self.conv3(img)) + x, img
