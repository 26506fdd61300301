"""One export, end to end: network -> staged artifact -> parity -> final manifest -> files in place.

:class:`Exporter` holds one network and caches what several exports share (the fp32 ONNX, the
calibration table, each QDQ flavour, the parity brackets), so the test matrix and the benchmark
pay for them once. Every export runs the artifact and the PyTorch model on the same real
brackets and refuses to finish below the precision's threshold; files are built in a hidden
staging folder beside the output and moved into place only after parity passed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from edgemef.errors import EdgemefError
from edgemef.export.targets import Target, validate
from edgemef.io import normal_permissions
from edgemef.manifest import Manifest


@dataclass
class ExportOptions:
    """Settings shared by the exports of one :class:`Exporter`.

    Attributes:
        shape: fixed (H, W), or None for dynamic height and width.
        calib_dir: real calibration brackets (mefb-dev layout); None: bundled samples + synthetic.
        calib_table: a saved calibration table (JSON) to reuse instead of calibrating.
        calib_method: 'minmax', 'entropy' or 'percentile'.
        calib_synthetic: synthetic sets added to the bundled samples (no ``calib_dir``).
        calib_crop: crop side for calibration inputs cut from large frames (None: whole frames).
        calib_max_sets: use at most this many real calibration sets.
        parity_dir: parity brackets (mefb-dev layout); None: the bundled samples.
        parity_pairs: how many sets the parity check uses.
        parity_max_side: downscale parity frames to this longest side (None: full size).
        latency: time one 720x1280 (H x W) network call of the artifact on this machine.
        threads: inference threads for parity and latency (None: all cores).
        exporter: 'dynamo' or 'torchscript' ONNX exporter.
        deform_conv: how deformable convs export: None or 'onnx' = per target (the table's
            ``deform_conv`` option: ONNX DeformConv for the ONNX Runtime targets, GridSample for
            OpenVINO and TensorRT); 'grid' = GridSample everywhere (an ONNX Runtime build without
            DeformConv) (:mod:`edgemef.export.deform`).
        int8_fallback: accuracy-aware mixed precision for int8: keep the module groups that lose
            the most accuracy fp32, worst first, until the calibration probes reach the int8
            threshold plus ``FALLBACK_MARGIN_DB``, then hand back to int8 each block of those
            groups that the aim allows (:func:`edgemef.calibration.sensitivity.fallback`);
            the manifest records which groups and how many compute ops stay int8. The parity
            check on real brackets still decides.
        progress: tqdm progress bars on stderr.
    """

    shape: tuple[int, int] | None = None
    calib_dir: str | Path | None = None
    calib_table: str | Path | None = None
    calib_method: str = "percentile"
    calib_synthetic: int = 16
    calib_crop: int | None = 384
    calib_max_sets: int | None = None
    parity_dir: str | Path | None = None
    parity_pairs: int = 4
    parity_max_side: int | None = None
    latency: bool = True
    threads: int | None = None
    exporter: str = "dynamo"
    deform_conv: str | None = None
    int8_fallback: bool = False
    progress: bool = False


FALLBACK_MARGIN_DB = 3.0  # the probes are calibration inputs, not the parity brackets
FALLBACK_PROBES = 6


@dataclass
class ExportResult:
    """What one export produced and measured.

    Attributes:
        artifact: the main file (what ``edgemef fuse --model`` takes); for TensorRT without an
            engine, the engine's future path (it does not exist).
        files: every file written, in the output folder.
        manifest: the final manifest (parity included).
        latency_ms: one 720x1280 (H x W) network call here, or None.
        latency_info: backend, threads and precision of that timing.
        notes: warnings and remarks (small calibration set, engine not built, ...).
        engine_built: False for a TensorRT export that could not build its engine here.
        io: {tensor: dims} of the exported graph's input and output.
    """

    target: str
    precision: str
    artifact: Path
    files: list[Path]
    manifest: Manifest
    latency_ms: float | None = None
    latency_info: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    engine_built: bool = True
    io: dict = field(default_factory=dict)


class Job:
    """The state of one export while its target module writes files (see ``export_artifact``)."""

    def __init__(self, exporter: "Exporter", target: Target, precision: str, output: Path, staging: Path):
        self.exporter, self.network, self.target, self.precision = exporter, exporter.network, target, precision
        self.output, self.staging, self.shape = output, staging, exporter.options.shape
        self.manifest = Manifest.from_json(exporter.network.manifest.to_json())
        self.manifest.format, self.manifest.precision = target.name, precision
        self.manifest.shape = list(self.shape) if self.shape else None
        self.manifest.extra.update({"weights_digest": exporter.network.weights_digest,
                                    "exporter": exporter.options.exporter, "opset": self.opset})
        if exporter.has_deform_conv:
            self.manifest.extra["deform_conv"] = self.graph[1]
        self.io: dict = {}
        self.notes: list[str] = []
        self.state: dict = {}
        self.parity_backend: str | None = None
        self.bar = None  # the export's tqdm bar, if any

    @property
    def graph(self) -> tuple[int, str]:
        """(opset, deformable-conv export) of this target's fp32 graph."""
        return self.exporter.graph_for(self.target)

    @property
    def opset(self) -> int:
        return self.graph[0]

    def staged(self, name: str) -> Path:
        return self.staging / name

    def base_onnx(self):
        return self.exporter.base_onnx(*self.graph)

    def qdq_model(self):
        return self.exporter.qdq(self.target.qdq, *self.graph)


