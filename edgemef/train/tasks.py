"""What differs between the networks' training runs, as small "task" objects for the one Trainer.

A task builds the model and the data, names the training phases (one for DenseFuse and STHDR;
two for the two-phase network), says which module runs forward and which parameters train in
each phase, turns a batch into a loss, gives the learning rate of a step and the manifest of
the finished weights. :class:`~edgemef.train.loop.Trainer` does the rest (optimiser, resume,
checkpoints, distributed data parallelism, progress, plots) the same way for all of them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from edgemef.manifest import Manifest
from edgemef.train.config import TrainConfig
from edgemef.train.dataset import PLANES, collate
from edgemef.train.losses import fusion_loss, max_gradient_loss
from edgemef.train.maskbuilder import build_masks
from edgemef.train.paramtuner import dynamic_weights, fixed_weights


def schedule_lr(base: float, schedule: str, step: int, steps: int) -> float:
    """Learning rate at ``step`` of ``steps``: constant, or cosine decay from ``base`` to 0."""
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * step / steps))
    return base


def lr_at(cfg, step: int) -> float:
    """Learning rate of step ``step`` (a pure function, so resuming needs no scheduler state)."""
    return schedule_lr(cfg.lr, cfg.schedule, step, cfg.steps)


def compute_loss(model: nn.Module, batch: dict[str, torch.Tensor], cfg: TrainConfig):
    """DenseFuse: total loss (scalar) and its parts (floats, batch means) for one batch."""
    x = batch["inputs"]
    fused = model(x)
    co, co_mse = fusion_loss(fused, batch[cfg.co_target], cfg.alpha)
    per_image = cfg.co_weight * co
    parts = {"co": co.mean().item(), "co_mse": co_mse.mean().item()}
    src = batch.get("sources", x)  # the static, unshifted frames (== x for static data)
    if cfg.mask_builder:
        under, over = src[:, 0:1], src[:, 1:2]
        m_u, m_o = build_masks(under, over, cfg.mask_sigma)
        l_u, _ = fusion_loss(m_u * fused, m_u * under, cfg.alpha)
        l_o, _ = fusion_loss(m_o * fused, m_o * over, cfg.alpha)
        if cfg.param_tuner:
            g = batch["gammas"]
            lam = dynamic_weights(g[:, 0:2], g[:, PLANES.index(cfg.co_target)], cfg.beta)
        else:
            lam = fixed_weights(x.shape[0], 2, cfg.beta, device=x.device)
        per_image = per_image + lam[:, 0] * l_u + lam[:, 1] * l_o
        parts.update(under=l_u.mean().item(), over=l_o.mean().item(), lambda_under=lam[:, 0].mean().item())
    shown = fused.clamp(0.0, 1.0)  # what the unsupervised terms score: the displayable range
    if cfg.mef_ssim_weight:
        from edgemef.train.mef_ssim_loss import mef_ssim

        l_mef = cfg.alpha * (1.0 - mef_ssim(src, shown))
        per_image = per_image + cfg.mef_ssim_weight * l_mef
        parts["mef"] = l_mef.mean().item()
    if cfg.grad_weight:
        l_grad = cfg.alpha * max_gradient_loss(src, shown)
        per_image = per_image + cfg.grad_weight * l_grad
        parts["grad"] = l_grad.mean().item()
    total = per_image.mean()
    parts["loss"] = total.item()
    return total, parts


@dataclass(frozen=True)
class Phase:
    """A training phase: steps ``start <= step < end``."""

    name: str
    start: int
    end: int


class Task:
    """Base task: one phase over ``cfg.steps``, the whole model trained by Adam.

    Subclasses set :attr:`name` and implement :meth:`build_model`, :meth:`dataset`,
    :meth:`loss` and :meth:`manifest`; multi-phase ones override :meth:`phases`/:meth:`enter`.
    """

    name = ""
    resumable = frozenset({"steps", "checkpoint_every", "log_every", "threads", "device"})
    ylabel = "loss"
    curves: tuple[str, ...] = ("loss",)

    def __init__(self, cfg, pool=None):
        self.cfg, self.pool, self.device = cfg, pool, torch.device("cpu")

    @property
    def weights_name(self) -> str:
        return f"{self.name}.safetensors"

    @property
    def title(self) -> str:
        return self.name

    @property
    def plot_title(self) -> str:
        return self.title

    def setup(self, device: torch.device) -> None:
        """Called once the device is known (move loss networks there)."""
        self.device = device

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def dataset(self, progress: bool):
        """The (infinite, index-addressed) training dataset."""
        raise NotImplementedError

    def batch(self, dataset, indices: list[int]) -> dict[str, torch.Tensor]:
        return collate([dataset[n] for n in indices])

    def phases(self) -> list[Phase]:
        return [Phase("train", 0, self.cfg.steps)]

    def phase_at(self, step: int) -> Phase:
        """The phase that step ``step`` (0-based; ``steps`` = finished) belongs to."""
        phases = self.phases()
        return next((p for p in phases if p.start <= step < p.end), phases[-1])

    def enter(self, model: nn.Module, phase: Phase) -> tuple[nn.Module, list[nn.Parameter]]:
        """Prepare ``model`` for ``phase``: (module whose forward the loss calls, trained parameters)."""
        return model, list(model.parameters())

    def lr(self, step: int) -> float:
        return lr_at(self.cfg, step)

    def loss(self, module: nn.Module, batch: dict[str, torch.Tensor], phase: Phase):
        """(scalar loss, {name: float}) with 'loss' among the parts."""
        raise NotImplementedError

    def manifest(self, model: nn.Module) -> Manifest:
        raise NotImplementedError

    def notes(self) -> list[str]:
        """Warnings the run must show and record (stderr, summary, weights metadata)."""
        return []

    def describe(self) -> dict:
        """Extra facts for summary.json."""
        return {}

    def postfix(self, parts: dict[str, float]) -> dict[str, str]:
        return {}


class DenseFuseTask(Task):
    """DenseFuse (Im et al. 2023): luminance crops, co-target + MaskBuilder + ParamTuner losses."""

    name = "densefuse"
    ylabel = "MSE + alpha (1 - MS-SSIM)"
    curves = ("loss", "co", "under", "over", "mef", "grad")

    @property
    def weights_name(self) -> str:
        return "densefuse.safetensors"

    @property
    def title(self) -> str:
        return f"densefuse[{self.cfg.preset}]"

    @property
    def plot_title(self) -> str:
        return f"densefuse {self.cfg.preset} / {self.cfg.co_target}"

    def build_model(self) -> nn.Module:
        from edgemef.models import create_model

        return create_model(self.cfg.model, fusion=self.cfg.fusion)

    def dataset(self, progress: bool):
        from edgemef.train.dataset import BracketCrops, ScenePool

        self.pool = self.pool or ScenePool(self.cfg.data, progress=progress)
        return BracketCrops(self.pool, self.cfg.crop, seed=self.cfg.seed)

    def loss(self, module, batch, phase):
        return compute_loss(module, batch, self.cfg)

    def manifest(self, model):
        from edgemef.train.checkpoint import densefuse_manifest

        return densefuse_manifest(self.cfg.fusion)

    def postfix(self, parts):
        return {"co": f"{parts['co']:.2f}"}


def manifest_for(cfg, model=None) -> Manifest:
    """The manifest of a run's final weights, from its config alone (no loss or data built)."""
    if cfg.model == "twophase":
        from edgemef.train.twophase_task import manifest_for as fn
    elif cfg.model == "sthdr":
        from edgemef.train.sthdr_task import manifest_for as fn
    else:
        from edgemef.train.checkpoint import densefuse_manifest

        return densefuse_manifest(cfg.fusion)
    return fn(cfg, model)


def make_task(cfg, pool=None) -> Task:
    """The task of ``cfg.model``."""
    if cfg.model == "twophase":
        from edgemef.train.twophase_task import TwoPhaseTask

        return TwoPhaseTask(cfg, pool)
    if cfg.model == "sthdr":
        from edgemef.train.sthdr_task import STHDRTask

        return STHDRTask(cfg, pool)
    return DenseFuseTask(cfg, pool)
