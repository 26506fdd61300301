"""Half instance normalisation blocks (Chen et al., "HINet", CVPRW 2021) and their U-Net.

HIN block: 3x3 conv; instance-normalise half of its channels (affine), keep the other half;
LeakyReLU; 3x3 conv; LeakyReLU; plus a 1x1 conv of the block input (HINet's identity path).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class HINBlock(nn.Module):
    """(B, Cin, H, W) -> (B, Cout, H, W); H and W at least 2 (instance norm needs > 1 pixel)."""

    def __init__(self, in_channels: int, out_channels: int, slope: float = 0.2):
        super().__init__()
        self.half = out_channels // 2
        self.identity = nn.Conv2d(in_channels, out_channels, 1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.norm = nn.InstanceNorm2d(self.half, affine=True)
        self.act = nn.LeakyReLU(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        normed, kept = torch.split(y, [self.half, y.shape[1] - self.half], dim=1)
        y = self.act(torch.cat([self.norm(normed), kept], dim=1))
        return self.act(self.conv2(y)) + self.identity(x)


class HINUNet(nn.Module):
    """Encoder-decoder of HIN blocks: widths C, 2C, 4C, ... over ``levels`` resolutions.

    Down: 2x2 average pooling then a 1x1 conv (doubling the width); up: a 1x1 conv (halving it)
    then 2x bilinear upsampling (the two commute, so the conv runs at the coarse size), added to
    the encoder's skip. H and W must be multiples of 2 ** (levels - 1).
    ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int, levels: int = 3, slope: float = 0.2):
        super().__init__()
        widths = [channels * 2**i for i in range(levels)]
        self.levels = levels
        self.encoders = nn.ModuleList(HINBlock(c, c, slope) for c in widths)
        self.downs = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 1, bias=False) for i in range(levels - 1))
        self.ups = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i], 1, bias=False) for i in range(levels - 1))
        self.decoders = nn.ModuleList(HINBlock(c, c, slope) for c in widths[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = 2 ** (self.levels - 1)
        if not torch.jit.is_tracing() and (x.shape[-2] % m or x.shape[-1] % m):
            raise ValueError(f"HINUNet with {self.levels} levels needs H, W multiples of {m}, "
                             f"got {tuple(x.shape[-2:])}")
        skips = []
        for i, block in enumerate(self.encoders):
            if i:
                x = self.downs[i - 1](F.avg_pool2d(x, 2))
            x = block(x)
            skips.append(x)
        for i in reversed(range(self.levels - 1)):
            x = F.interpolate(self.ups[i](x), scale_factor=2.0, mode="bilinear", align_corners=False)
            x = self.decoders[i](x + skips[i])
        return x
