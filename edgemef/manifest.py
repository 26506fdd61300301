"""The artifact manifest: deploy metadata that travels with every exported model.

Written into ONNX ``metadata_props`` (key ``edgemef.manifest``), OpenVINO ``rt_info``
(``edgemef/manifest``) and as ``<artifact>.json`` beside a TensorRT engine or an ``.ort`` file.
The runtime reads it to pick the backend and the pre/post-processing. Torch-free.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from edgemef.errors import EdgemefError

SCHEMA_VERSION = 1
METADATA_KEY = "edgemef.manifest"


@dataclass
class Manifest:
    """What a runtime needs to know about an exported fusion network.

    Attributes:
        model: registry name ('densefuse', 'twophase', 'sthdr').
        format: 'onnx', 'openvino', 'tensorrt', 'ort-mobile' or 'torch'.
        precision: 'fp32', 'fp16' or 'int8'.
        exposures: number of brackets the network takes.
        colour_space: network input space: 'lab-l' (CIELAB L / 100) or 'rgb'.
        input_range: value range of the network input.
        input_name: the graph's input tensor, ``(1, exposures * channels, H, W)``.
        output_name: the graph's output tensor, ``(1, channels, H, W)``.
        extra_inputs: further graph inputs after ``input_name``, in order: dicts with 'name',
            'kind' and 'shape' (static); kind 'exposure_ratios' is ``(1, exposures)`` float32
            exposure times relative to frame 'reference' (darkest first), which
            :func:`edgemef.netio.prepare_input` makes from EXIF times or estimates from the frames.
        output: 'ldr' (display-ready) or 'hdr' (linear radiance, tone-mapped for display).
        chroma: how a/b are merged for 'lab-l' models: 'mean' or 'saturation'.
        shape: fixed [H, W], or None for dynamic height and width.
        pad_multiple: H and W must be multiples of this (the runtime pads).
        calibration: INT8 calibration record (method, samples, digest), else None.
        parity: measured agreement with the PyTorch model (psnr_db, mef_ssim_delta, ...).
        extra: anything target-specific (TensorRT profile, trtexec command, ...).
    """

    model: str
    format: str
    precision: str = "fp32"
    exposures: int = 2
    colour_space: str = "lab-l"
    input_range: tuple[float, float] = (0.0, 1.0)
    input_name: str = "brackets"
    output_name: str = "fused"
    extra_inputs: list[dict[str, Any]] = field(default_factory=list)
    output: str = "ldr"
    chroma: str = "mean"
    shape: list[int] | None = None
    pad_multiple: int = 1
    calibration: dict[str, Any] | None = None
    parity: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION
    edgemef_version: str = ""

    def __post_init__(self):
        if not self.edgemef_version:
            from importlib.metadata import PackageNotFoundError, version

            try:
                self.edgemef_version = version("edgemef")
            except PackageNotFoundError:
                self.edgemef_version = "0+unknown"
        self.input_range = tuple(self.input_range)
        self.extra_inputs = [dict(e) for e in (self.extra_inputs or [])]
        for e in self.extra_inputs:
            if not isinstance(e.get("name"), str) or "shape" not in e:
                raise EdgemefError(f"artifact manifest: extra input {e!r} lacks 'name' or 'shape'")

    @property
    def input_names(self) -> list[str]:
        """Every graph input, in order: ``input_name`` then the extra inputs."""
        return [self.input_name] + [e["name"] for e in self.extra_inputs]

    def extra_input(self, kind: str) -> dict[str, Any] | None:
        """The extra input of a kind ('exposure_ratios'), or None."""
        return next((e for e in self.extra_inputs if e.get("kind", e["name"]) == kind), None)

    def to_json(self) -> str:
        """Compact, key-sorted JSON."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        """Parse a manifest; unknown keys from newer versions are ignored."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise EdgemefError(f"artifact manifest is not valid JSON ({e.msg})") from None
        if not isinstance(data, dict) or "model" not in data or "format" not in data:
            raise EdgemefError("artifact manifest lacks 'model' or 'format'")
        if int(data.get("schema", 1)) > SCHEMA_VERSION:
            raise EdgemefError(f"artifact manifest schema {data['schema']} is newer than this edgemef supports")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