class Exporter:
    """Exports one network to any target in the table, with caches shared across exports."""

    def __init__(self, network, options: ExportOptions | None = None):
        self.network = network
        self.options = options or ExportOptions()
        self._onnx: dict = {}
        self._data = None
        self._table: dict = {}
        self._qdq: dict = {}
        self._parity = None
        self.notes: list[str] = []

    def with_options(self, **changes) -> "Exporter":
        """A new exporter for the same network and fp32 ONNX, with some options changed.

        Calibration data is shared when no calibration option changes; the calibration table and
        the QDQ graphs only when the fp32 graph is shared too.
        """
        from dataclasses import replace

        other = Exporter(self.network, replace(self.options, **changes))
        same_graph = not {"shape", "exporter", "deform_conv"} & set(changes)
        if same_graph:
            other._onnx = self._onnx
        if not any(k.startswith("calib") for k in changes):
            other._data = self._data
            if self._data is not None:  # its notes (a small calibration set, ...) come with it
                other.notes = list(self.notes)
            if same_graph:  # ranges and QDQ graphs belong to one fp32 graph
                other._table, other._qdq = self._table, self._qdq
        if not any(k.startswith("parity") for k in changes):
            other._parity = self._parity
        return other

    @property
    def has_deform_conv(self) -> bool:
        """The network has deformable convolutions (their export is a per-target choice)."""
        from edgemef.models.layers.dcn import DeformConv2d

        return any(isinstance(m, DeformConv2d) for m in self.network.module.modules())

    def graph_for(self, target: Target) -> tuple[int, str]:
        """(opset, 'grid' or 'onnx') of the fp32 graph ``target`` starts from.

        Networks without deformable convs share one graph (the target's opset); with them, the
        ONNX Runtime targets take ONNX DeformConv (opset >= 19) unless ``options.deform_conv``
        says 'grid', and the others keep GridSample (OpenVINO's ONNX reader rejects DeformConv).
        """
        from edgemef.export.deform import DEFORM_OPSET, MODES

        if self.options.deform_conv not in (None, *MODES):
            raise EdgemefError(f"unknown deform_conv '{self.options.deform_conv}' (use {' or '.join(MODES)})")
        opset = int(target.options.get("opset", 18))
        if not self.has_deform_conv:
            return opset, "grid"
        mode = "grid" if self.options.deform_conv == "grid" else target.options.get("deform_conv", "grid")
        return (max(opset, DEFORM_OPSET), "onnx") if mode == "onnx" else (opset, "grid")

    def base_onnx(self, opset: int = 18, deform_conv: str = "grid"):
        """The fp32 ONNX of one (opset, deformable-conv export) (cached)."""
        key = (opset, deform_conv)
        if key not in self._onnx:
            from edgemef.export.onnx_export import torch_to_onnx

            self._onnx[key] = torch_to_onnx(self.network, self.options.shape, opset, self.options.exporter,
                                            deform_conv=deform_conv)
        return self._onnx[key]

    def calibration_data(self):
        """The calibration inputs (gathered once; fails early on an empty or unreadable folder)."""
        if self._data is None:
            from edgemef.calibration.data import calibration_set

            o = self.options
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                data = calibration_set(self.network.manifest, calib_dir=o.calib_dir, synthetic=o.calib_synthetic,
                                       crop=o.calib_crop, max_sets=o.calib_max_sets, progress=o.progress)
            self.notes += [f"warning: {w.message}" for w in caught if issubclass(w.category, UserWarning)]
            self.notes += [f"calibration: {n}" for n in data.notes]
            self._data = data
        return self._data

    def calibration(self, opset: int = 18, deform_conv: str = "grid"):
        """The calibration table of one fp32 graph (loaded, or measured once and cached)."""
        key = (opset, deform_conv)
        if key in self._table:
            return self._table[key]
        from edgemef.calibration.ranges import CalibrationTable, calibrate

        model, o = self.base_onnx(opset, deform_conv), self.options
        if o.calib_table:
            table = CalibrationTable.load(o.calib_table)
            table.check_graph(model)
        else:
            table = calibrate(model, self.calibration_data(), self.network.name, o.calib_method,
                              threads=o.threads, progress=o.progress)
        self._table[key] = table
        return table

    def float_nodes(self, opset: int = 18, deform_conv: str = "grid") -> dict[str, str]:
        """{node: reason} kept fp32 in the int8 graphs (:func:`edgemef.calibration.sensitive.float_nodes`)."""
        key = ("float_nodes", opset, deform_conv)
        if key not in self._qdq:
            from edgemef.calibration.sensitive import float_nodes

            self._qdq[key] = float_nodes(self.base_onnx(opset, deform_conv), self.network.manifest)
        return self._qdq[key]

    def fallback(self, flavour: str, opset: int = 18, deform_conv: str = "grid") -> dict | None:
        """The accuracy-aware fallback of one flavour's int8 graph (cached), or None when
        ``options.int8_fallback`` is off (:func:`edgemef.calibration.sensitivity.fallback`)."""
        if not self.options.int8_fallback:
            return None
        from edgemef.export.targets import PSNR_THRESHOLDS_DB

        aim = PSNR_THRESHOLDS_DB["int8"] + FALLBACK_MARGIN_DB
        key = ("fallback", flavour, opset, deform_conv, aim)
        if key not in self._qdq:
            from edgemef.calibration.sensitivity import fallback, probe_feeds

            model = self.base_onnx(opset, deform_conv)
            self._qdq[key] = fallback(model, self.calibration(opset, deform_conv), flavour,
                                      self.float_nodes(opset, deform_conv),
                                      probe_feeds(model, self.calibration_data(), FALLBACK_PROBES),
                                      self.network.manifest, aim,
                                      threads=self.options.threads, progress=self.options.progress)
        return self._qdq[key]

    def sensitivity_command(self) -> str:
        """The command that shows, per module, where this network's int8 graph loses accuracy."""
        weights = f" --weights {self.network.weights}" if self.network.weights else ""
        return f"python -m edgemef.calibration.sensitivity --model {self.network.name}{weights}"

    def int8_float_nodes(self, flavour: str, opset: int = 18, deform_conv: str = "grid") -> dict[str, str]:
        """{node: reason} one flavour's int8 graph keeps fp32: the structural rules, plus the
        fallback groups when ``options.int8_fallback`` is on."""
        nodes = dict(self.float_nodes(opset, deform_conv))
        fb = self.fallback(flavour, opset, deform_conv)
        if fb and not fb["compute_ops_int8"]:
            raise EdgemefError(
                f"int8 fallback: every module group had to stay fp32 for the calibration probes to reach "
                f"{fb['target_db']:.0f} dB ({fb['steps'][0]['psnr_db_min']:.1f} dB fully int8), so no int8 compute "
                f"is left; export fp16 instead (per-module figures: {self.sensitivity_command()})")
        if fb:
            for n, reason in fb["nodes"].items():
                nodes.setdefault(n, reason)
        return nodes

    def qdq(self, flavour: str, opset: int = 18, deform_conv: str = "grid"):
        """The QDQ graph of a flavour (cached); the sensitive nodes stay fp32 (mixed precision)."""
        key = (flavour, opset, deform_conv, self.options.int8_fallback)
        if key not in self._qdq:
            from edgemef.calibration.qdq import emit_qdq

            self._qdq[key] = emit_qdq(self.base_onnx(opset, deform_conv), self.calibration(opset, deform_conv),
                                      flavour, keep_float=sorted(self.int8_float_nodes(flavour, opset, deform_conv)))
        return self._qdq[key]

    def parity_sets(self):
        """The parity brackets (cached)."""
        if self._parity is None:
            from edgemef.export.parity import parity_sets

            o = self.options
            self._parity = parity_sets(o.parity_dir, self.network.manifest.exposures, o.parity_pairs,
                                       o.parity_max_side)
        return self._parity

    def export(self, target: str, precision: str, output: str | Path | None = None) -> ExportResult:
        """Export, check parity, and put the files in place.

        Raises:
            EdgemefError: bad target/precision/output, missing dependency, failed parity.
        """
        import importlib

        t = validate(target, precision)
        if not t.can_export():
            raise EdgemefError(f"target '{t.name}' needs {', '.join(t.export_requires)}: "
                               f"pip install 'edgemef[{t.name if t.name == 'openvino' else 'train'}]'")
        out = check_output(output or default_output(self.network.name, t, precision), t)
        module = importlib.import_module(t.module)
        if precision == "int8" and not self.options.calib_table and not self._table:
            self.calibration_data()  # before the slow steps: a bad calibration folder fails now
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".staging", dir=out.parent))
        bar = None
        if self.options.progress:
            from tqdm import tqdm

            bar = tqdm(total=3, desc=f"export {t.name} {precision}", unit="step", leave=False)
        try:
            job = Job(self, t, precision, out, staging)
            job.bar = bar
            files = module.export_artifact(job)
            if bar is not None:
                bar.update(1)
                bar.set_description("parity check")
            if precision == "int8":
                table = self.calibration(*job.graph)
                job.notes[:0] = self.notes
                name = f"{out.stem}.calib.json"
                files.append(table.save(job.staged(name)))
                job.manifest.calibration = table.record(name)
                job.manifest.calibration["float_nodes"] = mixed_precision_record(
                    self.int8_float_nodes(t.qdq, *job.graph), self.base_onnx(*job.graph))
                fb = self.fallback(t.qdq, *job.graph)
                if fb is not None:
                    job.manifest.calibration["fallback"] = {k: v for k, v in fb.items() if k != "nodes"}
            result = self._check(job, files)
            module.rewrite_artifact(files, job.manifest, job)
            final = [_place(f, out.parent) for f in _in_order(files)]
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if bar is not None:
                bar.close()
        return ExportResult(t.name, precision, out, final, job.manifest, result[0], result[1],
                            job.notes, job.state.get("engine_built", True), job.io)

    def _check(self, job: Job, files: list[Path]):
        """Parity (always) and latency (optional) on the staged artifact; fills the manifest."""
        from edgemef.export.parity import check_parity, latency_ms, measure_parity
        from edgemef.runtimes import load

        threads = self.options.threads or os.cpu_count() or 1
        runtime = load(files[0], backend=job.parity_backend, threads=threads)
        parity = measure_parity(files[0], self.network.module, self.network.manifest, self.parity_sets(),
                                runtime=runtime)
        parity["set"] = "bundled samples" if self.options.parity_dir is None else Path(self.options.parity_dir).name
        parity["requested"] = self.options.parity_pairs
        if job.parity_backend and job.target.needs_gpu:
            parity["proxy"] = ("measured with ONNX Runtime on the TensorRT-ready ONNX; "
                               "the engine itself is not built or checked here")
        try:
            job.manifest.parity = check_parity(parity, job.precision)
        except EdgemefError as e:
            if job.precision != "int8":
                raise
            where = f"where it goes, per module: {self.sensitivity_command()}"
            fb = (job.manifest.calibration or {}).get("fallback")
            if fb is not None:
                from edgemef.export.summary import fallback_line

                e = EdgemefError(f"{e}; {fallback_line(fb)}")
            retry = "" if fb is not None else "retry with --int8-fallback, which keeps the worst module groups fp32; "
            if self.network.manifest.output == "hdr":
                config = (self.network.manifest.extra or {}).get("config") or {}
                if config.get("encoding", "linear") == "linear":
                    raise EdgemefError(
                        f"{e} (HDR radiance output in linear encoding: the int8 activation grid cannot span the "
                        f"exposure ratio, even with the radiance path fp32; export fp16 instead, or use weights "
                        f"trained with network.encoding 'mu-law' (configs/sthdr_shipped.json, docs/sthdr.md); "
                        f"{where})") from None
            raise EdgemefError(f"{e} ({retry}{where})") from None
        if not self.options.latency or job.parity_backend:  # no timing of a stand-in backend
            return None, {}
        if job.bar is not None:
            job.bar.update(1)
            job.bar.set_description("latency 720x1280")
        info = runtime.backend.info()
        info["threads"] = threads
        return latency_ms(runtime), info


