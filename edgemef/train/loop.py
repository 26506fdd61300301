"""The training loop shared by every network, with exact resume and data-parallel training.

What differs per network lives in a task (:mod:`edgemef.train.tasks`: DenseFuse, and
:mod:`~edgemef.train.twophase_task`, :mod:`~edgemef.train.sthdr_task`): model, data, phases,
loss, learning rate, manifest. DenseFuse's loss (Im et al. 2023) is
:func:`~edgemef.train.tasks.compute_loss`. Everything random is a function of the seed and the
step (see :mod:`edgemef.train.dataset`), the learning rate a function of the step, and the
checkpoint holds the model, the current phase's Adam state, RNG states and the loss history: a
resumed run ends with the same weights as an uninterrupted one. Under ``torchrun`` the model is
wrapped in DDP and each rank trains on its shard of the global batch
(:mod:`edgemef.train.distributed`); rank 0 alone writes files.
"""
from __future__ import annotations

import json
import platform
import signal
import sys
import threading
import time
from pathlib import Path

import torch
from tqdm import tqdm

from edgemef.errors import EdgemefError
from edgemef.train import distributed as ddp
from edgemef.train.checkpoint import load_checkpoint, save_checkpoint, save_weights, state_mismatch
from edgemef.train.dataset import step_indices
from edgemef.train.tasks import compute_loss, lr_at, make_task  # noqa: F401  (compute_loss, lr_at: public here)

CHECKPOINT = "checkpoint.safetensors"
WEIGHTS = "densefuse.safetensors"
# config keys that may differ between a DenseFuse run and its resumption (each task has its own set)
RESUMABLE_CHANGES = {"steps", "checkpoint_every", "log_every", "threads", "device"}


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EdgemefError("--device cuda, but torch sees no CUDA device")
    return torch.device(name)


