"""Training (PyTorch): DenseFuse as Im et al. 2023 train it.

Modules: :mod:`~edgemef.train.config` (the run's JSON config and presets),
:mod:`~edgemef.train.losses` (MS-SSIM, MSE + alpha (1 - MS-SSIM)),
:mod:`~edgemef.train.maskbuilder`, :mod:`~edgemef.train.paramtuner`,
:mod:`~edgemef.train.dataset` (luminance crops of the synthetic brackets),
:mod:`~edgemef.train.checkpoint` (safetensors), :mod:`~edgemef.train.loop` (the trainer),
:mod:`~edgemef.train.plots`, :mod:`~edgemef.train.evaluate` (scores on real pairs).

Example::

    from edgemef.train import Trainer, load_config
    Trainer(load_config("configs/densefuse_default.json"), "runs/densefuse").run()
"""
from edgemef.train.config import PRESETS, TrainConfig, load_config
from edgemef.train.loop import Trainer

__all__ = ["PRESETS", "TrainConfig", "Trainer", "load_config"]
