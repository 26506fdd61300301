"""The one declarative table of export targets.

It drives the ``edgemef export`` argument checks and ``--help``, the benchmark and the test
matrix. Per-target logic lives in its own module (named by ``module``); this file imports neither
torch nor any engine.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from edgemef.errors import EdgemefError

PRECISIONS = ("fp32", "fp16", "int8")

# Parity thresholds per precision (PSNR in dB between the artifact's and PyTorch's fused images,
# worst pair; and for int8 the largest allowed |MEF-SSIM change| against the fp32 PyTorch model).
PSNR_THRESHOLDS_DB = {"fp32": 60.0, "fp16": 45.0, "int8": 35.0}
MEF_SSIM_TOLERANCE = {"fp32": None, "fp16": None, "int8": 0.005}

# TensorRT optimisation profile (H, W) used unless the export has a fixed shape.
DEFAULT_PROFILE = {"min": (64, 64), "opt": (720, 1280), "max": (1088, 1920)}


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class Target:
    """One export target.

    Attributes:
        name: the ``--target`` value.
        suffix: the artifact's suffix (what ``-o`` should end with).
        precisions: the ``--precision`` values it supports.
        needs_gpu: the final artifact can only be built and run on an NVIDIA GPU.
        backend: the runtime backend that runs it (``edgemef.runtimes``).
        export_requires: Python modules the export needs besides torch/onnx.
        run_requires: Python modules needed to run the artifact (parity and latency).
        qdq: the QDQ flavour (``edgemef.calibration.qdq.FLAVOURS``) its int8 artifacts use.
        options: target-specific settings (opset, OpenVINO hint, TensorRT profile, ...);
            ``deform_conv`` 'onnx' exports deformable convs as ONNX DeformConv (opset 19, ONNX
            Runtime's native kernel) where the network has them, 'grid' (default) as GridSample.
        help: one line for ``--help``.
        module: the module holding its ``export_artifact`` function.
    """

    name: str
    suffix: str
    precisions: tuple[str, ...]
    needs_gpu: bool
    backend: str
    export_requires: tuple[str, ...]
    run_requires: tuple[str, ...]
    qdq: str
    help: str
    module: str
    options: dict[str, Any] = field(default_factory=dict)

    def can_export(self) -> bool:
        """True when this machine has what the export step needs."""
        return all(_found(m) for m in self.export_requires)

    def can_run(self) -> bool:
        """True when the artifact can be run here (for parity and latency)."""
        return not self.needs_gpu and all(_found(m) for m in self.run_requires)

    def help_line(self) -> str:
        gpu = ", NVIDIA GPU" if self.needs_gpu else ""
        return f"{self.name} ({self.suffix}; {'/'.join(self.precisions)}{gpu}): {self.help}"


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("onnx", ".onnx", ("fp32", "fp16", "int8"), False, "onnxruntime", ("onnx",), ("onnxruntime",),
           "ort-cpu", "single-file ONNX, dynamic H/W, deformable convs as DeformConv (opset 19); int8 = QDQ with "
           "uint8 activations for ONNX Runtime CPU",
           "edgemef.export.onnx_export", {"opset": 18, "deform_conv": "onnx"}),
    Target("openvino", ".xml", ("fp32", "fp16", "int8"), False, "openvino", ("onnx", "openvino"), ("openvino",),
           "openvino", "OpenVINO IR (.xml + .bin); int8 from a QDQ ONNX read by OpenVINO",
           "edgemef.export.openvino_export", {"opset": 18, "inference_precision_hint": "f32"}),
    Target("tensorrt", ".engine", ("fp32", "fp16", "int8"), True, "tensorrt", ("onnx",), ("tensorrt",),
           "tensorrt", "TensorRT engine (10.x/11.x, explicit Q/DQ for int8); without TensorRT here: a checked "
           "TensorRT-ready ONNX and the trtexec command to build it on the device",
           "edgemef.export.tensorrt_export", {"opset": 18, "profile": DEFAULT_PROFILE, "workspace_mib": 2048}),
    Target("ort-mobile", ".ort", ("fp32", "int8"), False, "onnxruntime", ("onnx",), ("onnxruntime",),
           "ort-cpu", "ONNX Runtime mobile .ort model + required-operators config for a reduced build",
           "edgemef.export.ort_mobile", {"opset": 18, "deform_conv": "onnx", "target_platform": "arm",
                                         "optimization_style": "Fixed"}),
)}


def get_target(name: str) -> Target:
    """The :class:`Target` called ``name``.

    Raises:
        EdgemefError: unknown name.
    """
    if name not in TARGETS:
        raise EdgemefError(f"unknown target '{name}' (choose from: {', '.join(TARGETS)})")
    return TARGETS[name]


def validate(target: str, precision: str) -> Target:
    """Check a target/precision pair against the table.

    Raises:
        EdgemefError: unknown target or precision, or a precision the target does not support.
    """
    t = get_target(target)
    if precision not in PRECISIONS:
        raise EdgemefError(f"unknown precision '{precision}' (choose from: {', '.join(PRECISIONS)})")
    if precision not in t.precisions:
        raise EdgemefError(f"target '{t.name}' supports --precision {'/'.join(t.precisions)}, not {precision}")
    return t


def help_text() -> str:
    """The targets paragraph of ``edgemef export --help``."""
    return "; ".join(t.help_line() for t in TARGETS.values())


def matrix(runnable_only: bool = True) -> list[tuple[str, str]]:
    """(target, precision) pairs, optionally only those that export and run on this machine."""
    return [(t.name, p) for t in TARGETS.values() for p in t.precisions
            if not runnable_only or (t.can_export() and t.can_run())]
