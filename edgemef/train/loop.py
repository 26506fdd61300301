"""The DenseFuse training loop of Im et al. 2023: co-target loss, MaskBuilder, ParamTuner.

Loss of one image (fused ``F``, sources ``S_u``, ``S_o``, co-target ``T``, masks ``M_u``, ``M_o``,
``l(x, y) = MSE + alpha (1 - MS-SSIM)``)::

    co_weight * l(F, T) + lambda_u * l(M_u F, M_u S_u) + lambda_o * l(M_o F, M_o S_o)
        [+ mef_ssim_weight * alpha * (1 - MEF-SSIM(S_u, S_o; F))]

the source terms only with MaskBuilder ('mb', 'mbpt'), lambda = beta / 2 without ParamTuner and
ParamTuner's dynamic weights with it ('mbpt'). Everything random is a function of the seed and
the step (see :mod:`edgemef.train.dataset`), the learning rate a function of the step, and the
checkpoint holds the model, Adam state, RNG states and the loss history: a resumed run ends with
the same weights as an uninterrupted one.

Distributed training later: wrap ``self.model`` in DDP, give each rank its slice of
:func:`~edgemef.train.dataset.step_indices`, and let rank 0 alone write files (``self.is_main``).
"""
from __future__ import annotations

import json
import math
import platform
import signal
import threading
import time
from pathlib import Path

import torch
from tqdm import tqdm

from edgemef.errors import EdgemefError
from edgemef.models import create_model
from edgemef.train.checkpoint import densefuse_manifest, load_checkpoint, save_checkpoint, save_weights
from edgemef.train.config import TrainConfig, config_from_dict
from edgemef.train.dataset import PLANES, BracketCrops, ScenePool, fetch_batch
from edgemef.train.losses import fusion_loss
from edgemef.train.maskbuilder import build_masks
from edgemef.train.paramtuner import dynamic_weights, fixed_weights

