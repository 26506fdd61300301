"""Phase 2 of the two-phase exposure-fusion network: the attention-based merging network (AMNet).

AMNet sees ``(I_u, I_inter, I_o)`` (and the middle bracket for three exposures) and predicts the
fused image. The intermediate exposure from phase 1 is the reference: being between the two
brackets, its features are close to both, which makes the attention easier to learn than
attending the under- directly against the over-exposed frame. The layout (our choice; the
description gives attention modules, a merge and a refinement body) follows the attention-guided
merging of AHDRNet (Yan et al., CVPR 2019):

1. Feature extraction: one shared 3x3 conv + ReLU applied to each input (``F`` channels).
2. Attention: for every non-reference input ``k`` (under, over; middle), a module of its own
   computes ``a_k = sigmoid(conv3(relu(conv3([f_k, f_inter]))))``, an ``F``-channel spatial
   weight map, and the feature becomes ``f_k * a_k``.
3. Merge: the attended features and ``f_inter`` are concatenated and a 3x3 conv maps them to ``F``.
4. Refinement: ``blocks`` dilated residual dense blocks (DRDB: ``layers`` 3x3 convs of dilation
   ``dilation`` with dense connections, growth ``growth``, a 1x1 fusion conv, a residual), their
   outputs concatenated and fused (1x1 then 3x3 conv), plus a global residual to ``f_inter``.
5. Output: a 3x3 conv to RGB and a sigmoid, so the result is in [0, 1].

Every conv has stride 1 and size-preserving padding: any H, W works, no padding needed.
"""
from __future__ import annotations

import torch
from torch import nn

from edgemef.models.twophase_unet import conv3


class SpatialAttention(nn.Module):
    """Weights for a non-reference feature map from itself and the reference's features."""

    def __init__(self, features: int):
        super().__init__()
        self.body = nn.Sequential(conv3(2 * features, features), conv3(features, features, act=False), nn.Sigmoid())

    def forward(self, feat: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """(B, F, H, W) feature and reference -> (B, F, H, W) attended feature."""
        return feat * self.body(torch.cat([feat, ref], dim=1))


class DRDB(nn.Module):
    """Dilated residual dense block: dense dilated 3x3 convs, 1x1 fusion, residual."""

    def __init__(self, features: int, growth: int, layers: int, dilation: int = 2):
        super().__init__()
        self.layers = nn.ModuleList(conv3(features + i * growth, growth, dilation=dilation) for i in range(layers))
        self.fuse = nn.Conv2d(features + layers * growth, features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for layer in self.layers:
            y = torch.cat([y, layer(y)], dim=1)
        return x + self.fuse(y)


class AMNet(nn.Module):
    """Phase 2: ``(I_u, I_inter, I_o[, I_m]) -> fused``.

    Args:
        exposures: brackets fused (2: under, over; 3: under, middle, over).
        features: channels ``F`` of the feature maps.
        blocks: number of DRDBs in the refinement body.
        layers: 3x3 convs per DRDB.
        growth: channels each DRDB layer adds.
        dilation: dilation of the DRDB convs.
    """

    def __init__(self, exposures: int = 2, features: int = 32, blocks: int = 3, layers: int = 3,
                 growth: int = 16, dilation: int = 2):
        super().__init__()
        if exposures not in (2, 3):
            raise ValueError(f"AMNet fuses 2 or 3 exposures, got {exposures}")
        self.exposures = exposures
        self.extract = conv3(3, features)
        self.attend_under = SpatialAttention(features)
        self.attend_over = SpatialAttention(features)
        self.attend_middle = SpatialAttention(features) if exposures == 3 else None
        self.merge = conv3((exposures + 1) * features, features)
        self.blocks = nn.ModuleList(DRDB(features, growth, layers, dilation) for _ in range(blocks))
        self.gff = nn.Sequential(nn.Conv2d(blocks * features, features, 1), conv3(features, features, act=False))
        self.out = nn.Sequential(conv3(features, 3, act=False), nn.Sigmoid())

    def forward(self, under: torch.Tensor, inter: torch.Tensor, over: torch.Tensor,
                middle: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 3, H, W) RGB inputs in [0, 1] -> (B, 3, H, W) fused RGB in [0, 1].

        ``middle`` (the middle bracket) is required for ``exposures=3`` and refused otherwise.
        """
        if (middle is not None) != (self.exposures == 3):
            raise ValueError(f"AMNet built for {self.exposures} exposures: "
                             f"{'pass' if self.exposures == 3 else 'do not pass'} the middle bracket")
        ref = self.extract(inter)
        feats = [self.attend_under(self.extract(under), ref)]
        if middle is not None:
            feats.append(self.attend_middle(self.extract(middle), ref))
        feats += [self.attend_over(self.extract(over), ref), ref]
        y = self.merge(torch.cat(feats, dim=1))
        outs = []
        for block in self.blocks:
            y = block(y)
            outs.append(y)
        return self.out(self.gff(torch.cat(outs, dim=1)) + ref)
