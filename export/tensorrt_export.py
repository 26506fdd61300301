"""The 'tensorrt' target: a TensorRT-ready ONNX, its trtexec command, and the engine where TensorRT is.

The ONNX is checked against TensorRT's parser rules (:mod:`edgemef.calibration.trt_check`): fp32,
fp16-typed (fp16 weights and compute), or int8 with symmetric Q/DQ ('tensorrt' flavour). Engines
are built strongly typed, the way TensorRT 11 requires and TensorRT 10 allows: the ONNX types
decide the precision, no FP16/INT8 builder flags. TensorRT 10 (JetPack 6) also keeps the
deprecated implicit INT8 calibration (``IInt8EntropyCalibrator2``); :func:`build_engine` offers it
with ``legacy_calibration`` and refuses it on TensorRT 11, which removed it.

Where ``tensorrt`` is not importable (this machine), the export writes ``<name>.onnx``,
``<name>.engine.json`` (the engine's manifest) and ``<name>.trtexec.sh``; the engine is built on
the device, with trtexec or ``python -m edgemef.export.tensorrt_export <name>.onnx``.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes
from edgemef.manifest import Manifest


def profile_for(job) -> dict:
    """min/opt/max (H, W): the target's default, or the fixed shape three times."""
    if job.shape:
        return {k: tuple(job.shape) for k in ("min", "opt", "max")}
    return {k: tuple(v) for k, v in job.target.options["profile"].items()}


def _dims(channels: int, hw) -> str:
    return f"1x{channels}x{hw[0]}x{hw[1]}"


def trtexec_command(onnx_name: str, engine_name: str, precision: str, profile: dict, input_name: str,
                    channels: int, workspace_mib: int = 2048, dynamic: bool = True) -> str:
    """The trtexec line that builds the engine (TensorRT 10.x and 11.x)."""
    parts = ["trtexec", f"--onnx={onnx_name}", f"--saveEngine={engine_name}"]
    if dynamic:
        parts += [f"--minShapes={input_name}:{_dims(channels, profile['min'])}",
                  f"--optShapes={input_name}:{_dims(channels, profile['opt'])}",
                  f"--maxShapes={input_name}:{_dims(channels, profile['max'])}"]
    parts.append("--stronglyTyped")
    if precision == "fp32":
        parts.append("--noTF32")
    parts += [f"--memPoolSize=workspace:{int(workspace_mib)}", "--skipInference"]
    return " ".join(shlex.quote(p) for p in parts)


def build_script(command: str, onnx_name: str, engine_name: str, precision: str) -> str:
    """A small bash script around the trtexec command."""
    return "\n".join([
        "#!/usr/bin/env bash",
        f"# Build the TensorRT engine for {onnx_name} ({precision}) ON THE DEVICE that will run it:",
        "# an engine only runs on the GPU model and TensorRT version that built it.",
        "# Strongly typed: the ONNX types set the precision (TensorRT 10.x and 11.x).",
        f"# Without trtexec: python -m edgemef.export.tensorrt_export {onnx_name}",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
        'TRTEXEC="${TRTEXEC:-$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)}"',
        command.replace("trtexec", '"$TRTEXEC"', 1),
        f"echo 'built {engine_name}; check it: edgemef fuse --model {engine_name} a.jpg b.jpg -o fused.png'",
        "",
    ])


def _legacy_calibrator(trt, inputs: list[np.ndarray], cache: Path | None):
    """TensorRT 10's deprecated implicit INT8 entropy calibrator over prepared inputs (one per batch)."""
    from edgemef.runtimes.tensorrt import _check, _cudart

    cudart = _cudart()
    h = min(x.shape[2] for x in inputs)
    w = min(x.shape[3] for x in inputs)
    batches = [np.ascontiguousarray(x[:, :, :h, :w], dtype=np.float32) for x in inputs]

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            super().__init__()
            self.index = 0
            self.device = int(_check(cudart.cudaMalloc(batches[0].nbytes), "cudaMalloc"))

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            if self.index >= len(batches):
                return None
            x = batches[self.index]
            self.index += 1
            _check(cudart.cudaMemcpy(self.device, x.ctypes.data, x.nbytes,
                                     cudart.cudaMemcpyKind.cudaMemcpyHostToDevice), "cudaMemcpy")
            return [self.device]

        def read_calibration_cache(self):
            return cache.read_bytes() if cache is not None and cache.is_file() else None

        def write_calibration_cache(self, data):
            if cache is not None:
                atomic_write_bytes(cache, bytes(data))

    return EntropyCalibrator(), (1, inputs[0].shape[1], h, w)