CHECKPOINT = "checkpoint.safetensors"
WEIGHTS = "densefuse.safetensors"
# config keys that may differ between a run and its resumption
RESUMABLE_CHANGES = {"steps", "checkpoint_every", "log_every", "threads", "device"}


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EdgemefError("--device cuda, but torch sees no CUDA device")
    return torch.device(name)


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate of step ``step`` (a pure function, so resuming needs no scheduler state)."""
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * step / cfg.steps))
    return cfg.lr


def compute_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], cfg: TrainConfig):
    """Total loss (scalar) and its parts (floats, batch means) for one batch."""
    x = batch["inputs"]
    fused = model(x)
    co, co_mse = fusion_loss(fused, batch[cfg.co_target], cfg.alpha)
    per_image = cfg.co_weight * co
    parts = {"co": co.mean().item(), "co_mse": co_mse.mean().item()}
    if cfg.mask_builder:
        under, over = x[:, 0:1], x[:, 1:2]
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
    if cfg.mef_ssim_weight:
        from edgemef.train.mef_ssim_loss import mef_ssim

        l_mef = cfg.alpha * (1.0 - mef_ssim(x, fused.clamp(0.0, 1.0)))
        per_image = per_image + cfg.mef_ssim_weight * l_mef
        parts["mef"] = l_mef.mean().item()
    total = per_image.mean()
    parts["loss"] = total.item()
    return total, parts


class Trainer:
    """One training run writing into ``out``.

    Files: ``config.json`` (the full config, seed included), ``checkpoint.safetensors`` (latest,
    resumable), ``densefuse.safetensors`` (final weights with the manifest), ``loss.png``,
    ``summary.json`` (steps, final loss, seconds per step, versions).
    """

    def __init__(self, cfg: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True,
                 pool: ScenePool | None = None):
        self.cfg, self.out, self.progress = cfg.validate(), Path(out), progress
        self.is_main = True
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        self.out.mkdir(parents=True, exist_ok=True)
        ckpt = self.out / CHECKPOINT
        if ckpt.exists() and not resume:
            raise EdgemefError(f"{self.out} already holds a checkpoint: pass --resume, or choose another --out")
        torch.manual_seed(cfg.seed)
        self.model = create_model(cfg.model).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.step = 0
        self.history: dict[str, list[float]] = {}
        self.resumed = resume and ckpt.exists()
        if self.resumed:
            self._restore(ckpt)
        self.pool = pool or ScenePool(cfg.data, progress=progress)
        self.dataset = BracketCrops(self.pool, cfg.crop, seed=cfg.seed)

    def _restore(self, ckpt: Path) -> None:
        state = load_checkpoint(ckpt)
        saved = config_from_dict(json.loads(state["config"])).to_dict()
        now = self.cfg.to_dict()
        changed = sorted(k for k in now if now[k] != saved[k] and k not in RESUMABLE_CHANGES)
        if changed:
            raise EdgemefError(f"--resume with a config that differs from the checkpoint's in: {', '.join(changed)}")
        if state["step"] > self.cfg.steps:
            raise EdgemefError(f"checkpoint is at step {state['step']}, beyond --steps {self.cfg.steps}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.step, self.history = state["step"], state["history"]

    def _record(self, parts: dict[str, float]) -> None:
        for k, v in parts.items():
            self.history.setdefault(k, []).append(float(v))

    def train_step(self) -> dict[str, float]:
        """One optimisation step (``self.step`` -> ``self.step + 1``)."""
        self.model.train()
        batch = {k: v.to(self.device) for k, v in fetch_batch(self.dataset, self.step, self.cfg.batch).items()}
        lr = lr_at(self.cfg, self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss, parts = compute_loss(self.model, batch, self.cfg)
        if not torch.isfinite(loss):
            raise EdgemefError(f"loss became {loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        self._record(parts)
        return parts

    def save_checkpoint(self) -> None:
        if self.is_main:
            save_checkpoint(self.out / CHECKPOINT, self.model, self.optimizer, self.step,
                            self.cfg.to_json(), self.history)
            self._plot()

    def _plot(self) -> None:
        from edgemef.train.plots import plot_losses

        try:
            plot_losses(self.history, self.out / "loss.png", title=f"densefuse {self.cfg.preset} / {self.cfg.co_target}")
        except Exception as e:  # a plot must never kill a run
            tqdm.write(f"note: loss plot failed ({e})")

    def _install_stop_handlers(self) -> dict:
        """First SIGINT/SIGTERM: stop after the current step (checkpoint, then KeyboardInterrupt)."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum, frame):
            if self._stop:  # second signal: give up at once
                raise KeyboardInterrupt
            self._stop = True
            tqdm.write("stopping after this step (checkpoint follows); signal again to abort")

        return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def run(self) -> Path:
        """Train up to ``cfg.steps``; checkpoint periodically and on interrupt; write the weights.

        Raises:
            KeyboardInterrupt: after SIGINT/SIGTERM, once the checkpoint of the last completed
                step is written (resume with ``resume=True``).
        """
        cfg = self.cfg
        if self.is_main:
            (self.out / "config.json").write_text(cfg.to_json() + "\n")
        start, t0 = self.step, time.perf_counter()
        self._stop = False
        previous = self._install_stop_handlers()
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"densefuse[{cfg.preset}]", unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        try:
            while self.step < cfg.steps:
                parts = self.train_step()
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    n = min(cfg.log_every, len(self.history["loss"]))
                    bar.set_postfix(loss=f"{sum(self.history['loss'][-n:]) / n:.2f}", co=f"{parts['co']:.2f}")
                if self._stop:
                    self.save_checkpoint()
                    raise KeyboardInterrupt
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    self.save_checkpoint()
        finally:
            bar.close()
            for sig, old in previous.items():
                signal.signal(sig, old)
        self.save_checkpoint()
        seconds = time.perf_counter() - t0
        return self._finish(seconds / (self.step - start) if self.step > start else None)

    def _finish(self, sec_per_step: float | None) -> Path:
        path = self.out / WEIGHTS
        if not self.is_main:
            return path
        extra = {"edgemef.step": str(self.step), "edgemef.seed": str(self.cfg.seed)}
        save_weights(path, self.model, densefuse_manifest(), self.cfg.to_json(), extra)
        tail = self.history["loss"][-min(50, len(self.history["loss"])):]
        summary = {
            "steps": self.step, "seed": self.cfg.seed, "final_loss_mean_last_50": sum(tail) / len(tail),
            "seconds_per_step_this_session": None if sec_per_step is None else round(sec_per_step, 4),
            "device": str(self.device),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
            "config": self.cfg.to_dict(), "weights": path.name,
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return path