def mixed_precision_record(nodes: dict[str, str], model) -> dict:
    """What the manifest says about the nodes an int8 graph keeps in fp32: counts per reason and
    the names of the compute ops among them (the coordinate and exposure plumbing is many small
    elementwise nodes, counted only)."""
    from edgemef.calibration.sensitive import COMPUTE_OPS, summarise

    ops = {n.name: n.op_type for n in model.graph.node}
    return {"count": len(nodes), "reasons": summarise(nodes),
            "compute_ops": sorted(n for n in nodes if ops.get(n) in COMPUTE_OPS)}


def default_output(model: str, target: Target, precision: str) -> Path:
    """``<model>-<target>-<precision><suffix>`` in the current folder."""
    return Path(f"{model}-{target.name}-{precision}{target.suffix}")


def check_output(path: str | Path, target: Target) -> Path:
    """The output path must carry the target's suffix and sit in a writable folder."""
    p = Path(path)
    if p.suffix.lower() != target.suffix:
        raise EdgemefError(f"{p}: {target.name} artifacts must end in {target.suffix}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise EdgemefError(f"{p}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise EdgemefError(f"{p}: directory {parent} is not writable")
    if p.is_dir():
        raise EdgemefError(f"{p}: is a directory")
    return p


def _in_order(files: list[Path]) -> list[Path]:
    """Data files before the files that point at them (.bin before .xml, the artifact last-but-sidecars)."""
    return sorted(files, key=lambda f: 0 if f.suffix == ".bin" else 1)


def _place(staged: Path, folder: Path) -> Path:
    """Move a staged file into the output folder with ordinary permissions (temp files are 0600)."""
    normal_permissions(staged, executable=os.access(staged, os.X_OK))
    dest = folder / staged.name
    os.replace(staged, dest)
    return dest
