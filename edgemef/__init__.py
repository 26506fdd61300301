"""edgemef: multi-exposure image fusion on edge hardware.

Library use::

    import edgemef
    result = edgemef.fuse(edgemef.load_brackets(["under.jpg", "over.jpg"]), method="mertens")
    edgemef.save_image("fused.png", result.image)

    net = edgemef.load("densefuse-openvino-int8.xml", threads=2)   # any exported artifact
    fused = net.fuse(aligned_images)                               # net.last_timings: per stage
"""
from edgemef.errors import EdgemefError
from edgemef.fusion import METHODS, FusionResult, fuse, register_method
from edgemef.io import Bracket, load_brackets, load_image, save_image

__all__ = ["EdgemefError", "METHODS", "FusionResult", "fuse", "register_method", "Bracket",
           "load_brackets", "load_image", "save_image", "load"]


def load(artifact, **options):
    """Load an exported network (.onnx, .ort, .xml, .engine/.plan, .safetensors), its backend
    picked from the artifact and its manifest; returns a Runtime (``.fuse(images)``).

    Keyword options (all optional; details in :func:`edgemef.runtimes.load`): ``backend``
    ('onnxruntime', 'openvino', 'tensorrt', 'torch'), ``threads`` (1..256), ``providers`` (ONNX
    Runtime), ``device`` ('CPU', 'GPU', 'CUDA'), ``precision`` (OpenVINO: 'f32', 'bf16', 'f16'),
    ``max_pixels`` and ``overlap`` (tiling of large images), ``progress`` (a bar while tiling),
    ``tonemap`` (how an HDR network's radiance is shown)."""
    from edgemef.runtimes import load as _load

    return _load(artifact, **options)
