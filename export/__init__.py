"""Export trained fusion networks for edge runtimes (needs ``edgemef[train]``: torch, onnx).

The targets live in one table (:data:`edgemef.export.targets.TARGETS`); every export ends with a
measured parity check against the PyTorch model. Example::

    from edgemef.export import Exporter, ExportOptions, load_network
    exporter = Exporter(load_network("densefuse", "densefuse.safetensors"), ExportOptions())
    result = exporter.export("onnx", "int8", "densefuse-int8.onnx")
    print(result.manifest.parity)

Importing this package imports neither torch nor any engine; the functions do, when called.
"""
from __future__ import annotations

from edgemef.export.targets import PRECISIONS, PSNR_THRESHOLDS_DB, TARGETS, Target, get_target, matrix, validate

__all__ = ["TARGETS", "PRECISIONS", "PSNR_THRESHOLDS_DB", "Target", "get_target", "validate", "matrix",
           "Exporter", "ExportOptions", "ExportResult", "load_network", "from_module", "export"]


def __getattr__(name):  # lazy: the pipeline pulls in torch only when used
    if name in ("Exporter", "ExportOptions", "ExportResult"):
        from edgemef.export import pipeline

        return getattr(pipeline, name)
    if name in ("load_network", "from_module"):
        from edgemef.export import source

        return getattr(source, name)
    if name == "export":
        return export_model
    raise AttributeError(name)


def export_model(model: str, target: str, precision: str, output=None, *, weights=None, **options):
    """One-call export: ``export_model('densefuse', 'onnx', 'int8', 'df.onnx', weights='df.safetensors')``."""
    from edgemef.export.pipeline import Exporter, ExportOptions
    from edgemef.export.source import load_network

    validate(target, precision)
    return Exporter(load_network(model, weights), ExportOptions(**options)).export(target, precision, output)
