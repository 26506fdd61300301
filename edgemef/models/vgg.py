"""VGG-16/19 convolutional features in plain torch (no torchvision) for perceptual losses.

The layers are numbered exactly as torchvision's ``vgg16().features`` / ``vgg19().features``
(conv, ReLU, ..., max-pool), so a torchvision state dict loads directly: its ``features.N.weight``
/ ``features.N.bias`` keys are this module's keys. Only the layers up to the deepest requested
one are built (default: up to ``relu3_3``, index 15 in both networks). Weights come from a file
the user names (``.safetensors`` or a torch ``.pth`` state dict); nothing is downloaded.
Inputs are ``(B, 3, H, W)`` RGB in [0, 1], normalised inside with the ImageNet mean and std.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from edgemef.errors import EdgemefError

CFGS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_LAYERS = ("relu1_2", "relu2_2", "relu3_3")
_FEATURE_KEY = re.compile(r"^features\.(\d+)\.(weight|bias)$")
_CLASSIFIER_KEY = re.compile(r"^classifier\.\d+\.(weight|bias)$")


class VGGWeightsError(EdgemefError):
    """A VGG weights file that cannot be read or does not fit the network."""


def _check_arch(arch: str) -> list[int | str]:
    if arch not in CFGS:
        raise ValueError(f"unknown VGG '{arch}' (use {', '.join(CFGS)})")
    return CFGS[arch]


def layer_names(arch: str = "vgg19") -> list[str]:
    """Names of torchvision's ``features`` modules by index: 'conv1_1', 'relu1_1', ..., 'pool5'."""
    names, block, conv = [], 1, 0
    for v in _check_arch(arch):
        if v == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            conv += 1
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
    return names


def expected_shapes(arch: str = "vgg19") -> dict[str, tuple[int, ...]]:
    """{'features.N.weight' / '.bias': shape} of the whole torchvision ``features`` block."""
    shapes, idx, cin = {}, 0, 3
    for v in _check_arch(arch):
        if v == "M":
            idx += 1
            continue
        shapes[f"features.{idx}.weight"] = (int(v), cin, 3, 3)
        shapes[f"features.{idx}.bias"] = (int(v),)
        idx, cin = idx + 2, int(v)
    return shapes


class VGGFeatures(nn.Module):
    """Frozen VGG features at the requested layers.

    Args:
        arch: 'vgg19' or 'vgg16'.
        layers: layer names (see :func:`layer_names`) whose activations :meth:`forward` returns.
        weights: a state dict file to load (see :func:`load_vgg_weights`), or None (random init).
    """

    def __init__(self, arch: str = "vgg19", layers: tuple[str, ...] = DEFAULT_LAYERS,
                 weights: str | Path | None = None):
        super().__init__()
        names = layer_names(arch)
        unknown = [n for n in layers if n not in names]
        if unknown or not layers:
            raise ValueError(f"unknown {arch} layers {unknown or list(layers)} (choose from {', '.join(names)})")
        self.arch = arch
        self.layers = tuple(layers)
        self._taps = sorted(names.index(n) for n in layers)
        self.last_layer = names[self._taps[-1]]
        mods: list[nn.Module] = []
        cin = 3
        for v in _check_arch(arch):
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2))
            else:
                mods += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=False)]
                cin = int(v)
        self.features = nn.Sequential(*mods[: self._taps[-1] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()
        self.load_report: dict | None = None
        if weights is not None:
            self.load_report = load_vgg_weights(self, weights)

    def train(self, mode: bool = True) -> "VGGFeatures":
        return super().train(False)  # always eval: a fixed feature extractor

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) RGB in [0, 1] -> activations at :attr:`layers`, shallowest first."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGGFeatures expects (B, 3, H, W) RGB, got {tuple(x.shape)}")
        y = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            y = layer(y)
            if i in self._taps:
                out.append(y)
        return out


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file or a torch ``.pth``/``.pt`` state dict (on the CPU).

    A ``{'state_dict': ...}`` wrapper and a ``module.`` prefix (DataParallel) are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise VGGWeightsError(f"{path}: no such VGG weights file")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # safetensors / pickle raise many types
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise VGGWeightsError(f"{path}: cannot read VGG weights ({type(e).__name__}: {first}); expected a "
                              f".safetensors file or a torch state dict saved with torch.save(model.state_dict())") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise VGGWeightsError(f"{path}: not a state dict of tensors (got {type(state).__name__})")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def _guess_arch(state: dict[str, torch.Tensor]) -> str | None:
    feats = {k: tuple(v.shape) for k, v in state.items() if _FEATURE_KEY.match(k)}
    for arch in CFGS:
        table = expected_shapes(arch)
        if feats and all(table.get(k) == s for k, s in feats.items()):
            return arch
    return None


def load_vgg_weights(module: VGGFeatures, source: str | Path | dict[str, torch.Tensor]) -> dict:
    """Load torchvision-style VGG weights into ``module``, strictly.

    Every ``features.N`` key must belong to ``module.arch``'s full feature block with the right
    shape; keys past the truncation point and ``classifier.*`` keys (a whole torchvision model)
    are checked/ignored; any other key, a wrong shape or a missing layer raises.

    Returns:
        {'loaded': keys loaded, 'ignored': keys in the file past the truncation or classifier}.

    Raises:
        VGGWeightsError: unreadable file, unexpected or missing keys, wrong shapes.
    """
    name = str(source) if not isinstance(source, dict) else "VGG state dict"
    state = source if isinstance(source, dict) else read_state_dict(source)
    table = expected_shapes(module.arch)
    unexpected = sorted(k for k in state if not (k in table or _CLASSIFIER_KEY.match(k)))
    wrong = sorted(f"{k} {tuple(v.shape)} (expected {table[k]})" for k, v in state.items()
                   if k in table and tuple(v.shape) != table[k])
    own = module.features.state_dict()
    missing = sorted((f"features.{k}" for k in own if f"features.{k}" not in state), key=lambda s: int(s.split(".")[1]))
    if unexpected or wrong or missing:
        guess = _guess_arch(state)
        hint = f"; the file looks like {guess}, build VGGFeatures(arch='{guess}')" if guess and guess != module.arch else ""
        parts = [f"{label}: {', '.join(items[:6])}{' ...' if len(items) > 6 else ''}"
                 for label, items in (("unexpected keys", unexpected), ("wrong shapes", wrong), ("missing keys", missing))
                 if items]
        raise VGGWeightsError(f"{name}: does not fit torchvision {module.arch}.features up to {module.last_layer} "
                              f"({'; '.join(parts)}){hint}")
    module.features.load_state_dict({k: state[f"features.{k}"] for k in own}, strict=True)
    loaded = sorted(f"features.{k}" for k in own)
    return {"loaded": loaded, "ignored": sorted(set(state) - set(loaded))}
