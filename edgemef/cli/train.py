"""`edgemef train`: train the fusion networks (needs edgemef[train], i.e. torch)."""
from __future__ import annotations

from pathlib import Path

import click


@click.group("train")
def train_cmd():
    """Train a fusion network on synthetic brackets (PyTorch; CUDA when present)."""


@train_cmd.command("densefuse")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON training config (see configs/); command-line options override its values.")
@click.option("--preset", type=click.Choice(["co", "mb", "mbpt"]), default=None,
              help="Loss preset (Im et al. 2023, Table 2): 'co' co-target loss only, 'mb' + MaskBuilder, "
                   "'mbpt' + MaskBuilder + ParamTuner. Default: the config's, else mbpt.")
@click.option("--co-target", type=click.Choice(["ev0", "label", "mertens"]), default=None,
              help="Co-target: 'ev0' the correctly exposed frame (the paper), 'label' the renderer's fused "
                   "reference, 'mertens' Mertens fusion of the input pair. Default: the config's, else ev0.")
@click.option("--steps", type=int, default=None, help="Optimisation steps in total (a resumed run continues to it).")
@click.option("--batch", type=int, default=None, help="Crops per step.")
@click.option("--crop", type=int, default=None, help="Square crop side in pixels (the paper: 256).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/densefuse"),
              show_default=True, help="Output folder: config, checkpoint, weights, loss plot, summary.")
@click.option("--resume", is_flag=True, help="Continue from <out>/checkpoint.safetensors (same config; "
                                              "--steps may grow). Without a checkpoint, start afresh.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Where to train: 'auto' uses CUDA when torch sees a GPU. Default: the config's, else auto.")
@click.option("--seed", type=int, default=None, help="Initialisation and sampling seed.")
@click.option("--threads", type=int, default=None, help="torch CPU threads (0: torch's default). Default: the config's, else 1.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; print only the result.")
def densefuse_cmd(config_file, preset, co_target, steps, batch, crop, out, resume, device, seed, threads, quiet):
    """Train DenseFuse the way Im et al. 2023 do: co-target loss, MaskBuilder, ParamTuner.

    Writes OUT/densefuse.safetensors (weights + artifact manifest), OUT/config.json,
    OUT/checkpoint.safetensors, OUT/loss.png and OUT/summary.json. Ctrl-C stops after the
    current step with a checkpoint; run again with --resume to continue. Example:

        edgemef train densefuse --config configs/densefuse_default.json --out runs/default
    """
    from edgemef.train.config import load_config
    from edgemef.train.loop import Trainer

    cfg = load_config(config_file, preset=preset, co_target=co_target, steps=steps, batch=batch, crop=crop,
                      device=device, seed=seed, threads=threads)
    trainer = Trainer(cfg, out, resume=resume, progress=not quiet)
    if resume and not trainer.resumed:
        click.echo(f"note: no checkpoint in {out}; starting afresh", err=True)
    try:
        weights = trainer.run()
    except KeyboardInterrupt:
        click.echo(f"interrupted after step {trainer.step}; checkpoint saved in {out}: continue with --resume",
                   err=True)
        raise SystemExit(130) from None
    click.echo(f"trained {trainer.step} steps ({cfg.preset}, co-target {cfg.co_target}) -> {weights}")
