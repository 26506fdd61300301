"""PyTorch -> ONNX: the base fp32 graph every target starts from, fp16 conversion, manifest embedding.

The dynamo exporter (``torch.onnx.export(dynamo=True)``, needs onnxscript) writes opset 18 here,
with the weights inside the one file (``external_data=False``) and dynamic height and width
unless a fixed shape is asked for. Networks with further inputs (STHDR's exposure ratios,
``Manifest.extra_inputs``) export with them as further graph inputs of static shape.
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
from edgemef.netio import example_extra_inputs

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
                  exporter: str = "dynamo", deform_conv: str = "grid"):
    """Export the network to an fp32 ``onnx.ModelProto``.

    Args:
        network: an :class:`edgemef.export.source.Network`.
        shape: fixed (H, W), or None for dynamic height and width.
        opset: ONNX opset.
        exporter: 'dynamo' (default, torch.export based) or 'torchscript' (the legacy exporter).
        deform_conv: 'grid' (GridSample + Conv, every backend) or 'onnx' (one DeformConv node per
            deformable conv, ONNX Runtime's fast kernel; needs opset >= 19, see
            :mod:`edgemef.export.deform`).

    Returns:
        The model: input ``(1, C, H, W)`` named per the manifest, then the manifest's further
        inputs (static shapes, e.g. exposure ratios ``(1, N)``), in ``forward`` order; output
        ``(1, C', H, W)``. H and W are dynamic (multiples of ``pad_multiple``, which the runtime
        pads to) unless ``shape`` fixes them.

    Raises:
        EdgemefError: a fixed shape that is not a multiple of ``pad_multiple``, or an export failure.
    """
    import onnx
    import torch

    m = network.manifest
    c = network.in_channels
    mult = max(1, int(m.pad_multiple or 1))
    if shape and (shape[0] % mult or shape[1] % mult):
        raise EdgemefError(f"--shape {shape[0]}x{shape[1]}: '{network.name}' needs multiples of {mult}")
    h, w = shape if shape else (64, 96)  # unequal example sizes so the exporter keeps H and W apart
    extras = example_extra_inputs(m)
    example = (torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(0)),
               *(torch.from_numpy(a) for a in extras.values()))
    names = [m.input_name, *extras]
    module = network.module.eval()
    from edgemef.export.deform import DEFORM_OPSET, MODES, onnx_deform_conv

    if deform_conv not in MODES:
        raise EdgemefError(f"unknown deformable-conv export '{deform_conv}' (use {' or '.join(MODES)})")
    if deform_conv == "onnx" and opset < DEFORM_OPSET:
        raise EdgemefError(f"ONNX DeformConv needs opset {DEFORM_OPSET} or later, not {opset}")
    swap = onnx_deform_conv(module, exporter) if deform_conv == "onnx" else contextlib.nullcontext({})
    try:
        with _quiet(), torch.inference_mode(False), torch.no_grad(), swap as table:
            if exporter == "dynamo":
                dyn = None
                if shape is None:
                    if mult > 1:  # the graph holds no pad: H, W = mult * k, k >= 2 (see netio.padded_size)
                        hd = mult * torch.export.Dim("height_blocks", min=2)
                        wd = mult * torch.export.Dim("width_blocks", min=2)
                    else:
                        hd, wd = torch.export.Dim("height", min=8), torch.export.Dim("width", min=8)
                    dyn = ({2: hd, 3: wd}, *(None for _ in extras))
                prog = torch.onnx.export(module, example, input_names=names, output_names=[m.output_name],
                                         opset_version=opset, dynamo=True, dynamic_shapes=dyn,
                                         external_data=False, optimize=True, verbose=False,
                                         custom_translation_table=table or None)
                model = prog.model_proto
            elif exporter == "torchscript":
                buf = io.BytesIO()
                axes = None if shape else {m.input_name: {2: "height", 3: "width"},
                                           m.output_name: {2: "height", 3: "width"}}
                torch.onnx.export(module, example, buf, input_names=names, output_names=[m.output_name],
                                  opset_version=opset, dynamo=False, dynamic_axes=axes)
                model = onnx.load_from_string(buf.getvalue())
            else:
                raise EdgemefError(f"unknown ONNX exporter '{exporter}' (use dynamo or torchscript)")
    except EdgemefError:
        raise
    except Exception as e:  # the exporters raise many types; say which model failed and why
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise EdgemefError(f"ONNX export of '{network.name}' failed ({type(e).__name__}: {first[:240]})") from e
    got = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    if got != names:
        raise EdgemefError(f"ONNX export of '{network.name}' has inputs {got}, expected {names}")
    unique_node_names(model)
    onnx.checker.check_model(model)
    model.producer_name = "edgemef"
    return model


def unique_node_names(model):
    """Give every node a distinct, non-empty name (in place).

    The legacy exporter repeats a module's scope name when the module runs more than once (STHDR
    shares its weights across three scales); the fp16 converter and the quantizer name the nodes
    they add after the ones they touch, and ``nodes_to_exclude`` picks nodes by name.
    """
    seen: dict[str, int] = {}
    for i, node in enumerate(model.graph.node):
        base = node.name or f"{node.op_type}_{i}"
        k = seen.get(base, 0)
        seen[base] = k + 1
        node.name = base if k == 0 else f"{base}_{k}"
    return model


FP16_BLOCKED_OPS = ("GridSample",)  # sampled in fp32: ONNX Runtime's CPU kernel is float-only


def to_fp16(model, keep_fp32: list[str] | None = None, manifest=None):
    """fp32 ONNX -> fp16 weights and compute, fp32 inputs/outputs (casts at the edges).

    Args:
        model: the fp32 graph.
        keep_fp32: node names to leave in fp32 (default: the sampling-coordinate nodes of
            :func:`edgemef.calibration.sensitive.grid_coordinate_nodes`, whose pixel coordinates
            fp16 cannot hold to a fraction of a pixel; for a network whose ``manifest`` says it
            outputs HDR radiance, every node int8 keeps fp32 too (:func:`fp16_float_nodes`)).
        manifest: the network's manifest, or None.
    """
    import onnx
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    blocked = set(DEFAULT_OP_BLOCK_LIST) | set(FP16_BLOCKED_OPS)
    work = onnx.ModelProto()
    work.CopyFrom(model)
    keep = list(keep_fp32) if keep_fp32 is not None else fp16_float_nodes(work, manifest)
    with _quiet():
        out = convert_float_to_float16(work, keep_io_types=True, op_block_list=sorted(blocked), node_block_list=keep)
    return topological_sort(unique_node_names(_drop_round_trips(_drop_repeated_casts(out))))


def fp16_float_nodes(model, manifest=None) -> list[str]:
    """The nodes an fp16 graph keeps fp32: the sampling coordinates; for an HDR network also the
    radiance path int8 keeps fp32 (exposure normalisation, first and last convolutions, the
    radiance head, the spatial softmax). A mu-law STHDR decodes its output with an exponential
    that turns fp16's 1e-3 rounding of the code into 1 % radiance errors: 40.6 dB against fp32
    PyTorch on 2 mefb-dev pairs with the coordinates alone, 61.1 dB with the radiance path fp32."""
    from edgemef.calibration.sensitive import float_nodes, grid_coordinate_nodes

    if manifest is None or manifest.output != "hdr":
        return grid_coordinate_nodes(model)
    return list(float_nodes(model, manifest))


def _drop_round_trips(model):
    """Remove fp32 -> fp16 -> fp32 Cast pairs between fp32-kept nodes (in place).

    The converter casts every output of an fp32-kept node to fp16 and every input back to fp32,
    so a chain of kept nodes (the coordinate grid) would still pass through fp16 at each link.
    """
    from onnx import TensorProto

    def to(node):
        return next((a.i for a in node.attribute if a.name == "to"), None)

    producers = {o: n for n in model.graph.node for o in n.output}
    outputs = {o.name for o in model.graph.output}
    rename = {}
    for node in model.graph.node:
        if node.op_type != "Cast" or to(node) != TensorProto.FLOAT or node.output[0] in outputs:
            continue
        src = producers.get(node.input[0])
        if src is not None and src.op_type == "Cast" and to(src) == TensorProto.FLOAT16:
            up = producers.get(src.input[0])
            if up is not None and not (up.op_type == "Cast" and to(up) != TensorProto.FLOAT):
                rename[node.output[0]] = src.input[0]
    if not rename:
        return model
    for node in model.graph.node:
        for i, t in enumerate(node.input):
            if t in rename:
                node.input[i] = rename[t]
    used = {t for n in model.graph.node for t in n.input} | outputs
    keep = [n for n in model.graph.node if not (n.op_type == "Cast" and n.output[0] not in used)]
    while len(keep) != len(model.graph.node):  # casts left without readers, repeatedly
        del model.graph.node[:]
        model.graph.node.extend(keep)
        used = {t for n in model.graph.node for t in n.input} | outputs
        keep = [n for n in model.graph.node if not (n.op_type == "Cast" and n.output[0] not in used)]
    return model


def topological_sort(model):
    """Order the nodes so each comes after the producers of its inputs (in place; stable).

    The fp16 converter appends its Cast nodes at the end of the graph; ONNX Runtime sorts for
    itself, TensorRT's parser and the ONNX checker want the order the standard asks for.
    """
    nodes = list(model.graph.node)
    produced_by = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    deps = [{produced_by[t] for t in n.input if t in produced_by} for n in nodes]
    done, order = set(), []
    for start in range(len(nodes)):
        stack = [(start, False)]
        while stack:
            i, ready = stack.pop()
            if i in done:
                continue
            if ready:
                done.add(i)
                order.append(i)
                continue
            stack.append((i, True))
            stack.extend((d, False) for d in sorted(deps[i], reverse=True) if d not in done)
    del model.graph.node[:]
    model.graph.node.extend(nodes[i] for i in order)
    return model


def _drop_repeated_casts(model):
    """Remove the converter's repeated Cast nodes (in place).

    The fp16 converter casts a tensor once per fp32-only consumer, every time under the same output
    name (a Resize ``scales`` initializer read by 14 Resizes; one coordinate grid read by two
    CumSums), which ONNX Runtime refuses as a duplicate definition. The copies are identical, so
    one of each is kept.
    """
    seen, keep = set(), []
    for node in model.graph.node:
        if node.op_type == "Cast" and len(node.output) == 1:
            if node.output[0] in seen:
                continue
            seen.add(node.output[0])
        keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    names, infos = set(), []
    for v in model.graph.value_info:
        if v.name not in names:
            names.add(v.name)
            infos.append(v)
    del model.graph.value_info[:]
    model.graph.value_info.extend(infos)
    return model


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
        model = to_fp16(job.base_onnx(), manifest=job.network.manifest)
    else:
        model = job.qdq_model()
    job.io = io_shapes(model)
    return [save_onnx(model, job.staged(job.output.name), job.manifest)]


def rewrite_artifact(paths: list[Path], manifest: Manifest, job=None) -> None:
    """Embed the final manifest (with parity figures) into the staged artifact."""
    rewrite_manifest(paths[0], manifest)
