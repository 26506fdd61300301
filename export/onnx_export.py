"""PyTorch -> ONNX: the base fp32 graph every target starts from, fp16 conversion, manifest embedding.

The dynamo exporter (``torch.onnx.export(dynamo=True)``, needs onnxscript) writes opset 18 here,
with the weights inside the one file (``external_data=False``) and dynamic height and width
unless a fixed shape is asked for.
"""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes
from edgemef.manifest import METADATA_KEY, Manifest

DEFAULT_OPSET = 18
_NOISY_LOGGERS = ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript", "torch.fx")


@contextlib.contextmanager
def _quiet():
    """Silence the exporters' warnings and progress prints (real errors still raise)."""
    levels = {n: logging.getLogger(n).level for n in _NOISY_LOGGERS}
    for n in _NOISY_LOGGERS:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, lvl in levels.items():
            logging.getLogger(n).setLevel(lvl)


def torch_to_onnx(network, shape: tuple[int, int] | None = None, opset: int = DEFAULT_OPSET,
                  exporter: str = "dynamo"):
    """Export the network to an fp32 ``onnx.ModelProto``.

    Args:
        network: an :class:`edgemef.export.source.Network`.
        shape: fixed (H, W), or None for dynamic height and width.
        opset: ONNX opset.
        exporter: 'dynamo' (default, torch.export based) or 'torchscript' (the legacy exporter).

    Returns:
        The model, input ``(1, C, H, W)`` named per the manifest, output ``(1, C', H, W)``.
    """
    import onnx
    import torch

    m = network.manifest
    c = network.in_channels
    h, w = shape if shape else (64, 96)  # unequal example sizes so the exporter keeps H and W apart
    example = (torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(0)),)
    module = network.module.eval()
    try:
        with _quiet(), torch.inference_mode(False), torch.no_grad():
            if exporter == "dynamo":
                dyn = None
                if shape is None:
                    hd, wd = torch.export.Dim("height", min=8), torch.export.Dim("width", min=8)
                    dyn = ({2: hd, 3: wd},)
                prog = torch.onnx.export(module, example, input_names=[m.input_name], output_names=[m.output_name],
                                         opset_version=opset, dynamo=True, dynamic_shapes=dyn,
                                         external_data=False, optimize=True, verbose=False)
                model = prog.model_proto
            elif exporter == "torchscript":
                buf = io.BytesIO()
                axes = None if shape else {m.input_name: {2: "height", 3: "width"},
                                           m.output_name: {2: "height", 3: "width"}}
                torch.onnx.export(module, example, buf, input_names=[m.input_name], output_names=[m.output_name],
                                  opset_version=opset, dynamo=False, dynamic_axes=axes)
                model = onnx.load_from_string(buf.getvalue())
            else:
                raise EdgemefError(f"unknown ONNX exporter '{exporter}' (use dynamo or torchscript)")
    except EdgemefError:
        raise
    except Exception as e:  # the exporters raise many types; say which model failed and why
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise EdgemefError(f"ONNX export of '{network.name}' failed ({type(e).__name__}: {first[:240]})") from e
    onnx.checker.check_model(model)
    model.producer_name = "edgemef"
    return model


def to_fp16(model):
    """fp32 ONNX -> fp16 weights and compute, fp32 inputs/outputs (casts at the edges)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    with _quiet():
        return convert_float_to_float16(model, keep_io_types=True)


def embed_manifest(model, manifest: Manifest):
    """Write the manifest into ``metadata_props['edgemef.manifest']`` (replacing an older one)."""
    keep = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, manifest.to_json()
    return model


def save_onnx(model, path: str | Path, manifest: Manifest | None = None) -> Path:
    """Serialise to one file, atomically, optionally embedding ``manifest`` first."""
    if manifest is not None:
        embed_manifest(model, manifest)
    data = model.SerializeToString()
    if len(data) >= 2**31:
        raise EdgemefError(f"{path}: model is over 2 GB, too large for a single-file ONNX")
    atomic_write_bytes(path, data)
    return Path(path)


def rewrite_manifest(path: str | Path, manifest: Manifest) -> None:
    """Replace the manifest embedded in an ONNX file on disk."""
    import onnx

    save_onnx(onnx.load(str(path)), path, manifest)


def io_shapes(model) -> dict[str, list]:
    """{tensor name: dims} of the graph inputs and outputs (str for dynamic dims)."""
    out = {}
    for v in list(model.graph.input) + list(model.graph.output):
        dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        out[v.name] = dims
    return out


def export_artifact(job) -> list[Path]:
    """The 'onnx' target: fp32 and fp16 graphs, or the ORT-CPU QDQ int8 graph. Writes ``job.output``."""
    if job.precision == "fp32":
        model = job.base_onnx()
    elif job.precision == "fp16":
        model = to_fp16(job.base_onnx())
    else:
        model = job.qdq_model()
    job.io = io_shapes(model)
    return [save_onnx(model, job.staged(job.output.name), job.manifest)]


def rewrite_artifact(paths: list[Path], manifest: Manifest, job=None) -> None:
    """Embed the final manifest (with parity figures) into the staged artifact."""
    rewrite_manifest(paths[0], manifest)