def _init_state(cfg, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of ``cfg.init`` (finished weights or a checkpoint), checked against ``model``."""
    from edgemef.train.evaluate import load_model

    src, manifest = load_model(cfg.init)
    if manifest.model != cfg.model:
        raise EdgemefError(f"init {cfg.init}: holds '{manifest.model}' weights, this run trains '{cfg.model}'")
    state = src.state_dict()
    odd = state_mismatch(state, model.state_dict())
    if odd:
        raise EdgemefError(f"init {cfg.init}: another architecture (first differing tensor: {odd}); "
                           f"the run's 'network' config must match the weights'")
    return state


class Trainer:
    """One training run writing into ``out``.

    Files (rank 0): ``config.json`` (the full config, seed included), ``checkpoint.safetensors``
    (latest, resumable), ``<model>.safetensors`` (final weights with the manifest), ``loss.png``,
    ``summary.json`` (steps, final loss, seconds per step, notes, versions).

    Args:
        cfg: a :class:`~edgemef.train.config.TrainConfig` (DenseFuse) or a config of
            :mod:`edgemef.train.rgb_config`; its ``model`` picks the task.
        out: output folder.
        resume: continue from ``out/checkpoint.safetensors`` when it exists.
        progress: show the tqdm bar.
        pool: a ready scene pool (tests); default: rendered or read from the cache.
        dist: a :class:`~edgemef.train.distributed.DistContext`; default from the environment.
    """

    def __init__(self, cfg, out: str | Path, resume: bool = False, progress: bool = True, pool=None,
                 dist: ddp.DistContext | None = None):
        self.cfg, self.out = cfg.validate(), Path(out)
        self.task = make_task(cfg, pool)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        device = resolve_device(cfg.device)
        self.dist = dist or ddp.from_env(device)
        self.device = ddp.rank_device(device, self.dist)
        self.is_main = self.dist.is_main
        self.progress = progress and self.is_main
        self.task.setup(self.device)
        ckpt = self.out / CHECKPOINT
        if ckpt.exists() and not resume:
            raise EdgemefError(f"{self.out} already holds a checkpoint: pass --resume, or choose another --out")
        torch.manual_seed(cfg.seed)
        self.model = self.task.build_model()
        self.resumed = resume and ckpt.exists()
        if cfg.init and not self.resumed:  # a bad init fails before the output folder is made
            self.model.load_state_dict(_init_state(cfg, self.model))
        if getattr(cfg, "qat", False):
            from edgemef.train import qat

            qat.attach(self.model)
        self.out.mkdir(parents=True, exist_ok=True)
        self.model = self.model.to(self.device)
        self.step = 0
        self.history: dict[str, list[float]] = {}
        state = self._read_checkpoint(ckpt) if self.resumed else None
        phase = self.task.phase_at(self.step)
        if state is not None:
            self.model.load_state_dict(state["model"])
            saved = state["meta"].get("edgemef.phase", phase.name)
            # the optimiser state belongs to the phase it was saved in (the last one of a run that
            # finished there, before its next phase was added): load it there, then move on
            self._enter(next((p for p in self.task.phases() if p.name == saved), phase))
            self.optimizer.load_state_dict(state["optimizer"])
        if state is None or self.phase != phase:
            self._enter(phase)
        if not self.is_main:  # rank 0 renders (or reads) the scene pool first, the others read its cache
            ddp.barrier(self.dist)
        self.dataset = self.task.dataset(progress=self.progress)
        if self.is_main:
            ddp.barrier(self.dist)

    @property
    def weights_name(self) -> str:
        return self.task.weights_name

    def _read_checkpoint(self, ckpt: Path) -> dict:
        from edgemef.train.rgb_config import config_for

        state = load_checkpoint(ckpt)
        saved = config_for(json.loads(state["config"])).to_dict()
        now = self.cfg.to_dict()
        changed = sorted(k for k in now if now[k] != saved.get(k) and k not in self.task.resumable)
        if changed:
            raise EdgemefError(f"--resume with a config that differs from the checkpoint's in: {', '.join(changed)}")
        if state["step"] > self.cfg.steps:
            raise EdgemefError(f"checkpoint is at step {state['step']}, beyond --steps {self.cfg.steps}")
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.step, self.history = state["step"], state["history"]
        return state

    def _enter(self, phase) -> None:
        """Set up ``phase``: the forward module (DDP-wrapped when distributed) and a fresh Adam."""
        self.phase = phase
        module, params = self.task.enter(self.model, phase)
        self.forward_module = ddp.wrap(module, self.dist, self.device)
        self.optimizer = torch.optim.Adam(params, lr=self.cfg.lr)

    def _record(self, parts: dict[str, float]) -> None:
        for k, v in parts.items():
            self.history.setdefault(k, []).append(float(v))

    def train_step(self) -> dict[str, float]:
        """One optimisation step (``self.step`` -> ``self.step + 1``) on the global batch."""
        self.model.train()
        indices = ddp.shard(step_indices(self.step, self.cfg.batch), self.dist)
        batch = {k: v.to(self.device) for k, v in self.task.batch(self.dataset, indices).items()}
        lr = self.task.lr(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss, parts = self.task.loss(self.forward_module, batch, self.phase)
        self.optimizer.zero_grad(set_to_none=True)
        if self.dist.enabled:   # backward first: every rank joins the gradient all-reduce
            loss.backward()
            parts = ddp.mean_parts(parts, self.dist, self.device)
            if not all(map(torch.isfinite, map(torch.tensor, parts.values()))):
                raise EdgemefError(f"loss became {parts['loss']} at step {self.step}")
        else:
            if not torch.isfinite(loss):
                raise EdgemefError(f"loss became {loss.item()} at step {self.step}")
            loss.backward()
        self.optimizer.step()
        self.step += 1
        self._record(parts)
        nxt = self.task.phase_at(self.step)
        if nxt != self.phase and self.step < self.cfg.steps:
            self._enter(nxt)
        return parts

    def save_checkpoint(self) -> None:
        if self.is_main:
            save_checkpoint(self.out / CHECKPOINT, self.model, self.optimizer, self.step,
                            self.cfg.to_json(), self.history, {"edgemef.phase": self.phase.name})
            self._plot()

    def _plot(self) -> None:
        from edgemef.train.plots import plot_losses

        marks = [p.start for p in self.task.phases()[1:]]
        try:
            plot_losses(self.history, self.out / "loss.png", title=self.task.plot_title, curves=self.task.curves,
                        ylabel=self.task.ylabel, marks=marks)
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
            if self.is_main:
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
            for note in self.task.notes():
                print(f"WARNING: {note}", file=sys.stderr, flush=True)
        start, t0 = self.step, time.perf_counter()
        self._stop = False
        previous = self._install_stop_handlers()
        bar = tqdm(total=cfg.steps, initial=self.step, desc=self.task.title, unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        try:
            while self.step < cfg.steps:
                parts = self.train_step()
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    n = min(cfg.log_every, len(self.history["loss"]))
                    bar.set_postfix(loss=f"{sum(self.history['loss'][-n:]) / n:.4g}", **self.task.postfix(parts))
                if ddp.any_rank(self._stop, self.dist, self.device):
                    self.save_checkpoint()
                    ddp.barrier(self.dist)  # see below: no rank leaves while rank 0 writes
                    raise KeyboardInterrupt
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    self.save_checkpoint()
        finally:
            bar.close()
            for sig, old in previous.items():
                signal.signal(sig, old)
        self.save_checkpoint()
        seconds = time.perf_counter() - t0
        path = self._finish(seconds / (self.step - start) if self.step > start else None)
        # the other ranks wait for rank 0's checkpoint, plot and weights: a gloo rank that tears its
        # process group down while rank 0 is still writing can abort ("terminate called without an
        # active exception", seen in CI-like runs of the 2-process tests)
        ddp.barrier(self.dist)
        return path

    def _finish(self, sec_per_step: float | None) -> Path:
        path = self.out / self.task.weights_name
        if not self.is_main:
            return path
        notes = self.task.notes()
        extra = {"edgemef.step": str(self.step), "edgemef.seed": str(self.cfg.seed)}
        if notes:
            extra["edgemef.notes"] = json.dumps(notes)
        save_weights(path, self.model, self.task.manifest(self.model), self.cfg.to_json(), extra)
        tail = self.history["loss"][-min(50, len(self.history["loss"])):]
        summary = {
            "model": self.task.name, "steps": self.step, "seed": self.cfg.seed,
            "final_loss_mean_last_50": sum(tail) / len(tail),
            "seconds_per_step_this_session": None if sec_per_step is None else round(sec_per_step, 4),
            "device": str(self.device), "processes": self.dist.world,
            "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
            "config": self.cfg.to_dict(), "weights": path.name,
        }
        if notes:
            summary["warnings"] = notes
        summary.update(self.task.describe())
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return path
