"""Fusion networks (PyTorch). One file per architecture, registered explicitly here.

The registry feeds training, export and the test matrix: name -> (model class, config class,
input kind). Importing this package imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from edgemef.models.densefuse import DenseFuse, DenseFuseConfig
from edgemef.models.sthdr import STHDR, STHDRConfig
from edgemef.models.twophase import TwoPhase, TwoPhaseConfig


@dataclass(frozen=True)
class ModelSpec:
    """How to build a network and what it eats.

    Attributes:
        name: registry key ('densefuse', ...).
        build: config -> nn.Module.
        config_cls: the dataclass holding its hyper-parameters.
        colour_space: 'lab-l' (luminance in, luminance out) or 'rgb'.
        output: 'ldr' (display-ready) or 'hdr' (radiance, tone-mapped for display).
        extra_inputs: inputs after the brackets tensor, in forward() order; ('exposure_ratios',)
            means ``forward(x, ratios)`` with ratios (B, N) relative exposure times.
        pad_multiple: H and W the exported graph takes must be multiples of this (the runtime pads).
    """

    name: str
    build: Callable[[Any], nn.Module]
    config_cls: type
    colour_space: str
    output: str = "ldr"
    extra_inputs: tuple[str, ...] = ()
    pad_multiple: int = 1


MODELS: dict[str, ModelSpec] = {
    "densefuse": ModelSpec("densefuse", DenseFuse, DenseFuseConfig, "lab-l"),
    "twophase": ModelSpec("twophase", TwoPhase, TwoPhaseConfig, "rgb"),
    "sthdr": ModelSpec("sthdr", STHDR, STHDRConfig, "rgb", output="hdr", extra_inputs=("exposure_ratios",),
                       pad_multiple=16),
}


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered network; keyword arguments override config fields."""
    if name not in MODELS:
        raise KeyError(f"unknown model '{name}' (choose from: {', '.join(MODELS)})")
    spec = MODELS[name]
    return spec.build(spec.config_cls(**overrides))
