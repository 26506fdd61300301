"""The torch-free runtime: load an exported artifact and fuse brackets with it.

Example::

    from edgemef.runtimes import load
    rt = load("densefuse.onnx", threads=2)            # ONNX Runtime
    rt = load("densefuse.onnx", backend="openvino")   # same file, OpenVINO (fp32 unless told)
    fused = rt.fuse([under, over])                    # float32 (H, W, 3) RGB in [0, 1]
    print(rt.last_timings)                            # {'preprocess': ..., 'infer': ..., 'postprocess': ...}

The backend follows the suffix: ``.onnx``/``.ort`` -> ONNX Runtime (``.onnx`` also OpenVINO),
``.xml`` -> OpenVINO, ``.engine``/``.plan`` -> TensorRT, ``.safetensors`` -> the PyTorch reference
(needs ``edgemef[train]``). Importing this package imports neither torch nor any engine.
"""
from __future__ import annotations

import os

from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest
from edgemef.runtimes.artifacts import artifact_format, read_manifest
from edgemef.runtimes.base import DEFAULT_MAX_PIXELS, DEFAULT_OVERLAP, Backend, Runtime
from edgemef.runtimes.onnxruntime import OnnxRuntimeBackend
from edgemef.runtimes.openvino import OpenVINOBackend
from edgemef.runtimes.tensorrt import TensorRTBackend
from edgemef.runtimes.torch_ref import TorchBackend

BACKENDS: dict[str, type[Backend]] = {
    b.name: b for b in (OnnxRuntimeBackend, OpenVINOBackend, TensorRTBackend, TorchBackend)
}
ALIASES = {"ort": "onnxruntime", "ov": "openvino", "trt": "tensorrt", "pytorch": "torch"}
# artifact format -> backends that can run it, the default first
FORMAT_BACKENDS: dict[str, tuple[str, ...]] = {
    "onnx": ("onnxruntime", "openvino"),
    "ort": ("onnxruntime",),
    "openvino": ("openvino",),
    "tensorrt": ("tensorrt",),
    "safetensors": ("torch",),
}


def available_backends() -> list[str]:
    """Names of the backends whose libraries are installed (nothing is imported)."""
    return [name for name, cls in BACKENDS.items() if cls.is_available()]


def backend_for(artifact: str | os.PathLike, backend: str | None = None) -> type[Backend]:
    """The backend class for an artifact: from its suffix, or the one asked for if it can run it."""
    fmt = artifact_format(artifact)
    allowed = FORMAT_BACKENDS[fmt]
    if backend is None:
        return BACKENDS[allowed[0]]
    name = ALIASES.get(backend.lower(), backend.lower())
    if name not in BACKENDS:
        raise EdgemefError(f"unknown backend '{backend}' (choose from: {', '.join(BACKENDS)})")
    if name not in allowed:
        raise EdgemefError(f"{os.fspath(artifact)}: the {name} backend cannot run a '{fmt}' artifact "
                           f"(use {' or '.join(allowed)})")
    return BACKENDS[name]


def check_artifact(artifact: str | os.PathLike, backend: str | None = None) -> tuple[type[Backend], Manifest]:
    """Cheap checks before loading: the file, a backend that can run it and is installed, the manifest.

    Returns:
        (backend class, manifest).

    Raises:
        EdgemefError: what is wrong, in one line (a missing backend is reported before the manifest).
    """
    cls = backend_for(artifact, backend)
    if not cls.is_available():
        raise EdgemefError(f"{os.fspath(artifact)}: the {cls.name} backend needs {', '.join(cls.missing())} "
                           f"(not installed): {cls.install_hint}")
    return cls, read_manifest(artifact)


def load(artifact: str | os.PathLike, *, backend: str | None = None, threads: int | None = None,
         providers: list[str] | None = None, device: str = "CPU", precision: str | None = None,
         max_pixels: int = DEFAULT_MAX_PIXELS, overlap: int = DEFAULT_OVERLAP,
         progress: bool = False, tonemap: str | None = None) -> Runtime:
    """Load an exported network for fusion.

    Args:
        artifact: .onnx, .ort, .xml, .engine/.plan or .safetensors file.
        backend: force 'onnxruntime', 'openvino', 'tensorrt' or 'torch' (default: from the suffix).
        threads: CPU threads for inference (ORT intra-op, OpenVINO INFERENCE_NUM_THREADS, torch).
        providers: ONNX Runtime execution providers, in priority order.
        device: 'CPU' (default), or e.g. 'GPU'/'CUDA' (ORT providers, OpenVINO device, torch device).
        precision: OpenVINO inference precision ('f32' default, 'bf16', 'f16'); ignored elsewhere.
        max_pixels: images whose padded H * W exceed this run in overlapping, blended tiles.
        overlap: tile overlap in pixels.
        progress: show a tqdm bar on stderr while tiling.
        tonemap: how an HDR network's radiance is shown (:data:`edgemef.netio.TONEMAPS`), instead
            of the artifact's own choice; an error for networks that output a display image.

    Raises:
        EdgemefError: missing/corrupt file, no manifest, backend not installed or not suited.
    """
    cls, manifest = check_artifact(artifact, backend)
    if tonemap:
        from edgemef.netio import set_tonemap

        set_tonemap(manifest, tonemap)
    impl = cls(artifact, manifest, threads=threads, providers=providers, device=device, precision=precision)
    return Runtime(impl, manifest, max_pixels=max_pixels, overlap=overlap, progress=progress)


__all__ = ["load", "read_manifest", "check_artifact", "backend_for", "available_backends", "Backend", "Runtime",
           "BACKENDS", "OnnxRuntimeBackend", "OpenVINOBackend", "TensorRTBackend", "TorchBackend",
           "DEFAULT_MAX_PIXELS"]
