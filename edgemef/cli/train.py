"""`edgemef train`: train the fusion networks (needs edgemef[train], i.e. torch).

Every subcommand also runs under ``torchrun --nproc_per_node N`` (DistributedDataParallel:
NCCL on GPUs, gloo on CPUs; the global batch is split over the processes).
"""
from __future__ import annotations

from pathlib import Path

import click


@click.group("train")
def train_cmd():
    """Train a fusion network on synthetic brackets (PyTorch; CUDA when present; torchrun for DDP)."""


def _common(default_out: str):
    """The options every trainer takes (after its own)."""
    def deco(fn):
        opts = [
            click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="JSON training config (see configs/); command-line options override its values."),
            click.option("--batch", type=click.IntRange(min=1), default=None,
                         help="Crops per step (the global batch: split over torchrun processes)."),
            click.option("--crop", type=click.IntRange(min=16), default=None, help="Square crop side in pixels."),
            click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path(default_out),
                         show_default=True, help="Output folder: config, checkpoint, weights, loss plot, summary."),
            click.option("--resume", is_flag=True, help="Continue from <out>/checkpoint.safetensors (same config; "
                                                        "the step count may grow). Without a checkpoint, start afresh."),
            click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
                         help="Where to train: 'auto' uses CUDA when torch sees a GPU. Default: the config's, else auto."),
            click.option("--seed", type=click.IntRange(min=0), default=None, help="Initialisation and sampling seed."),
            click.option("--threads", type=click.IntRange(0, 256), default=None,
                         help="torch CPU threads (0: torch's default). Default: the config's, else 1."),
            click.option("--dynamic", type=float, default=None, metavar="FRACTION",
                         help="Share of the training scenes made dynamic (moving objects inserted into the "
                              "under-exposed frame only; the targets stay static: Su 2025). Default: the "
                              "config's data.dynamic, else 0."),
            click.option("--shift-prob", type=float, default=None, metavar="P",
                         help="Probability of shifting a sample's under-exposed input crop by up to "
                              "data.max_shift pixels (the config's, else 4; the thesis' offsets). "
                              "Default: the config's, else 0."),
            click.option("--init", "init", type=click.Path(dir_okay=False), default=None, metavar="WEIGHTS",
                         help="Start from these weights (a finished run's .safetensors or a checkpoint of "
                              "the same network and architecture) with a fresh optimiser and schedule: "
                              "fine-tuning, e.g. the bundled weights on your own data settings. "
                              "Default: the config's init, else a random initialisation."),
            click.option("-q", "--quiet", is_flag=True, help="No progress bar; print only the result."),
        ]
        for opt in reversed(opts):
            fn = opt(fn)
        return fn
    return deco


_QAT = click.option(
    "--qat/--no-qat", default=None,
    help="Quantization-aware training: every convolution sees its input and weights on the int8 grid of "
         "`edgemef export --precision int8` (for a short fine-tune with --init of weights meant for int8; the "
         "saved weights stay fp32). Default: the config's qat, else off.")


def _with_data(cfg, dynamic: float | None, shift_prob: float | None, init: str | None = None):
    """``cfg`` with the --dynamic / --shift-prob / --init overrides applied, validated again."""
    if init is not None:
        cfg.init = init
    if dynamic is not None:
        cfg.data.dynamic = dynamic
    if shift_prob is not None:
        cfg.data.shift_prob = shift_prob
    return cfg.validate()


def _train(cfg, out: Path, resume: bool, quiet: bool, done: str) -> None:
    """Run a Trainer; Ctrl-C -> checkpoint + exit 130; rank 0 alone reports."""
    from edgemef.train import distributed as ddp
    from edgemef.train.loop import Trainer

    import warnings

    with warnings.catch_warnings():  # Trainer.run prints the task's notes (this one) once, as it starts
        warnings.filterwarnings("ignore", message="VGG perceptual loss is OFF", category=UserWarning)
        trainer = Trainer(cfg, out, resume=resume, progress=not quiet)
    try:
        if resume and not trainer.resumed and trainer.is_main:
            click.echo(f"note: no checkpoint in {out}; starting afresh", err=True)
        try:
            weights = trainer.run()
        except KeyboardInterrupt:
            if trainer.is_main:
                click.echo(f"interrupted after step {trainer.step}; checkpoint saved in {out}: continue with --resume",
                           err=True)
            raise SystemExit(130) from None
        if trainer.is_main:
            click.echo(f"trained {trainer.step} steps ({done}) -> {weights}")
            if not quiet:
                click.echo(f"next: edgemef fuse --model {weights} UNDER OVER -o fused.png, or "
                           f"edgemef export --model {cfg.model} --weights {weights} --target onnx")
    finally:
        ddp.shutdown(trainer.dist)


@train_cmd.command("densefuse",
                   short_help="Train DenseFuse: co-target, MaskBuilder, ParamTuner, MEF-SSIM and edge terms.")
@click.option("--preset", type=click.Choice(["co", "mb", "mbpt"]), default=None,
              help="Loss preset (Im et al. 2023, Table 2): 'co' co-target loss only, 'mb' + MaskBuilder, "
                   "'mbpt' + MaskBuilder + ParamTuner. Default: the config's, else mbpt.")
@click.option("--co-target", type=click.Choice(["ev0", "label", "mertens"]), default=None,
              help="Co-target: 'ev0' the correctly exposed frame (the paper), 'label' the renderer's fused "
                   "reference, 'mertens' Mertens fusion of the input pair. Default: the config's, else ev0.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimisation steps in total (a resumed run continues to it).")
