"""Phase 1 of the two-phase exposure-fusion network: the intermediate-exposure UNet.

The UNet sees the darkest and the brightest bracket, ``(I_u, I_o)``, and predicts an intermediate
exposure ``I_inter`` that carries the scene's global information (overall brightness, large-scale
tone) for phase 2 (:mod:`edgemef.models.twophase_amnet`). Built only from the layer types the
design names:

- 3x3 convs of stride 1 (features) and stride 2 (downsampling; one per level),
- a dilated bottleneck at the coarsest level: 3x3 convs with dilation 2 then 4, residual,
- 4x4 transposed convs of stride 2, padding 1 for upsampling: ``(h - 1) * 2 - 2 + 4 = 2h``, exact,
- skip connections: each upsampled map is concatenated with the encoder map of its level,
- a head of two 4x4 transposed convs of stride 1: one changes the size by ``+3 - 2p``, so the
  first uses ``p = 1`` (``H + 1``), the second ``p = 2`` (``H - 1``): the pair restores ``H x W``
  and, each being shifted half a pixel the other way, stays centred. Sigmoid output.

Sizes: the encoder needs H and W divisible by ``2 ** levels`` (:attr:`IntermediateUNet.pad_multiple`).
Other sizes are padded on the bottom/right by edge replication inside :meth:`forward` and cropped
back, so any H, W >= 1 works, including in an ONNX graph with dynamic height and width (the pad
amounts are shape arithmetic, no branches).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv3(cin: int, cout: int, stride: int = 1, dilation: int = 1, act: bool = True) -> nn.Sequential:
    """3x3 conv (size-preserving at stride 1), optionally followed by ReLU."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DilatedBottleneck(nn.Module):
    """Two 3x3 convs with dilations ``dilations`` (default 2, 4) and a residual connection."""

    def __init__(self, channels: int, dilations: tuple[int, ...] = (2, 4)):
        super().__init__()
        self.body = nn.Sequential(*(conv3(channels, channels, dilation=d) for d in dilations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpBlock(nn.Module):
    """4x4 stride-2 transposed conv (exact 2x), concatenate the skip, fuse with a 3x3 conv."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.up = nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.ReLU(inplace=True))
        self.fuse = conv3(2 * cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([self.up(x), skip], dim=1))


class IntermediateUNet(nn.Module):
    """Phase 1: ``(I_u, I_o) -> I_inter``.

    Args:
        base: channels at full resolution; level ``i`` has ``base * 2 ** i``.
        levels: number of stride-2 downsamplings (sets :attr:`pad_multiple` = ``2 ** levels``).
        dilations: dilations of the bottleneck's 3x3 convs.
    """

    def __init__(self, base: int = 16, levels: int = 3, dilations: tuple[int, ...] = (2, 4)):
        super().__init__()
        if levels < 1:
            raise ValueError(f"IntermediateUNet needs levels >= 1, got {levels}")
        ch = [base * 2**i for i in range(levels + 1)]
        self.levels = levels
        self.stem = nn.Sequential(conv3(6, ch[0]), conv3(ch[0], ch[0]))
        self.down = nn.ModuleList(
            nn.Sequential(conv3(ch[i], ch[i + 1], stride=2), conv3(ch[i + 1], ch[i + 1])) for i in range(levels)
        )
        self.bottleneck = DilatedBottleneck(ch[-1], tuple(dilations))
        self.up = nn.ModuleList(UpBlock(ch[i + 1], ch[i]) for i in reversed(range(levels)))
        self.head = nn.Sequential(
            nn.ConvTranspose2d(ch[0], ch[0], 4, stride=1, padding=1),  # H -> H + 1
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(ch[0], 3, 4, stride=1, padding=2),  # H + 1 -> H
            nn.Sigmoid(),
        )

    @property
    def pad_multiple(self) -> int:
        """H and W are padded internally to a multiple of this."""
        return 2**self.levels

    def forward(self, under: torch.Tensor, over: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) darkest and brightest RGB in [0, 1] -> (B, 3, H, W) intermediate in [0, 1]."""
        if under.ndim != 4 or under.shape[1] != 3 or under.shape != over.shape:
            raise ValueError(f"IntermediateUNet expects two (B, 3, H, W) RGB tensors of one shape, "
                             f"got {tuple(under.shape)} and {tuple(over.shape)}")
        h, w = under.shape[-2:]
        m = self.pad_multiple
        x = F.pad(torch.cat([under, over], dim=1), (0, (-w) % m, 0, (-h) % m), mode="replicate")
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = self.bottleneck(skips.pop())
        for up in self.up:
            y = up(y, skips.pop())
        return self.head(y)[..., :h, :w]
