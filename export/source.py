"""The network being exported: a registry model, its weights and its base manifest.

Everything is registry-driven (``edgemef.models.MODELS``): a new network plugs in by registering
itself; its checkpoint's ``edgemef.manifest`` metadata (if any) supplies the rest.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from edgemef.errors import EdgemefError
from edgemef.manifest import METADATA_KEY, Manifest
from edgemef.netio import DEFAULT_TONEMAP

def bundled_weights(model: str) -> Path:
    """Where the bundled checkpoint of ``model`` lives (it may not exist)."""
    import edgemef

    return Path(edgemef.__file__).resolve().parent / "assets" / "weights" / f"{model}.safetensors"


@dataclass
class Network:
    """A loaded network ready for export.

    Attributes:
        name: registry name.
        module: the torch ``nn.Module`` in eval mode (fp32, CPU).
        manifest: base manifest (format/precision are filled in per target).
        weights: the checkpoint path, or None for in-memory weights.
        weights_digest: sha256 of the checkpoint file (first 16 hex digits), or of the state dict.
    """

    name: str
    module: object
    manifest: Manifest
    weights: Path | None
    weights_digest: str

    @property
    def in_channels(self) -> int:
        """Channels of the network input: exposures x (1 for 'lab-l', 3 for 'rgb')."""
        per = 1 if self.manifest.colour_space == "lab-l" else 3
        return self.manifest.exposures * per


def _spec(name: str):
    from edgemef.models import MODELS

    if name not in MODELS:
        raise EdgemefError(f"unknown model '{name}' (registered: {', '.join(MODELS)})")
    return MODELS[name]


def extra_input_specs(name: str, config: dict | None = None, exposures: int | None = None) -> list[dict]:
    """``Manifest.extra_inputs`` for a registry model: its ``ModelSpec.extra_inputs`` with shapes.

    'exposure_ratios' is ``(1, N)`` float32, relative to the config's reference frame and with
    the config's linearisation gamma (both recorded, so the runtime estimates ratios the same way).
    """
    spec = _spec(name)
    cfg = spec.config_cls(**dict(config or {}))
    n = int(exposures or getattr(cfg, "exposures", 2))
    out = []
    for kind in getattr(spec, "extra_inputs", ()):
        if kind != "exposure_ratios":
            raise EdgemefError(f"model '{name}' takes an input '{kind}' the exporter does not know")
        ref = getattr(cfg, "reference", None)
        out.append({"name": "exposure_ratios", "kind": "exposure_ratios", "shape": [1, n], "dtype": "float32",
                    "reference": int(ref) if ref is not None else n // 2,
                    "gamma": float(getattr(cfg, "gamma", 2.2))})
    return out


def base_manifest(name: str, config: dict | None = None, stored: Manifest | None = None) -> Manifest:
    """The manifest a registry model exports with: the registry's facts, then the checkpoint's."""
    spec = _spec(name)
    config = dict(config or {})
    m = Manifest(model=name, format="onnx", colour_space=spec.colour_space, output=spec.output,
                 chroma=getattr(spec, "chroma", "mean"), pad_multiple=int(getattr(spec, "pad_multiple", 1)),
                 exposures=int(config.get("exposures", getattr(spec.config_cls(), "exposures", 2))))
    if stored is not None:
        for key in ("exposures", "colour_space", "input_range", "output", "chroma", "pad_multiple",
                    "input_name", "output_name"):
            setattr(m, key, getattr(stored, key))
        m.input_range = tuple(m.input_range)
    m.extra_inputs = extra_input_specs(name, config, m.exposures)
    m.extra = {"config": config} if config else {}
    if m.output == "hdr":
        m.extra["tonemap"] = str((stored.extra.get("tonemap") if stored else None) or DEFAULT_TONEMAP)
    return m


def from_module(name: str, module, config: dict | None = None, manifest: Manifest | None = None) -> Network:
    """Wrap an in-memory model (tests, freshly trained nets)."""
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    module.eval().float()
    return Network(name, module, manifest or base_manifest(name, config), None, h.hexdigest()[:16])


def load_network(name: str, weights: str | Path | None = None) -> Network:
    """Build a registry model and load its weights (default: the bundled checkpoint).

    Raises:
        EdgemefError: unknown model, no weights, unreadable checkpoint or weights that do not fit.
    """
    spec = _spec(name)
    path = Path(weights) if weights else bundled_weights(name)
    if not path.is_file():
        if weights:
            raise EdgemefError(f"{path}: no such weights file")
        raise EdgemefError(f"no bundled weights for '{name}' at {path}: pass --weights FILE (a .safetensors checkpoint)")
    if path.suffix.lower() != ".safetensors":
        raise EdgemefError(f"{path}: weights must be a .safetensors checkpoint")
    from safetensors import SafetensorError
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise EdgemefError(f"{path}: cannot read the checkpoint ({e})") from None
    if meta.get("edgemef.kind") == "checkpoint":  # a training checkpoint: its model/ tensors only
        state = {k[len("model/"):]: v for k, v in state.items() if k.startswith("model/")}
    stored = Manifest.from_json(meta[METADATA_KEY]) if METADATA_KEY in meta else None
    if stored is not None and stored.model != name:
        raise EdgemefError(f"{path}: this checkpoint is a '{stored.model}' network, not '{name}'")
    config = dict((stored.extra.get("config") if stored else None) or {})
    names = {f.name for f in dataclasses.fields(spec.config_cls)}
    if stored is not None and "exposures" in names:
        config.setdefault("exposures", stored.exposures)
    unknown = sorted(set(config) - names)
    if unknown:
        raise EdgemefError(f"{path}: checkpoint config has fields {unknown} that '{name}' does not know")
    from edgemef.models import create_model

    module = create_model(name, **config)
    state = {re.sub(r"^(module|model)\.", "", k): v for k, v in state.items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise EdgemefError(f"{path}: weights do not fit '{name}' ({first[:200]})") from None
    module.eval().float()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Network(name, module, base_manifest(name, config, stored), path, digest)