def build_engine(onnx_path: str | Path, engine_path: str | Path, precision: str, profile: dict | None,
                 input_name: str, channels: int, workspace_mib: int = 2048,
                 legacy_calibration: list[np.ndarray] | None = None, calibration_cache: Path | None = None,
                 extra_inputs: list[dict] | None = None) -> Path:
    """Build and serialise a TensorRT engine with the tensorrt Python API (10.x or 11.x).

    Args:
        onnx_path: the TensorRT-ready ONNX (fp16-typed or Q/DQ int8 for those precisions).
        engine_path: where to write the engine (atomically).
        precision: 'fp32', 'fp16' or 'int8' (recorded; the ONNX types decide when strongly typed).
        profile: {'min','opt','max'} (H, W) for dynamic inputs, or None for a fixed-shape ONNX.
        input_name: the network input.
        channels: input channels.
        workspace_mib: builder workspace limit.
        legacy_calibration: TensorRT 10 only: build an fp32 ONNX weakly typed with the INT8 flag
            and this implicit entropy calibration data instead of Q/DQ.
        calibration_cache: cache file for the legacy calibrator.
        extra_inputs: ``Manifest.extra_inputs`` (per-image inputs such as exposure ratios). They
            have static shapes, so the optimisation profile covers only ``input_name``.

    Raises:
        EdgemefError: tensorrt missing, parse or build failure, legacy calibration on TensorRT 11.
    """
    try:
        import tensorrt as trt
    except ImportError:
        raise EdgemefError("building a TensorRT engine needs the tensorrt package (on the NVIDIA device)") from None
    major = int(trt.__version__.split(".")[0])
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    strong = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if legacy_calibration is not None:
        if extra_inputs:
            raise EdgemefError("the legacy INT8 calibrator feeds one input; this network takes "
                               f"{1 + len(extra_inputs)}: use the Q/DQ ONNX")
        if major >= 11 or not hasattr(trt, "IInt8EntropyCalibrator2"):
            raise EdgemefError(f"TensorRT {trt.__version__} has no implicit INT8 calibration: use the Q/DQ ONNX")
    elif strong is not None:
        flags |= 1 << int(strong)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EdgemefError(f"TensorRT's ONNX parser rejected {Path(onnx_path).name}: {errors[:400]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    if precision == "fp32" and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    if profile:
        p = builder.create_optimization_profile()
        p.set_shape(input_name, *[(1, channels, *profile[k]) for k in ("min", "opt", "max")])
        config.add_optimization_profile(p)
    if legacy_calibration is not None:
        config.set_flag(trt.BuilderFlag.INT8)
        calibrator, shape = _legacy_calibrator(trt, legacy_calibration, calibration_cache)
        config.int8_calibrator = calibrator
        if profile:
            cp = builder.create_optimization_profile()
            cp.set_shape(input_name, shape, shape, shape)
            config.set_calibration_profile(cp)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EdgemefError(f"TensorRT {trt.__version__} failed to build an engine from {Path(onnx_path).name} "
                           "(see its log above)")
    atomic_write_bytes(engine_path, bytes(serialized))
    return Path(engine_path)


def export_artifact(job) -> list[Path]:
    """TensorRT-ready ONNX (checked) + engine manifest + trtexec script; the engine where TensorRT runs."""
    from edgemef.calibration.trt_check import require_tensorrt_ready
    from edgemef.export.onnx_export import io_shapes, save_onnx, to_fp16
    from edgemef.export.ort_mobile import write_sidecar

    if job.precision == "int8":
        model = job.qdq_model()
    elif job.precision == "fp16":
        model = to_fp16(job.base_onnx(), manifest=job.network.manifest)
    else:
        model = job.base_onnx()
    profile = profile_for(job)
    channels = job.network.in_channels
    report = require_tensorrt_ready(model, channels, profile, job.manifest.extra_inputs)
    job.io = io_shapes(model)
    stem = job.output.stem
    onnx_name, engine_name = f"{stem}.onnx", job.output.name
    workspace = int(job.target.options.get("workspace_mib", 2048))
    command = trtexec_command(onnx_name, engine_name, job.precision, profile, job.manifest.input_name,
                              channels, workspace, dynamic=not job.shape)
    job.manifest.extra["tensorrt"] = {"profile": {k: list(v) for k, v in profile.items()}, "strongly_typed": True,
                                      "workspace_mib": workspace, "onnx": onnx_name, "trtexec": command,
                                      "check": report.summary()}
    onnx_manifest = Manifest.from_json(job.manifest.to_json())
    onnx_manifest.format = "onnx"
    onnx_manifest.extra["tensorrt_ready"] = True
    onnx_path = save_onnx(model, job.staged(onnx_name), onnx_manifest)
    script = job.staged(f"{stem}.trtexec.sh")
    atomic_write_bytes(script, build_script(command, onnx_name, engine_name, job.precision).encode())
    script.chmod(0o755)
    job.notes.append(report.summary())
    engine = job.staged(engine_name)
    if job.target.can_run():
        build_engine(onnx_path, engine, job.precision, None if job.shape else profile, job.manifest.input_name,
                     channels, workspace, extra_inputs=job.manifest.extra_inputs)
        job.state["engine_built"] = True
        return [engine, write_sidecar(engine, job.manifest), onnx_path, script]
    job.state["engine_built"] = False
    job.parity_backend = "onnxruntime"  # proxy: the TensorRT-ready ONNX in ONNX Runtime
    job.notes.append(f"TensorRT engine NOT built (no tensorrt/GPU here): build it on the device with "
                     f"bash {script.name}")
    return [onnx_path, write_sidecar(engine, job.manifest), script]


def rewrite_artifact(paths: list[Path], manifest: Manifest, job=None) -> None:
    """Final manifest into the engine JSON and the TensorRT-ready ONNX."""
    from edgemef.export.onnx_export import rewrite_manifest
    from edgemef.export.ort_mobile import write_sidecar

    built = job is not None and job.state.get("engine_built")
    engine = paths[0] if built else paths[1].with_name(paths[1].name[: -len(".json")])
    write_sidecar(engine, manifest)
    onnx_path = paths[2] if built else paths[0]
    onnx_manifest = Manifest.from_json(manifest.to_json())
    onnx_manifest.format = "onnx"
    onnx_manifest.extra["tensorrt_ready"] = True
    rewrite_manifest(onnx_path, onnx_manifest)


def main(argv: list[str] | None = None) -> int:
    """``python -m edgemef.export.tensorrt_export NAME.onnx``: build NAME.engine on the device."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].endswith(".onnx"):
        print("usage: python -m edgemef.export.tensorrt_export NAME.onnx  (reads NAME.engine.json)", file=sys.stderr)
        return 2
    onnx_path = Path(args[0])
    engine = onnx_path.with_suffix(".engine")
    side = engine.with_name(engine.name + ".json")
    try:
        manifest = Manifest.from_json(side.read_text(encoding="utf-8"))
        trt_info = manifest.extra.get("tensorrt", {})
        profile = None if manifest.shape else {k: tuple(v) for k, v in trt_info["profile"].items()}
        channels = manifest.exposures * (1 if manifest.colour_space == "lab-l" else 3)
        build_engine(onnx_path, engine, manifest.precision, profile, manifest.input_name, channels,
                     int(trt_info.get("workspace_mib", 2048)), extra_inputs=manifest.extra_inputs)
    except (OSError, KeyError, EdgemefError) as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    print(f"built {engine} ({engine.stat().st_size / 1e6:.1f} MB); manifest: {side.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

