"""Training configs of the RGB networks: the two-phase network and STHDR.

Same conventions as :class:`edgemef.train.config.TrainConfig` (JSON, defaults < ``--config FILE``
< command-line options, unknown keys rejected, validated field by field) and the same shared
fields (batch, crop, lr, schedule, seed, device, threads, checkpoint_every, log_every, data).
``network`` holds overrides of the model's own config dataclass
(:class:`~edgemef.models.twophase.TwoPhaseConfig`, :class:`~edgemef.models.sthdr.STHDRConfig`);
the full model config ends up in the weights' manifest, so export and the runtimes rebuild it.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgemef.errors import EdgemefError
from edgemef.train.config import DataConfig, build_config, check_common, read_config_file

STHDR_ABLATIONS = ("full", "single_scale", "no_align")
FUSED_TARGETS = ("label", "mertens")


def _rgb_data() -> DataConfig:
    return DataConfig(pool=128)


def _need(ok: bool, msg: str) -> None:
    if not ok:
        raise EdgemefError(f"bad training config: {msg}")


def _check_network(cfg, config_cls) -> None:
    names = {f.name for f in dataclasses.fields(config_cls)}
    _need(isinstance(cfg.network, dict), "network must be a JSON object of model config fields")
    unknown = sorted(set(cfg.network) - names)
    _need(not unknown, f"unknown network field(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")


@dataclass
class _Common:
    """The fields both RGB trainers share (see :class:`~edgemef.train.config.TrainConfig`)."""

    network: dict = field(default_factory=dict)
    batch: int = 4
    crop: int = 64
    lr: float = 1e-4
    schedule: str = "constant"
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    checkpoint_every: int = 200
    log_every: int = 10
    init: str = ""
    qat: bool = False
    data: DataConfig = field(default_factory=_rgb_data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


@dataclass
class TwoPhaseTrainConfig(_Common):
    """Decoupled two-phase training: phase 1 (the UNet) on the EV0 frame, then phase 2 (AMNet,
    phase 1 frozen) on the label.

    Attributes:
        model: 'twophase'.
        phase1_steps, phase2_steps: optimisation steps of each phase (phase 1 first; 0 skips it).
        lambda_vgg, lambda_ssim: loss weights of ``L1 + lambda_vgg VGG + lambda_ssim (1 - SSIM)``.
        fused_target: what phase 2 is compared with: 'label' (the renderer's fused label, the
            paper's recipe) or 'mertens' (Mertens fusion of the static training pair, the
            co-target DenseFuse ships with).
        lambda_mef: weight of an unsupervised ``1 - MEF-SSIM`` term of the fused image's grey
            against the static under/over pair's, added in phase 2 (0: off, the paper's loss).
        lambda_grad: weight of the edge term of phase 2, the L1 between the fused grey's Sobel
            magnitude and the stronger source's (:func:`edgemef.train.losses.max_gradient_loss`,
            as DenseFuse's ``grad_weight``); 0: off.
        vgg_weights: torchvision-style VGG state dict file; '' turns the VGG term OFF (said loudly).
        vgg_arch: 'vgg19' or 'vgg16'.
        network: :class:`~edgemef.models.twophase.TwoPhaseConfig` overrides.
        batch, crop, lr, schedule, seed, device, threads, checkpoint_every, log_every, data: as in
            :class:`~edgemef.train.config.TrainConfig`; the schedule restarts in each phase.
        qat: quantization-aware training, as in :class:`STHDRTrainConfig`.
    """

    model: str = "twophase"
    phase1_steps: int = 1000
    phase2_steps: int = 1000
    lambda_vgg: float = 0.1
    lambda_ssim: float = 0.5
    fused_target: str = "label"
    lambda_mef: float = 0.0
    lambda_grad: float = 0.0
    vgg_weights: str = ""
    vgg_arch: str = "vgg19"
    crop: int = 96

    @property
    def steps(self) -> int:
        """Total steps of both phases."""
        return self.phase1_steps + self.phase2_steps

    def validate(self) -> "TwoPhaseTrainConfig":
        """Check every field; raise :class:`EdgemefError` naming the first bad one."""
        from edgemef.models.twophase import TwoPhaseConfig

        _need(self.model == "twophase", f"model '{self.model}' given to the two-phase trainer (use 'twophase')")
        for name in ("phase1_steps", "phase2_steps"):
            v = getattr(self, name)
            _need(isinstance(v, int) and v >= 0, f"{name} must be an integer >= 0")
        _need(self.steps >= 1, "phase1_steps + phase2_steps must be >= 1")
        check_common(self, _need, ("batch", "checkpoint_every", "log_every"))
        _need(self.fused_target in FUSED_TARGETS,
              f"fused_target '{self.fused_target}' (choose from {', '.join(FUSED_TARGETS)})")
        for name in ("lambda_vgg", "lambda_ssim", "lambda_mef", "lambda_grad"):
            _need(isinstance(getattr(self, name), (int, float)) and getattr(self, name) >= 0, f"{name} must be >= 0")
        _need(self.vgg_arch in ("vgg19", "vgg16"), f"vgg_arch '{self.vgg_arch}' (choose from vgg19, vgg16)")
        _need(isinstance(self.vgg_weights, str), "vgg_weights must be a file name or ''")
        _check_network(self, TwoPhaseConfig)
        return self


@dataclass
class STHDRTrainConfig(_Common):
    """STHDR training: multi-scale L1 on mu-law tone-mapped radiance.

    Attributes:
        model: 'sthdr'.
        ablation: 'full', 'single_scale' (1 scale) or 'no_align' (no Align Net): Table 3's rows.
        mu: mu-law parameter (5000).
        stage1_weight: weight of each scale's supervised-attention image (1; 0 drops it).
        network: :class:`~edgemef.models.sthdr.STHDRConfig` overrides (the ablation wins).
        steps, batch, crop, lr, schedule, seed, device, threads, checkpoint_every, log_every, data:
            as in :class:`~edgemef.train.config.TrainConfig`.
        qat: quantization-aware training: every convolution sees its input and weights on the
            int8 grid of the export (:mod:`edgemef.train.qat`); for a short fine-tune (``init``)
            of weights meant for ``edgemef export --precision int8``.
    """

    model: str = "sthdr"
    ablation: str = "full"
    mu: float = 5000.0
    stage1_weight: float = 1.0
    steps: int = 2000

    def validate(self) -> "STHDRTrainConfig":
        """Check every field; raise :class:`EdgemefError` naming the first bad one."""
        from edgemef.models.sthdr import STHDRConfig

        _need(self.model == "sthdr", f"model '{self.model}' given to the STHDR trainer (use 'sthdr')")
        _need(self.ablation in STHDR_ABLATIONS, f"ablation '{self.ablation}' (choose from {', '.join(STHDR_ABLATIONS)})")
        check_common(self, _need, ("steps", "batch", "checkpoint_every", "log_every"))
        _need(isinstance(self.mu, (int, float)) and self.mu > 0, "mu must be > 0")
        _need(isinstance(self.stage1_weight, (int, float)) and self.stage1_weight >= 0, "stage1_weight must be >= 0")
        _check_network(self, STHDRConfig)
        return self


CONFIG_CLASSES = {"twophase": TwoPhaseTrainConfig, "sthdr": STHDRTrainConfig}


def load_model_config(model: str, path: str | Path | None = None, **overrides: Any):
    """The training config of ``model`` ('densefuse', 'twophase', 'sthdr'): defaults, the JSON
    file at ``path``, then non-None ``overrides``.

    Raises:
        EdgemefError: unreadable file, invalid JSON, unknown key, bad value, or a file for
            another model.
    """
    if model == "densefuse":
        from edgemef.train.config import load_config

        return load_config(path, **overrides)
    if model not in CONFIG_CLASSES:
        raise EdgemefError(f"no trainer for model '{model}' (choose from densefuse, {', '.join(CONFIG_CLASSES)})")
    data = read_config_file(path)
    if data.get("model", model) != model:
        raise EdgemefError(f"training config {path} is for model '{data['model']}', not '{model}'")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return build_config(CONFIG_CLASSES[model], data)


def config_for(data: dict[str, Any]):
    """A validated config of whichever model ``data['model']`` names (a saved config)."""
    model = data.get("model", "densefuse")
    if model == "densefuse":
        from edgemef.train.config import config_from_dict

        return config_from_dict(data)
    if model not in CONFIG_CLASSES:
        raise EdgemefError(f"saved config names model '{model}', which has no trainer")
    return build_config(CONFIG_CLASSES[model], data)
