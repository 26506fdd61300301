"""PyTorch reference backend: a ``.safetensors`` checkpoint in the registry model.

The one module in ``runtimes`` that touches torch, and only inside methods: it needs
``edgemef[train]``. It is the reference the exported artifacts are compared against, and lets
``edgemef fuse --model ckpt.safetensors`` try a checkpoint before export.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.runtimes.base import Backend


class TorchBackend(Backend):
    """``edgemef.models.create_model(manifest.model, **manifest.extra['config'])`` + the weights.

    ``threads`` calls ``torch.set_num_threads`` (process-wide); ``device`` 'CPU' or 'cuda[:N]'.
    """

    name = "torch"
    requires = ("torch", "safetensors")
    distribution = "torch"
    install_hint = "pip install 'edgemef[train]' (see constraints.txt for the CPU torch pin)"

    def _load(self) -> None:
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from edgemef.models import MODELS, create_model

        if self.manifest.model not in MODELS:
            raise EdgemefError(f"{self.path.name}: model '{self.manifest.model}' is not in this edgemef's "
                               f"registry (known: {', '.join(MODELS)})")
        dev = self.device.lower()
        self.torch_device = torch.device("cpu" if dev == "cpu" else re.sub(r"^gpu", "cuda", dev))
        if self.threads:
            torch.set_num_threads(self.threads)
        config = dict(self.manifest.extra.get("config") or {})
        names = {f.name for f in dataclasses.fields(MODELS[self.manifest.model].config_cls)}
        if "exposures" in names:
            config.setdefault("exposures", self.manifest.exposures)
        unknown = sorted(set(config) - names)
        if unknown:
            raise EdgemefError(f"{self.path.name}: manifest config has unknown fields {unknown}")
        try:
            state = load_file(str(self.path))
        except (SafetensorError, OSError) as e:
            raise EdgemefError(f"{self.path.name}: cannot read the checkpoint ({e})") from None
        state = {re.sub(r"^(module|model)\.", "", k): v for k, v in state.items()}
        model = create_model(self.manifest.model, **config)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            raise EdgemefError(f"{self.path.name}: weights do not fit {self.manifest.model} ({first[:200]})") from None
        self.model = model.to(self.torch_device).eval()
        self.precision_used = "fp32"

    def infer(self, x: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        import torch

        x = self._check_input(x)
        args = [torch.from_numpy(a).to(self.torch_device) for a in self._check_extra(extra).values()]
        with torch.inference_mode():
            y = self.model(torch.from_numpy(x).to(self.torch_device), *args)
        return y.float().cpu().numpy()
