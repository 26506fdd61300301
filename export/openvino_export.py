"""The 'openvino' target: OpenVINO IR (.xml + .bin) in fp32, fp16 or int8.

fp32/fp16 come from the fp32 ONNX (fp16 stores fp16 weights; ``compress_to_fp16``; for an HDR
network, whose radiance path must stay fp32, fp16 converts the fp16 ONNX of ``to_fp16`` instead,
uncompressed, so those nodes keep their fp32 weights); int8 from the
'openvino' QDQ flavour of the calibration table, which OpenVINO reads as FakeQuantize and stores
with int8 weights. The manifest goes into ``rt_info`` under ``edgemef/manifest``.

OpenVINO runs in bf16 on CPUs with AMX/AVX-512-BF16 unless told ``INFERENCE_PRECISION_HINT=f32``:
the runtime (and so the parity check) compiles with f32 unless asked otherwise.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest

RT_INFO_PATH = ["edgemef", "manifest"]


def onnx_to_ov(model):
    """``onnx.ModelProto`` -> ``openvino.Model`` (ONNX metadata is not carried over)."""
    import onnx
    import openvino as ov

    clean = onnx.ModelProto()
    clean.CopyFrom(model)
    del clean.metadata_props[:]
    with tempfile.TemporaryDirectory(prefix="edgemef-ov-") as tmp:
        src = Path(tmp) / "model.onnx"
        onnx.save(clean, str(src))
        try:
            return ov.convert_model(str(src))
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EdgemefError(f"OpenVINO cannot convert the ONNX graph ({first[:240]})") from None


def save_ir(ov_model, xml_path: Path, manifest: Manifest, compress_to_fp16: bool) -> list[Path]:
    """Write ``xml_path`` and its ``.bin`` with the manifest in ``rt_info``.

    When ``edgemef.runtimes`` cannot find it there (its reader stops at the first ``rt_info``, and
    an fp16-compressed IR carries per-layer ``rt_info`` before the model's), the manifest is also
    written beside the IR as ``<name>.xml.json``, which the runtime falls back to.
    """
    import openvino as ov

    from edgemef.export.ort_mobile import write_sidecar
    from edgemef.runtimes.artifacts import openvino_rt_manifest

    ov_model.set_rt_info(manifest.to_json(), RT_INFO_PATH)
    ov.save_model(ov_model, str(xml_path), compress_to_fp16=compress_to_fp16)
    files = [xml_path, xml_path.with_suffix(".bin")]
    if openvino_rt_manifest(xml_path) != manifest.to_json():
        files.append(write_sidecar(xml_path, manifest))
    return files


def export_artifact(job) -> list[Path]:
    """Build the IR for ``job.precision`` into the staging folder."""
    from edgemef.export.onnx_export import io_shapes, to_fp16

    hdr_fp16 = job.precision == "fp16" and job.network.manifest.output == "hdr"
    if job.precision == "int8":
        source = job.qdq_model()
    elif hdr_fp16:  # the radiance path stays fp32: convert the fp16 ONNX as it is, no compression
        source = to_fp16(job.base_onnx(), manifest=job.network.manifest)
    else:
        source = job.base_onnx()
    job.io = io_shapes(source)
    ov_model = onnx_to_ov(source)
    job.state["ov_model"] = ov_model
    job.state["compress"] = job.precision == "fp16" and not hdr_fp16
    return save_ir(ov_model, job.staged(job.output.name), job.manifest, job.state["compress"])


def rewrite_artifact(paths: list[Path], manifest: Manifest, job) -> None:
    """Save the IR again with the final manifest (same in-memory model, same weights)."""
    save_ir(job.state["ov_model"], paths[0], manifest, job.state["compress"])
