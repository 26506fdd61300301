"""Training task of the two-phase network: decoupled, phase 1 then phase 2.

Phase 1 (``phase1_steps``) trains the intermediate-exposure UNet alone against the renderer's EV0
frame (it sits between the two exposures); then :meth:`~edgemef.models.twophase.TwoPhase.freeze_phase1`
and phase 2 (``phase2_steps``) trains AMNet against the fused label with a fresh Adam. Both use
``L1 + lambda_vgg VGG + lambda_ssim (1 - SSIM)`` (:class:`~edgemef.train.twophase_losses.TwoPhaseLoss`);
without ``vgg_weights`` the VGG term is off and :meth:`TwoPhaseTask.notes` says so.
The learning-rate schedule restarts in each phase. Two options beyond the paper change phase 2's
loss: ``fused_target: mertens`` compares the fused image with the Mertens fusion of the static
pair instead of the label, and ``lambda_mef`` adds ``lambda_mef * (1 - MEF-SSIM)`` of its grey
against the static pair's (:mod:`edgemef.train.mef_ssim_loss`, the metric's formulas).
"""
from __future__ import annotations

import dataclasses
import hashlib
import warnings
from pathlib import Path

import torch
from torch import nn

from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest
from edgemef.train.tasks import Phase, Task, schedule_lr


def extra_terms(cfg) -> str:
    """', MEF-SSIM x3, edges x1': phase 2's terms beyond the paper's loss, for titles and logs."""
    return ((f", MEF-SSIM x{cfg.lambda_mef:g}" if cfg.lambda_mef else "")
            + (f", edges x{cfg.lambda_grad:g}" if cfg.lambda_grad else ""))