@_common("runs/densefuse")
def densefuse_cmd(preset, co_target, steps, config_file, batch, crop, out, resume, device, seed, threads, dynamic,
                  shift_prob, init, quiet):
    """Train DenseFuse (Im et al. 2023): co-target loss, MaskBuilder, ParamTuner.

    Writes OUT/densefuse.safetensors (weights + artifact manifest), OUT/config.json,
    OUT/checkpoint.safetensors, OUT/loss.png and OUT/summary.json. Ctrl-C stops after the
    current step with a checkpoint; run again with --resume to continue. Example:

        edgemef train densefuse --config configs/densefuse_default.json --out runs/default
    """
    from edgemef.train.config import load_config

    cfg = load_config(config_file, preset=preset, co_target=co_target, steps=steps, batch=batch, crop=crop,
                      device=device, seed=seed, threads=threads)
    _train(_with_data(cfg, dynamic, shift_prob, init), out, resume, quiet, f"{cfg.preset}, co-target {cfg.co_target}")


@train_cmd.command("twophase",
                   short_help="Train the two-phase network: phase 1 UNet, then phase 2 AMNet (decoupled).")
@click.option("--phase1-steps", type=click.IntRange(min=0), default=None,
              help="Steps of phase 1 (the UNet alone, target: the EV0 frame). Default: the config's, else 1000.")
@click.option("--phase2-steps", type=click.IntRange(min=0), default=None,
              help="Steps of phase 2 (phase 1 frozen, target: --fused-target); may grow on --resume. "
                   "Default: the config's, else 1000.")
@click.option("--fused-target", type=click.Choice(["label", "mertens"]), default=None,
              help="Phase 2's target: the renderer's fused label (the paper) or the Mertens fusion of the "
                   "static training pair. Default: the config's, else label.")
@click.option("--lambda-mef", type=float, default=None,
              help="Weight of an unsupervised 1 - MEF-SSIM term (fused grey against the static under/over "
                   "pair) in phase 2; 0 turns it off. Default: the config's, else 0.")
@click.option("--lambda-grad", type=float, default=None,
              help="Weight of an edge term in phase 2: L1 between the fused grey's Sobel magnitude and the "
                   "stronger source's (as DenseFuse's grad_weight); 0 turns it off. Default: the config's, else 0.")
@click.option("--vgg-weights", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="torchvision-style VGG-19 state dict (.pth or .safetensors) for the perceptual loss term. "
                   "Without it the VGG term is OFF (the run says so on stderr and in summary.json).")
@_QAT
@_common("runs/twophase")
def twophase_cmd(phase1_steps, phase2_steps, fused_target, lambda_mef, lambda_grad, vgg_weights, qat, config_file,
                 batch, crop, out, resume, device, seed, threads, dynamic, shift_prob, init, quiet):
    """Train the two-phase network, decoupled: phase 1 (UNet -> intermediate exposure, against EV0),
    then phase 1 frozen while phase 2 (attention merging) trains against the label (or Mertens).

    Loss L1 + lambda_vgg VGG + lambda_ssim (1 - SSIM) in both phases, plus lambda_mef (1 - MEF-SSIM)
    and lambda_grad (edge strength against the sources) in phase 2 when set. Writes
    OUT/twophase.safetensors (weights + manifest), config.json, checkpoint.safetensors, loss.png,
    summary.json. Ctrl-C checkpoints; --resume continues (in either phase). Example:

        edgemef train twophase --config configs/twophase_default.json --vgg-weights vgg19.pth
    """
    from edgemef.train.rgb_config import load_model_config
    from edgemef.train.twophase_task import extra_terms

    cfg = load_model_config("twophase", config_file, phase1_steps=phase1_steps, phase2_steps=phase2_steps,
                            fused_target=fused_target, lambda_mef=lambda_mef, lambda_grad=lambda_grad,
                            vgg_weights=vgg_weights, qat=qat, batch=batch, crop=crop, device=device, seed=seed,
                            threads=threads)
    _train(_with_data(cfg, dynamic, shift_prob, init), out, resume, quiet,
           f"phase 1 {cfg.phase1_steps} + phase 2 {cfg.phase2_steps} (target {cfg.fused_target}{extra_terms(cfg)}), "
           f"VGG {'on' if cfg.vgg_weights and cfg.lambda_vgg else 'OFF'}")


@train_cmd.command("sthdr", short_help="Train STHDR: LDR frames + exposure ratios -> HDR radiance.")
@click.option("--ablation", type=click.Choice(["full", "single_scale", "no_align"]), default=None,
              help="Table 3 variant: the full network, a single scale, or no Align Net. Default: the config's, else full.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimisation steps in total (a resumed run continues to it).")
@_QAT
@_common("runs/sthdr")
def sthdr_cmd(ablation, steps, qat, config_file, batch, crop, out, resume, device, seed, threads, dynamic, shift_prob,
              init, quiet):
    """Train STHDR: LDR frames + exposure ratios -> radiance, L1 on mu-law (mu 5000) at every scale.

    Writes OUT/sthdr.safetensors (weights + manifest, output 'hdr'), config.json,
    checkpoint.safetensors, loss.png, summary.json. Ctrl-C checkpoints; --resume continues. Example:

        edgemef train sthdr --config configs/sthdr_no_align.json --out runs/sthdr_no_align

    network.encoding "mu-law" in the config (configs/sthdr_mulaw.json) carries the radiance in the
    loss's mu-law curve inside the network: int8 exports hold it better (docs/sthdr.md).
    """
    from edgemef.train.rgb_config import load_model_config

    cfg = load_model_config("sthdr", config_file, ablation=ablation, steps=steps, qat=qat, batch=batch, crop=crop,
                            device=device, seed=seed, threads=threads)
    _train(_with_data(cfg, dynamic, shift_prob, init), out, resume, quiet, f"ablation {cfg.ablation}")
