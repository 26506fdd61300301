"""STHDR: scale-aware two-stage HDR imaging (Li, Yao, Xie and Wang, AAAI 2022; arXiv 2303.06575).

Inputs: N LDR frames I_i (RGB in [0, 1], darkest first) and their exposure times; the network
builds X_i = [I_i, H_i], H_i = I_i ** 2.2 / t_i with t_i the exposure time relative to the
reference frame, so a deployed graph takes the frames and the ratios and nothing else.

Three scales (full, 1/2, 1/4; 2x2 average pooling of X_i) share one set of weights and run coarse
to fine. At each scale:

* encoder: one 3x3 conv 6 -> C + LeakyReLU per frame (shared by the frames);
* Align Net (``align=True``): spatial correct modules (SCM) warp each non-reference frame's
  features towards the reference's: 3x3 conv on the concatenated (reference, other) features,
  a global-context block used as channel attention, a 1x1 conv compressing that to deformable
  offsets and a modulation mask, a modulated deformable 3x3 conv of the other frame's features,
  a skip connection and LeakyReLU;
* Merge Net, two stages: [aligned features, guide] -> 3x3 conv -> HIN U-Net (stage 1) ->
  supervised attention (SAM: a stage-1 image, supervised by the loss, and an attention map gating
  the features) -> 3x3 conv with the stage-1 input features -> HIN U-Net (stage 2) -> 3x3 conv.

The guide is the coarser scale's HDR output upsampled 2x (bilinear); at the coarsest scale it is
the reference's H_i. With ``output='relu'`` (default) both images are residuals on it:
stage-1 = relu(guide + conv), final = relu(stage-1 + conv): linear radiance >= 0 with no upper
bound (1 = the reference's white; an over-exposed reference needs values above 1).
``output='sigmoid'`` is the paper's (AHDRNet-style) bounded head, sigmoid(conv) with no
residual: radiance in [0, 1], for targets normalised to that range.

Sizes: H and W are padded internally (replicate, bottom/right) to ``pad_multiple`` (16 with
3 scales and 3-level U-Nets; at least 2 * pad_multiple) and the outputs cropped back. Export at
a multiple of ``pad_multiple`` and let the runtime pad (``Manifest.pad_multiple``): under the
legacy ONNX tracer the graph holds no pad/crop and keeps H and W dynamic; with
``dynamo=True`` give ``dynamic_shapes`` as ``pad_multiple * Dim(...)`` (min 2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from edgemef.hdr import default_reference
from edgemef.models.layers import DeformConv2d, GlobalContextBlock, HINUNet, SupervisedAttention

OUTPUTS = ("relu", "sigmoid")
ENCODINGS = ("linear", "mu-law")


@dataclass
class STHDRConfig:
    """STHDR hyper-parameters: the paper's network, for the project's two-frame brackets by
    default (the paper's Kalantari data has three: ``exposures=3``).

    Attributes:
        channels: feature width C (the U-Nets widen to 2C and 4C).
        scales: pyramid levels sharing the weights (3: full, 1/2, 1/4; 1 = single-scale ablation).
        exposures: number of frames N.
        reference: reference frame index; None = ``exposures // 2`` (middle of 3, over of 2).
        align: use the Align Net (False = the "no Align Net" ablation: features go straight on).
        align_blocks: SCMs in the Align Net, applied in cascade.
        deform_groups: offset groups G of the deformable convs.
        unet_levels: resolutions of each HIN U-Net.
        gc_ratio: bottleneck ratio of the global-context block.
        gamma: linearisation exponent for H_i.
        output: 'relu' or 'sigmoid' (see the module docstring).
        slope: LeakyReLU negative slope.
        encoding: the domain radiance is carried in. 'linear' (the paper's): H_i as is, and the
            network's images are radiance. 'mu-law': H_i enters as T(H_i) = log(1 + mu H_i) /
            log(1 + mu) (the loss's own curve), the guides, residuals and outputs are in T, and
            the returned images are decoded back to radiance (T^-1) as the last step. The
            features then span about 0..1.6 for a 190x exposure ratio instead of 0..190, which
            an 8-bit activation grid holds far better: int8 parity 34.9 dB against 9.4 dB for
            the same 10,000-step recipe, still just short of 35 (docs/sthdr.md).
        encoding_mu: mu of the 'mu-law' encoding.
    """

    channels: int = 32
    scales: int = 3
    exposures: int = 2
    reference: int | None = None
    align: bool = True
    align_blocks: int = 1
    deform_groups: int = 8
    unet_levels: int = 3
    gc_ratio: float = 0.25
    gamma: float = 2.2
    output: str = "relu"
    slope: float = 0.2
    encoding: str = "linear"
    encoding_mu: float = 5000.0

    def __post_init__(self):
        if self.exposures < 2:
            raise ValueError(f"STHDR fuses at least 2 exposures, got {self.exposures}")
        if self.reference is None:
            self.reference = default_reference(self.exposures)
        if not 0 <= self.reference < self.exposures:
            raise ValueError(f"reference {self.reference} out of range for {self.exposures} exposures")
        if self.output not in OUTPUTS:
            raise ValueError(f"unknown output '{self.output}' (use {', '.join(OUTPUTS)})")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding '{self.encoding}' (use {', '.join(ENCODINGS)})")
        if not self.encoding_mu > 0:
            raise ValueError(f"encoding_mu must be > 0, got {self.encoding_mu}")
        if self.scales < 1 or self.unet_levels < 1 or self.channels % self.deform_groups:
            raise ValueError("need scales >= 1, unet_levels >= 1 and channels divisible by deform_groups")


# The ablations of the paper's Table 3 as config overrides.
ABLATIONS: dict[str, dict] = {"full": {}, "single_scale": {"scales": 1}, "no_align": {"align": False}}


def ablation_config(name: str, **overrides) -> STHDRConfig:
    """An ablation variant ('full', 'single_scale', 'no_align'), with further field overrides."""
    if name not in ABLATIONS:
        raise KeyError(f"unknown STHDR ablation '{name}' (choose from: {', '.join(ABLATIONS)})")
    return replace(STHDRConfig(**overrides), **ABLATIONS[name])


class SpatialCorrectModule(nn.Module):
    """SCM: align ``other`` (B, C, H, W) to ``ref`` (B, C, H, W) with a modulated deformable conv."""

    def __init__(self, channels: int, deform_groups: int = 8, gc_ratio: float = 0.25, slope: float = 0.2):
        super().__init__()
        self.taps = 2 * 9 * deform_groups
        self.fuse = nn.Conv2d(2 * channels, channels, 3, padding=1)
        self.context = GlobalContextBlock(channels, gc_ratio, fusion="mul")
        self.offsets = nn.Conv2d(channels, 3 * 9 * deform_groups, 1)   # (y, x) offsets + mask logits
        nn.init.normal_(self.offsets.weight, std=1e-3)                    # starts as a plain conv
        nn.init.zeros_(self.offsets.bias)
        self.dcn = DeformConv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(slope)

    def forward(self, ref: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        o = self.offsets(self.context(self.act(self.fuse(torch.cat([ref, other], dim=1)))))
        aligned = self.dcn(other, o[:, : self.taps], torch.sigmoid(o[:, self.taps:]))
        return self.act(aligned + other)


class MergeNet(nn.Module):
    """Two-stage merge: (B, N*C, h, w) features + (B, 3, h, w) guide -> (final, stage-1) images."""

    def __init__(self, cfg: STHDRConfig):
        super().__init__()
        c = cfg.channels
        self.residual = cfg.output == "relu"
        self.inp = nn.Conv2d(cfg.exposures * c + 3, c, 3, padding=1)
        self.stage1 = HINUNet(c, cfg.unet_levels, cfg.slope)
        self.sam = SupervisedAttention(c, 3, cfg.output)
        self.fuse = nn.Conv2d(2 * c, c, 3, padding=1)
        self.stage2 = HINUNet(c, cfg.unet_levels, cfg.slope)
        self.out = nn.Conv2d(c, 3, 3, padding=1)
        self.act = nn.LeakyReLU(cfg.slope)
        self.final = nn.ReLU() if self.residual else nn.Sigmoid()

    def forward(self, feats: torch.Tensor, guide: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f0 = self.act(self.inp(torch.cat([feats, guide], dim=1)))
        gated, stage1 = self.sam(self.stage1(f0), guide if self.residual else None)
        y = self.out(self.stage2(self.act(self.fuse(torch.cat([gated, f0], dim=1)))))
        return self.final(y + stage1 if self.residual else y), stage1


class STHDR(nn.Module):
    """STHDR. ``forward(x, ratios)``: x (B, 3N, H, W) RGB frames in [0, 1] darkest first,
    ratios (B, N) exposure times (any unit: divided by the reference's) -> HDR (B, 3, H, W) >= 0.
    """

    def __init__(self, config: STHDRConfig | None = None):
        super().__init__()
        self.config = cfg = config or STHDRConfig()
        c = cfg.channels
        self.encode = nn.Sequential(nn.Conv2d(6, c, 3, padding=1), nn.LeakyReLU(cfg.slope))
        self.align = (nn.ModuleList(SpatialCorrectModule(c, cfg.deform_groups, cfg.gc_ratio, cfg.slope)
                                    for _ in range(cfg.align_blocks)) if cfg.align else None)
        self.merge = MergeNet(cfg)

    @property
    def pad_multiple(self) -> int:
        """H and W are padded to a multiple of this (and to at least twice it)."""
        return 2 ** (self.config.scales - 1 + self.config.unet_levels - 1)

    def hdr_inputs(self, x: torch.Tensor, ratios: torch.Tensor) -> torch.Tensor:
        """(B, 3N, H, W), (B, N) -> X (B, N, 6, H, W): [I_i, I_i ** gamma / t_i], t_ref = 1
        (the second half encoded as ``config.encoding`` says)."""
        cfg = self.config
        n, r = cfg.exposures, cfg.reference
        frames = x.unflatten(1, (n, 3)).clamp(0.0, 1.0)
        t = (ratios / ratios[:, r: r + 1]).reshape(-1, n, 1, 1, 1)
        return torch.cat([frames, self.encode_radiance(frames.pow(cfg.gamma) / t)], dim=2)

    def encode_radiance(self, hdr: torch.Tensor) -> torch.Tensor:
        """Radiance -> the network's domain (identity for 'linear')."""
        if self.config.encoding == "linear":
            return hdr
        mu = self.config.encoding_mu
        return torch.log(1.0 + mu * hdr) / math.log1p(mu)   # log/exp, not log1p/expm1: every exporter has them

    def decode_radiance(self, y: torch.Tensor) -> torch.Tensor:
        """The network's domain -> radiance (identity for 'linear')."""
        if self.config.encoding == "linear":
            return y
        mu = self.config.encoding_mu
        return (torch.exp(y.clamp(max=4.0) * math.log1p(mu)) - 1.0) / mu   # T = 4: radiance 1e11, never reached

    def scale_forward(self, inputs: torch.Tensor, guide: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One scale: X (B, N, 6, h, w) and guide (B, 3, h, w) -> (final, stage-1) (B, 3, h, w)."""
        n, r = self.config.exposures, self.config.reference     # Python ints: no traced sizes
        feats = self.encode(inputs.flatten(0, 1)).unflatten(0, (-1, n))  # (B, N, C, h, w)
        if self.align is not None:
            ref = feats[:, r: r + 1]
            moving = torch.cat([feats[:, :r], feats[:, r + 1:]], dim=1).flatten(0, 1)  # (B*(N-1), C, h, w)
            anchor = ref.repeat(1, n - 1, 1, 1, 1).flatten(0, 1)
            for scm in self.align:
                moving = scm(anchor, moving)
            moving = moving.unflatten(0, (-1, n - 1))
            feats = torch.cat([moving[:, :r], ref, moving[:, r:]], dim=1)
        return self.merge(feats.flatten(1, 2), guide)

    def forward(self, x: torch.Tensor, ratios: torch.Tensor, return_all: bool = False):
        """HDR radiance (B, 3, H, W); with ``return_all`` a dict: 'hdr', and 'scales' / 'stage1',
        lists finest first of (B, 3, ceil(H / 2**s), ceil(W / 2**s)) for the multi-scale loss."""
        cfg = self.config
        n = cfg.exposures
        tracing = torch.jit.is_tracing()   # legacy ONNX export: sizes are multiples, no pad/crop
        if not tracing and (x.ndim != 4 or x.shape[1] != 3 * n or ratios.shape != (x.shape[0], n)):
            raise ValueError(f"STHDR({n} exposures) expects x (B, {3 * n}, H, W) and ratios (B, {n}), "
                             f"got {tuple(x.shape)} and {tuple(ratios.shape)}")
        h, w = x.shape[-2:]
        if not tracing:
            m = self.pad_multiple
            ph, pw = max(-(-h // m) * m, 2 * m) - h, max(-(-w // m) * m, 2 * m) - w
            if ph or pw:
                x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        inputs = self.hdr_inputs(x, ratios)
        pyramid = [inputs]
        for _ in range(cfg.scales - 1):
            pyramid.append(F.avg_pool2d(pyramid[-1].flatten(1, 2), 2).unflatten(1, (n, 6)))
        guide = pyramid[-1][:, cfg.reference, 3:]
        finals, stage1s = [], []
        for s in reversed(range(cfg.scales)):
            y, y1 = self.scale_forward(pyramid[s], guide)
            finals.insert(0, y)
            stage1s.insert(0, y1)
            if s:
                guide = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        if not return_all:
            y = self.decode_radiance(finals[0])
            return y if tracing else y[..., :h, :w]
        finals, stage1s = [self.decode_radiance(t) for t in finals], [self.decode_radiance(t) for t in stage1s]
        sizes = [(-(-h // 2**s), -(-w // 2**s)) for s in range(cfg.scales)]
        crop = [t[..., :hs, :ws] for t, (hs, ws) in zip(finals, sizes)]
        return {"hdr": crop[0], "scales": crop,
                "stage1": [t[..., :hs, :ws] for t, (hs, ws) in zip(stage1s, sizes)]}
