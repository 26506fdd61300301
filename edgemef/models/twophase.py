"""The two-phase progressive exposure-fusion network (Huang, NTU): UNet, then attention merging.

Phase 1 (:class:`~edgemef.models.twophase_unet.IntermediateUNet`) turns the darkest and the
brightest bracket into an intermediate exposure carrying the global information; phase 2
(:class:`~edgemef.models.twophase_amnet.AMNet`) attends every bracket's features against the
intermediate's and merges them into the fused image. :class:`TwoPhase` chains the two so the
whole network exports as one graph: ``(B, 3N, H, W)`` RGB brackets in [0, 1], darkest first ->
``(B, 3, H, W)`` fused RGB in [0, 1]. Any H, W works (phase 1 pads internally to
``2 ** unet_levels`` and crops back); N is 2 or 3 (the middle bracket is an extra attended input
of phase 2; phase 1 always sees the two extremes).

Decoupled training: train phase 1 on the intermediate (loss phase 1), call
:meth:`TwoPhase.freeze_phase1`, then train phase 2 on the fused output (loss phase 2); see
:class:`edgemef.train.twophase_losses.TwoPhaseLoss`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgemef.models.twophase_amnet import AMNet
from edgemef.models.twophase_unet import IntermediateUNet


@dataclass
class TwoPhaseConfig:
    """Two-phase network hyper-parameters (defaults: 1,030,374 parameters for 2 exposures).

    Attributes:
        exposures: brackets fused, 2 or 3.
        unet_base: phase-1 channels at full resolution (doubled per level).
        unet_levels: phase-1 stride-2 downsamplings (internal pad multiple ``2 ** unet_levels``).
        unet_dilations: dilations of the phase-1 bottleneck's 3x3 convs.
        amnet_features: phase-2 feature channels.
        amnet_blocks: phase-2 dilated residual dense blocks.
        amnet_layers: convs per block.
        amnet_growth: channels each block layer adds.
        amnet_dilation: dilation of the block convs.
    """

    exposures: int = 2
    unet_base: int = 16
    unet_levels: int = 3
    unet_dilations: tuple[int, ...] = (2, 4)
    amnet_features: int = 32
    amnet_blocks: int = 3
    amnet_layers: int = 3
    amnet_growth: int = 16
    amnet_dilation: int = 2


class TwoPhase(nn.Module):
    """Phase 1 (:attr:`phase1`) then phase 2 (:attr:`phase2`) as one module.

    Input: ``(B, 3N, H, W)`` RGB brackets in [0, 1], darkest first (frame ``i`` is channels
    ``3i .. 3i + 2``). Output: ``(B, 3, H, W)`` fused RGB in [0, 1], or ``(fused, intermediate)``
    with ``return_intermediate=True``.
    """

    def __init__(self, config: TwoPhaseConfig | None = None):
        super().__init__()
        self.config = cfg = config or TwoPhaseConfig()
        if cfg.exposures not in (2, 3):
            raise ValueError(f"TwoPhase fuses 2 or 3 exposures, got exposures={cfg.exposures}")
        self.phase1 = IntermediateUNet(cfg.unet_base, cfg.unet_levels, tuple(cfg.unet_dilations))
        self.phase2 = AMNet(cfg.exposures, cfg.amnet_features, cfg.amnet_blocks, cfg.amnet_layers,
                            cfg.amnet_growth, cfg.amnet_dilation)
        self._phase1_frozen = False

    @property
    def phase1_frozen(self) -> bool:
        """True after :meth:`freeze_phase1` (until :meth:`unfreeze_phase1`)."""
        return self._phase1_frozen

    def freeze_phase1(self) -> "TwoPhase":
        """Fix phase 1 for phase-2 training: no gradients, eval mode (kept by :meth:`train`)."""
        self._phase1_frozen = True
        self.phase1.requires_grad_(False)
        self.phase1.eval()
        return self

    def unfreeze_phase1(self) -> "TwoPhase":
        """Undo :meth:`freeze_phase1` (phase 1 follows this module's train/eval mode again)."""
        self._phase1_frozen = False
        self.phase1.requires_grad_(True)
        self.phase1.train(self.training)
        return self

    def train(self, mode: bool = True) -> "TwoPhase":
        super().train(mode)
        if self._phase1_frozen:
            self.phase1.eval()
        return self

    def parameters_for(self, phase: int | str) -> list[nn.Parameter]:
        """The parameters an optimiser trains in ``phase`` 1, 2 or 'joint' (trainable ones only)."""
        modules = {1: [self.phase1], 2: [self.phase2], "joint": [self.phase1, self.phase2]}
        key = int(phase) if str(phase) in ("1", "2") else phase
        if key not in modules:
            raise ValueError(f"unknown training phase {phase!r} (use 1, 2 or 'joint')")
        return [p for m in modules[key] for p in m.parameters() if p.requires_grad]

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(B, 3N, H, W) -> (under, middle or None, over), each (B, 3, H, W)."""
        n = self.config.exposures
        if x.ndim != 4 or x.shape[1] != 3 * n:
            raise ValueError(f"TwoPhase(exposures={n}) expects (B, {3 * n}, H, W) RGB brackets, darkest first; "
                             f"got {tuple(x.shape)}")
        frames = torch.split(x, 3, dim=1)
        return frames[0], (frames[1] if n == 3 else None), frames[-1]

    def forward(self, x: torch.Tensor, return_intermediate: bool = False):
        """(B, 3N, H, W) brackets -> (B, 3, H, W) fused [, (B, 3, H, W) intermediate]."""
        under, middle, over = self.split(x)
        if self._phase1_frozen and self.training:
            with torch.no_grad():
                inter = self.phase1(under, over)
        else:
            inter = self.phase1(under, over)
        fused = self.phase2(under, inter, over, middle)
        return (fused, inter) if return_intermediate else fused
