"""Checkpoints and shipped weights as safetensors (no pickle), written atomically.

A checkpoint holds everything an exact resume needs: tensors ``model/<name>``,
``optim/<param index>/<key>`` (Adam moments and step), ``rng/torch`` (and ``rng/cuda/<i>``),
``history/<name>`` (the per-step loss curves); metadata ``edgemef.kind`` = 'checkpoint',
``edgemef.step``, ``edgemef.config`` (the training config JSON) and ``edgemef.optim_groups``.

Shipped weights hold the bare ``state_dict`` names and the artifact manifest under
``edgemef.manifest`` (format 'torch'), so the runtime's torch backend can read them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as st_save

from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes
from edgemef.manifest import METADATA_KEY, Manifest


def _tensor(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu").clone().contiguous()


def save_checkpoint(path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int,
                    config_json: str, history: dict[str, list[float]], extra: dict[str, str] | None = None) -> Path:
    """Write a resumable checkpoint after ``step`` completed optimisation steps (``extra``: more
    metadata, e.g. ``edgemef.phase``, the training phase the optimiser state belongs to)."""
    tensors: dict[str, torch.Tensor] = {f"model/{k}": _tensor(v) for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in opt["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim/{idx}/{key}"] = _tensor(value)
            else:
                scalars.setdefault(str(idx), {})[key] = value
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = state
    for name, values in history.items():
        tensors[f"history/{name}"] = torch.tensor(values, dtype=torch.float64)
    meta = {
        "edgemef.kind": "checkpoint",
        "edgemef.step": str(int(step)),
        "edgemef.config": config_json,
        "edgemef.optim_groups": json.dumps({"param_groups": opt["param_groups"], "scalars": scalars}),
    }
    meta.update(extra or {})
    path = Path(path)
    atomic_write_bytes(path, st_save(tensors, metadata=meta))
    return path


def _read(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    p = Path(path)
    if not p.is_file():
        raise EdgemefError(f"{p}: no such file")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types
        raise EdgemefError(f"{p}: not a readable safetensors file ({e})") from None
    return tensors, meta


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns:
        dict with 'model' (state_dict), 'optimizer' (optimizer state_dict), 'step', 'config'
        (JSON text), 'history' (name -> list of floats), 'rng' ('torch' and optional 'cuda' list),
        'meta' (all metadata).
    """
    tensors, meta = _read(path)
    if meta.get("edgemef.kind") != "checkpoint":
        raise EdgemefError(f"{path}: not an edgemef training checkpoint")
    groups = json.loads(meta["edgemef.optim_groups"])
    state: dict[int, dict[str, Any]] = {}
    model, history, cuda = {}, {}, {}
    for key, t in tensors.items():
        kind, _, rest = key.partition("/")
        if kind == "model":
            model[rest] = t
        elif kind == "optim":
            idx, _, name = rest.partition("/")
            state.setdefault(int(idx), {})[name] = t
        elif kind == "history":
            history[rest] = t.tolist()
        elif key.startswith("rng/cuda/"):
            cuda[int(key.rsplit("/", 1)[1])] = t
    for idx, extra in groups["scalars"].items():
        state.setdefault(int(idx), {}).update(extra)
    return {
        "model": model,
        "optimizer": {"state": state, "param_groups": groups["param_groups"]},
        "step": int(meta["edgemef.step"]),
        "config": meta["edgemef.config"],
        "history": history,
        "rng": {"torch": tensors["rng/torch"], "cuda": [cuda[i] for i in sorted(cuda)]},
        "meta": meta,
    }


def densefuse_manifest(fusion: str = "add") -> Manifest:
    """The artifact manifest of trained DenseFuse weights (torch format); a fusion strategy other
    than the default 'add' is recorded as the network config."""
    return Manifest(model="densefuse", format="torch", precision="fp32", exposures=2, colour_space="lab-l",
                    input_name="brackets", output_name="fused", output="ldr", chroma="mean", pad_multiple=1,
                    extra={"config": {"fusion": fusion}} if fusion != "add" else {})


def save_weights(path: str | Path, model: torch.nn.Module, manifest: Manifest, config_json: str,
                 extra: dict[str, str] | None = None) -> Path:
    """Write inference weights: bare state_dict names, manifest + training config in the metadata."""
    tensors = {k: _tensor(v) for k, v in model.state_dict().items()}
    meta = {METADATA_KEY: manifest.to_json(), "edgemef.kind": "weights", "edgemef.config": config_json}
    meta.update(extra or {})
    path = Path(path)
    atomic_write_bytes(path, st_save(tensors, metadata=meta))
    return path


def state_mismatch(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> str | None:
    """The first tensor name (sorted) that one state dict lacks or shapes differently, else None."""
    odd = sorted(k for k in a.keys() | b.keys() if k not in a or k not in b or a[k].shape != b[k].shape)
    return odd[0] if odd else None


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], Manifest, dict[str, str]]:
    """(state_dict, manifest, metadata) of weights from :func:`save_weights`."""
    tensors, meta = _read(path)
    if METADATA_KEY not in meta:
        raise EdgemefError(f"{path}: no '{METADATA_KEY}' in the safetensors metadata")
    return tensors, Manifest.from_json(meta[METADATA_KEY]), meta
