"""Nodes of a fusion graph that must stay fp32 in reduced-precision exports.

The fp16 graphs keep the sampling coordinates fp32; the int8 graphs keep every group below.
Found from the graph's structure, not from names, so they hold for either ONNX exporter:

* **sampling coordinates**: the nodes that compute only the ``grid`` input of a GridSample (the
  deformable convolutions of STHDR: pixel coordinates from CumSum, plus offsets, normalised to
  [-1, 1]). In int8 a uint8 step over coordinates 0..W is about W / 255 pixels; in fp16 a
  coordinate near 1,000 has a step of 0.5 pixel. Either moves every sample.
* **exposure normalisation** (networks taking exposure ratios): the nodes that compute only from
  the ratio input, and the elementwise ops that apply it to the frames, up to the first
  convolution (STHDR's ``H_i = I_i ** gamma / t_i``: radiance over a range as wide as the
  exposure ratio, 100x and more on real brackets, whose dark end a uint8 grid would erase).
  The compute ops that read those tensors (STHDR's encoder, merge-input and SAM convolutions)
  keep fp32 inputs too.
* **output head** (every network): the elementwise nodes between the last convolutions and the
  graph output, and those last convolutions. An LDR network's output squashes logits
  (two-phase: ``Sigmoid(conv(...))``): a uint8 grid over its calibrated logits (-14.7..12.6) is a
  step of 0.107, up to 0.027 after the sigmoid, seven 8-bit levels, and MEF-SSIM sees that noise
  in flat regions. On the two-run two-phase weight average (runs/tp_soup2; 2 mefb-dev pairs,
  ONNX Runtime QDQ against the fp32 graph) the int8 MEF-SSIM change goes from -0.0065 to -0.0045
  with the sigmoid fp32 and -0.0042 with its convolution too (PSNR 38.0 -> 40.0 dB); the
  8,000-step weights from -0.0049 to -0.0034; DenseFuse is unchanged (-0.0006). It costs 6 % of
  the two-phase OpenVINO int8 time at 720p (823 ms against 775, interleaved, 2 threads). For HDR
  outputs (reason **radiance head**) the tail is where the output radiance itself is formed
  (residual adds on the guide, ReLU, upsampled guides), for the same reason as the exposure
  normalisation.
* **spatial softmax**: Softmax nodes and the MatMuls reading them (the global-context block's
  attention over all H x W pixels): the weights scale with 1 / (H W), so a range calibrated on
  small crops does not fit a full frame (the context collapses to zero).

The other convolutions, normalisations and attention stay quantized: that is where the time is.

Measured on STHDR (test stand-in, two real mefb-dev pairs, estimated ratios of 90-190x): these
rules lift int8 from ~27 dB to ~34 dB against fp32 PyTorch, short of the 35 dB / 0.005 MEF-SSIM
threshold; keeping the whole encoder and align net fp32 as well adds under 1 dB, and keeping the
deformable offset branches plus the deformable convolutions and their residual adds fp32
(structural rules tried on 2026-12-01) gives 33.9-34.1 dB: no gain, so they were not kept. The features
themselves carry the exposure-normalised radiance, so the int8 export of an HDR network is
refused by the parity check rather than shipped (fp16 holds parity at 75+ dB).

With trained weights (runs/sthdr_short, 400 steps) it is worse, and per-module figures
(:mod:`edgemef.calibration.sensitivity`, 6 calibration probes, display-image PSNR against fp32,
one module group quantized with its elementwise ops, nodes kept fp32 reading fp32 inputs) say
where: everything quantized 16.7 dB; only the merge net's first stage 21.0, the SAM 21.8, the
second stage 24.0, the align net 25.1, the encoder's elementwise ops 25.6, the output convs 28.9,
the merge input 31.9, the stage fusion 37.9. Entropy ranges give 23.2 (percentile 17.5, minmax
16.6, before inputs of fp32 nodes were taken off the grid); ONNX Runtime's dynamic quantization
(per-image ranges, ConvInteger) 19.9 at 1.7x the fp32 time; keeping the deformable offset
branches fp32 changes nothing. The loss is spread over every part that carries radiance:
``edgemef export --int8-fallback`` keeps groups fp32 worst first and, for these weights, has to
keep every one of them (probes 16.6 dB fully int8, 38 dB aimed), so it refuses: no int8 compute
would be left. The bundled 10,000-step weights (2026-12-01, shown by exposure fusion) fare worse
still: 9.5 dB and MEF-SSIM -0.44 fully int8 on 2 mefb-dev pairs, against 57.9 dB in fp16
(``edgemef export --model sthdr --target onnx --precision int8 --parity-pairs
../shared/data/mefb-dev --parity-count 2``). The same recipe with the radiance carried in
mu-law inside the network (``STHDRConfig.encoding``, ``configs/sthdr_mulaw.json``: features over
0..1.6 instead of 0..ratio) reaches 34.9 dB fully int8 with every structural rule unchanged
(docs/sthdr.md). The test stand-in clears parity that way (46.8 dB, MEF-SSIM +0.0003) with 24 of
153 compute ops int8. Before 2026-12-01 ``nodes_to_exclude`` alone kept a node's weights fp32
but not its input (the producer's Q/DQ pair stayed on the edge);
:func:`edgemef.calibration.qdq.fp32_inputs` now rewires such inputs.

Torch-free (onnx only, inside the functions).
"""
from __future__ import annotations

from collections import defaultdict

COMPUTE_OPS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm", "GridSample", "DeformConv",
                         "InstanceNormalization", "LayerNormalization", "Softmax"})


def _layer(node) -> bool:
    """A compute op that carries weights or statistics of its own (GridSample only samples)."""
    return node.op_type in COMPUTE_OPS and node.op_type != "GridSample"


