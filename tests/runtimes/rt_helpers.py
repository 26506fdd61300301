"""Helpers for the runtime tests: backend skip markers and small real artifacts."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgemef.manifest import METADATA_KEY, Manifest
from edgemef.runtimes import BACKENDS


def requires_backend(name: str):
    """Skip marker: the test needs the named backend's library installed."""
    cls = BACKENDS[name]
    return pytest.mark.skipif(not cls.is_available(), reason=f"{name} backend not installed "
                              f"(missing {', '.join(cls.missing())})")


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB (inf for identical arrays)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def write_mean_onnx(path: Path, manifest: Manifest | None = None, exposures: int = 2) -> Path:
    """A real (torch-free) ONNX network whose output is the mean of its input channels.

    (1, N, H, W) -> ReduceMean over channels -> (1, 1, H, W); dynamic H and W. With a 'lab-l'
    manifest, fusing with it gives the Lab mean of the brackets.
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("brackets", TensorProto.FLOAT, [1, exposures, "h", "w"])
    y = helper.make_tensor_value_info("fused", TensorProto.FLOAT, [1, 1, "h", "w"])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    node = helper.make_node("ReduceMean", ["brackets", "axes"], ["fused"], keepdims=1)
    graph = helper.make_graph([node], "mean", [x], [y], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    if manifest is not None:
        helper.set_model_props(model, {METADATA_KEY: manifest.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_sidecar(artifact: Path, manifest: Manifest) -> Path:
    """``<artifact>.json`` beside an artifact."""
    side = artifact.with_name(artifact.name + ".json")
    side.write_text(json.dumps(json.loads(manifest.to_json()), indent=1))
    return side
