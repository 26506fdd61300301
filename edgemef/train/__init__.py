"""Training (PyTorch): DenseFuse as Im et al. 2023 train it, the two-phase network and STHDR.

Modules: :mod:`~edgemef.train.config` (DenseFuse's JSON config and presets),
:mod:`~edgemef.train.rgb_config` (the two-phase and STHDR configs),
:mod:`~edgemef.train.losses` (MS-SSIM, MSE + alpha (1 - MS-SSIM)),
:mod:`~edgemef.train.twophase_losses`, :mod:`~edgemef.train.hdr_losses`,
:mod:`~edgemef.train.maskbuilder`, :mod:`~edgemef.train.paramtuner`,
:mod:`~edgemef.train.dataset` (luminance crops of the synthetic brackets),
:mod:`~edgemef.train.rgb_dataset` (RGB crops with EV0, label and HDR targets),
:mod:`~edgemef.train.tasks` (what differs per network), :mod:`~edgemef.train.loop` (the trainer),
:mod:`~edgemef.train.distributed` (torchrun / DDP), :mod:`~edgemef.train.checkpoint` (safetensors),
:mod:`~edgemef.train.plots`, :mod:`~edgemef.train.evaluate` (scores on real pairs) and
:mod:`~edgemef.train.synthetic_eval` (scores against synthetic labels).

Example::

    from edgemef.train import Trainer, load_config
    Trainer(load_config("configs/densefuse_default.json"), "runs/densefuse").run()
"""
from edgemef.train.config import PRESETS, TrainConfig, load_config
from edgemef.train.loop import Trainer

__all__ = ["PRESETS", "TrainConfig", "Trainer", "load_config"]
