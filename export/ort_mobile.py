"""The 'ort-mobile' target: an ONNX Runtime ``.ort`` model and the operator config for a reduced build.

Made with ``onnxruntime.tools.convert_onnx_models_to_ort`` ('Fixed' optimisation style, for the
'arm' target platform by default: graph optimisations that fit every ARM CPU, no x86-only NCHWc
layouts). ``<name>.required_operators.config`` lists the kernels a custom minimal ONNX Runtime
build needs (``build.sh --minimal_build --include_ops_by_config <config>``). The manifest sits
beside the model as ``<name>.ort.json``.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
from pathlib import Path

from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes
from edgemef.manifest import Manifest


def convert_to_ort(onnx_path: Path, out_dir: Path, target_platform: str = "arm",
                   style: str = "Fixed") -> tuple[Path, Path]:
    """Convert one ONNX file; return (.ort path, required-operators config path) in ``out_dir``."""
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    out_dir.mkdir(parents=True, exist_ok=True)
    import onnxruntime.tools.ort_format_model.utils  # noqa: F401  (creates the chatty logger first)

    quiet = logging.getLogger("ort_format_model.utils")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            convert_onnx_models_to_ort(onnx_path, output_dir=out_dir, optimization_styles=[OptimizationStyle[style]],
                                       target_platform=target_platform)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise EdgemefError(f"ONNX Runtime could not convert {onnx_path.name} to the ORT format ({first[:240]})") from None
    finally:
        quiet.setLevel(level)
    orts = sorted(out_dir.glob(f"{onnx_path.stem}*.ort"))
    configs = sorted(out_dir.glob(f"{onnx_path.stem}*.config"))
    if not orts or not configs:
        raise EdgemefError(f"ORT conversion of {onnx_path.name} produced no .ort model or operator config")
    return orts[0], configs[0]


def write_sidecar(artifact: Path, manifest: Manifest) -> Path:
    """``<artifact>.json`` holding the manifest (pretty-printed), written atomically."""
    side = artifact.with_name(artifact.name + ".json")
    atomic_write_bytes(side, json.dumps(json.loads(manifest.to_json()), indent=1, sort_keys=True).encode())
    return side


def export_artifact(job) -> list[Path]:
    """fp32 or int8 (the ONNX Runtime CPU QDQ flavour) ONNX -> ``.ort`` + config + manifest JSON."""
    from edgemef.export.onnx_export import io_shapes, save_onnx

    model = job.qdq_model() if job.precision == "int8" else job.base_onnx()
    job.io = io_shapes(model)
    stem = job.output.stem
    work = job.staged("_ort_work")
    work.mkdir()
    src = save_onnx(model, work / f"{stem}.onnx", job.manifest)
    ort_path, config = convert_to_ort(src, work / "out", job.target.options.get("target_platform", "arm"),
                                      job.target.options.get("optimization_style", "Fixed"))
    final = job.staged(job.output.name)
    cfg = job.staged(f"{stem}.required_operators.config")
    shutil.move(str(ort_path), final)
    shutil.move(str(config), cfg)
    shutil.rmtree(work)
    return [final, write_sidecar(final, job.manifest), cfg]


def rewrite_artifact(paths: list[Path], manifest: Manifest, job=None) -> None:
    """Rewrite the manifest JSON beside the ``.ort`` model."""
    write_sidecar(paths[0], manifest)