def grey(x: torch.Tensor) -> torch.Tensor:
    """(B, 3k, H, W) RGB images -> (B, k, H, W) grey planes, with MATLAB's rgb2gray weights
    (:data:`edgemef.metrics.matlab_compat.GRAY_WEIGHTS`, rounded to the 4 places the shipped
    two-phase weights were trained with), as the MEF-SSIM metric scores colour."""
    from edgemef.metrics.matlab_compat import GRAY_WEIGHTS

    b, c, h, w = x.shape
    wts = torch.tensor([round(float(v), 4) for v in GRAY_WEIGHTS], dtype=x.dtype, device=x.device).view(1, 1, 3, 1, 1)
    return (x.view(b, c // 3, 3, h, w) * wts).sum(2)


class Phase1View(nn.Module):
    """Phase 1 of a :class:`~edgemef.models.twophase.TwoPhase` as a module of its own:
    (B, 3N, H, W) brackets -> (B, 3, H, W) intermediate exposure (its parameters only)."""

    def __init__(self, net):
        super().__init__()
        self.unet = net.phase1
        self._split = net.split

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        under, _, over = self._split(x)
        return self.unet(under, over)


def model_config(cfg) -> dict:
    """The full :class:`~edgemef.models.twophase.TwoPhaseConfig` of a run, as a JSON-able dict."""
    from edgemef.models.twophase import TwoPhaseConfig

    mc = dataclasses.asdict(TwoPhaseConfig(**cfg.network))
    if mc["exposures"] != 2:
        raise EdgemefError("the two-phase trainer's data has two exposures: network.exposures must be 2")
    mc["unet_dilations"] = list(mc["unet_dilations"])
    return mc


def manifest_for(cfg, model=None) -> Manifest:
    """The torch-format artifact manifest of a two-phase run's weights."""
    return Manifest(model="twophase", format="torch", precision="fp32", exposures=2, colour_space="rgb",
                    output="ldr", pad_multiple=1, extra={"config": model_config(cfg)})


def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class TwoPhaseTask(Task):
    """The two-phase network on RGB crops of the synthetic HDR sets."""

    name = "twophase"
    resumable = frozenset({"phase2_steps", "checkpoint_every", "log_every", "threads", "device"})
    ylabel = "L1 + lambda_vgg VGG + lambda_ssim (1 - SSIM)"
    curves = ("loss", "l1", "ssim", "vgg", "mef", "grad")

    def __init__(self, cfg, pool=None):
        super().__init__(cfg, pool)
        from edgemef.train.twophase_losses import TwoPhaseLoss

        if cfg.vgg_weights and not Path(cfg.vgg_weights).is_file():
            raise EdgemefError(f"--vgg-weights {cfg.vgg_weights}: no such file")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # said once, by notes(), on rank 0
            self.criterion = TwoPhaseLoss(cfg.lambda_vgg, cfg.lambda_ssim, cfg.vgg_weights or None, cfg.vgg_arch)

    @property
    def title(self) -> str:
        return "twophase"

    @property
    def plot_title(self) -> str:
        vgg = "VGG on" if self.criterion.vgg_enabled else "VGG OFF"
        return (f"twophase: phase 1 (EV0) {self.cfg.phase1_steps} + phase 2 ({self.cfg.fused_target}) "
                f"{self.cfg.phase2_steps} steps, {vgg}{extra_terms(self.cfg)}")

    def setup(self, device):
        super().setup(device)
        self.criterion.to(device)

    def build_model(self):
        from edgemef.models import create_model

        return create_model("twophase", **model_config(self.cfg))

    def dataset(self, progress):
        from edgemef.train.rgb_dataset import RGBCrops, RGBScenePool

        self.pool = self.pool or RGBScenePool(self.cfg.data, progress=progress)
        return RGBCrops(self.pool, self.cfg.crop, seed=self.cfg.seed)

    def phases(self):
        p1, p2 = self.cfg.phase1_steps, self.cfg.phase2_steps
        out = [Phase("phase1", 0, p1)] if p1 else []
        return out + ([Phase("phase2", p1, p1 + p2)] if p2 else [])

    def enter(self, model, phase):
        if phase.name == "phase1":
            model.unfreeze_phase1()
            return Phase1View(model), list(model.phase1.parameters())
        model.freeze_phase1()
        return model, model.parameters_for(2)

    def lr(self, step):
        phase = self.phase_at(step)
        return schedule_lr(self.cfg.lr, self.cfg.schedule, step - phase.start, phase.end - phase.start)

    def loss(self, module, batch, phase):
        x = batch["inputs"]
        if phase.name == "phase1":
            loss, terms = self.criterion(None, module(x), batch["label"], phase=1, inter_target=batch["ev0"])
        else:
            fused = module(x)
            loss, terms = self.criterion(fused, None, batch[self.cfg.fused_target], phase=2)
            if self.cfg.lambda_mef or self.cfg.lambda_grad:  # both score the grey image the metrics see
                sources, shown = grey(batch["sources"]), grey(fused.clamp(0.0, 1.0))
            if self.cfg.lambda_mef:
                from edgemef.train.mef_ssim_loss import mef_ssim

                mef = (1.0 - mef_ssim(sources, shown)).mean()
                loss = loss + self.cfg.lambda_mef * mef
                terms["mef"] = mef.detach()
            if self.cfg.lambda_grad:
                from edgemef.train.losses import max_gradient_loss

                edges = max_gradient_loss(sources, shown).mean()
                loss = loss + self.cfg.lambda_grad * edges
                terms["grad"] = edges.detach()
        parts = {k: float(v) for k, v in terms.items()}
        parts["loss"] = loss.item()
        return loss, parts

    def manifest(self, model):
        return manifest_for(self.cfg, model)

    def notes(self):
        return [self.criterion.warning] if self.criterion.warning else []

    def describe(self):
        d = {"loss": self.criterion.summary(), "phases": [dataclasses.asdict(p) for p in self.phases()],
             "intermediate_target": "ev0 (the renderer's correctly exposed frame)",
             "fused_target": self.cfg.fused_target, "lambda_mef": self.cfg.lambda_mef,
             "lambda_grad": self.cfg.lambda_grad}
        if self.cfg.vgg_weights:
            d["loss"]["vgg_weights_sha256_16"] = _file_digest(self.cfg.vgg_weights)
        return d

    def postfix(self, parts):
        return {"l1": f"{parts['l1']:.3f}"}