def _graph_maps(model):
    consumers: dict[str, list[tuple[object, int]]] = defaultdict(list)
    producers = {}
    for node in model.graph.node:
        for i, t in enumerate(node.input):
            if t:
                consumers[t].append((node, i))
        for t in node.output:
            producers[t] = node
    return consumers, producers


def grid_coordinate_nodes(model) -> list[str]:
    """Names of the nodes whose outputs go only into the ``grid`` input of GridSample nodes."""
    consumers, _ = _graph_maps(model)
    outputs = {o.name for o in model.graph.output}
    only: dict[str, bool] = {}

    def grid_only(node) -> bool:
        if node.name in only:
            return only[node.name]
        only[node.name] = False  # cycle guard (graphs are acyclic)
        ok = bool(node.output) and all(t not in outputs for t in node.output)
        for t in node.output:
            users = consumers.get(t, [])
            if not users:
                continue
            for user, idx in users:
                if user.op_type == "GridSample":
                    ok = ok and idx == 1
                else:
                    ok = ok and grid_only(user)
        used = any(consumers.get(t) for t in node.output)
        only[node.name] = ok and used
        return only[node.name]

    return [n.name for n in model.graph.node if n.op_type != "GridSample" and grid_only(n)]


def _forward_from(model, sources: set[str], stop_ops=COMPUTE_OPS) -> list[str]:
    """Nodes reachable from tensors ``sources`` without passing through a compute op."""
    consumers, _ = _graph_maps(model)
    seen, names, todo = set(sources), [], list(sources)
    while todo:
        t = todo.pop()
        for user, _ in consumers.get(t, []):
            if user.op_type in stop_ops or user.name in names:
                continue
            names.append(user.name)
            for o in user.output:
                if o not in seen:
                    seen.add(o)
                    todo.append(o)
    return names


def exposure_nodes(model, ratio_inputs: list[str]) -> list[str]:
    """The exposure normalisation: nodes reached from the ratio inputs before any compute op."""
    return _forward_from(model, set(ratio_inputs)) if ratio_inputs else []


def output_tail_nodes(model) -> list[str]:
    """Elementwise nodes between the graph output and the compute ops that feed it (backwards)."""
    _, producers = _graph_maps(model)
    names, todo, seen = [], [o.name for o in model.graph.output], set()
    while todo:
        t = todo.pop()
        node = producers.get(t)
        if node is None or node.name in seen or node.op_type in COMPUTE_OPS:
            continue
        seen.add(node.name)
        names.append(node.name)
        todo.extend(i for i in node.input if i)
    return names


def output_conv_nodes(model, tail: list[str]) -> list[str]:
    """The compute ops whose outputs feed the ``tail`` nodes (:func:`output_tail_nodes`) or are
    graph outputs themselves: the network's last convolutions."""
    _, producers = _graph_maps(model)
    names = set(tail)
    wanted = [o.name for o in model.graph.output]
    wanted += [t for n in model.graph.node if n.name in names for t in n.input if t]
    out = []
    for t in wanted:
        node = producers.get(t)
        if node is not None and _layer(node) and node.name not in out:
            out.append(node.name)
    return out


def _first_compute_consumers(model, names: set[str]) -> list[str]:
    """Compute ops (not GridSample, never quantized) reading an output of the ``names`` nodes."""
    consumers, _ = _graph_maps(model)
    out = []
    for node in model.graph.node:
        if node.name not in names:
            continue
        for t in node.output:
            for user, _ in consumers.get(t, []):
                if _layer(user) and user.name not in out:
                    out.append(user.name)
    return out


def softmax_nodes(model) -> list[str]:
    """Softmax nodes and the MatMul nodes that read their outputs (through layout ops)."""
    consumers, _ = _graph_maps(model)
    layout = {"Transpose", "Reshape", "Unsqueeze", "Squeeze", "Flatten"}
    out = []
    for node in model.graph.node:
        if node.op_type != "Softmax":
            continue
        out.append(node.name)
        todo = list(node.output)
        while todo:  # through layout ops (the weights are transposed first) to the MatMul
            for user, _ in consumers.get(todo.pop(), []):
                if user.op_type in layout or user.op_type == "MatMul":
                    out.append(user.name)
                    if user.op_type in layout:
                        todo.extend(user.output)
    return list(dict.fromkeys(out))


def float_nodes(model, manifest=None) -> dict[str, str]:
    """{node name: reason} of the nodes to keep fp32 in this graph (see the module docstring).

    Args:
        model: the fp32 ``onnx.ModelProto``.
        manifest: its :class:`~edgemef.manifest.Manifest` (extra inputs, output kind), or None
            for the coordinate and softmax rules only.
    """
    out = {n: "grid coordinates" for n in grid_coordinate_nodes(model)}
    for n in softmax_nodes(model):
        out.setdefault(n, "spatial softmax")
    if manifest is not None:
        ratios = [e["name"] for e in manifest.extra_inputs if e.get("kind", e["name"]) == "exposure_ratios"]
        exposure = exposure_nodes(model, ratios)
        for n in exposure:
            out.setdefault(n, "exposure normalisation")
        for n in _first_compute_consumers(model, set(exposure)):
            out.setdefault(n, "radiance input")
        tail = output_tail_nodes(model)
        for n in tail:
            out.setdefault(n, "radiance head" if manifest.output == "hdr" else "output head")
        for n in output_conv_nodes(model, tail):
            out.setdefault(n, "output conv")
    return out


def summarise(nodes: dict[str, str]) -> dict[str, int]:
    """{reason: count}, for the manifest."""
    counts: dict[str, int] = {}
    for reason in nodes.values():
        counts[reason] = counts.get(reason, 0) + 1
    return counts
