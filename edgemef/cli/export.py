"""`edgemef export`: a trained network -> an edge artifact, with INT8 calibration and a parity check.

Torch-free at import (``--help`` stays fast); torch loads when an export runs.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from edgemef.errors import EdgemefError
from edgemef.export.targets import PRECISIONS, help_text, validate
from edgemef.sizes import parse_hw

CALIB_METHODS = ("minmax", "entropy", "percentile")
ANDROID_MODEL = "edgemef.ort"  # the asset android_demo loads (its manifest: edgemef.ort.json)


def _target_help() -> str:
    return "Export target. " + help_text()


@click.command("export", context_settings={"max_content_width": 110})
@click.option("--model", "model", required=True, help="Registered network to export (e.g. densefuse).")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint (.safetensors). Default: the bundled edgemef/assets/weights/<model>.safetensors.")
@click.option("--target", "target", required=True, help=_target_help())
@click.option("--precision", default="fp32", show_default=True,
              help=f"Numeric precision: {', '.join(PRECISIONS)} (which ones a target takes: see --target).")
@click.option("--calib", type=click.Path(path_type=Path), default=None,
              help="INT8 calibration data: a folder of bracket sets (one sub-folder of 2-3 images per scene), "
                   "or a saved calibration table (.calib.json). Default: bundled samples + synthetic brackets.")
@click.option("--calib-method", default="percentile", show_default=True,
              help=f"INT8 activation ranges: {', '.join(CALIB_METHODS)}.")
@click.option("--int8-fallback", is_flag=True,
              help="INT8 only: accuracy-aware mixed precision. Keep the module groups that lose the most "
                   "accuracy in fp32, worst first, until the calibration probes clear the int8 threshold by 3 dB, then return "
                   "to int8 each block of those groups that keeps that aim; "
                   "the summary and manifest say which groups and how many compute ops stay int8 "
                   "(python -m edgemef.calibration.sensitivity shows the per-group figures). Off: only the "
                   "structural rules keep nodes fp32.")
@click.option("--shape", default=None, help="Fixed input size HxW (e.g. 720x1280) instead of dynamic H/W.")
@click.option("--dynamic", is_flag=True, help="Dynamic height and width (the default).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Artifact path with the target's suffix. Default: <model>-<target>-<precision><suffix>. "
                   "Written atomically, only after the parity check passed.")
@click.option("--parity-pairs", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of real bracket sets for the parity check. Default: the bundled samples.")
@click.option("--parity-count", type=click.IntRange(1, 100), default=4, show_default=True,
              help="How many bracket sets the parity check runs.")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="Inference threads for the parity check and the latency figure (default: all cores).")
@click.option("--latency/--no-latency", default=True, show_default=True,
              help="Time one 720x1280 (H x W) network call of the artifact on this machine.")
@click.option("--android-assets", type=click.Path(path_type=Path), default=None,
              help="ort-mobile only: also put the model and its JSON manifest into this folder, as "
                   f"{ANDROID_MODEL} and {ANDROID_MODEL}.json (the Android app's assets: "
                   "android_demo/app/src/main/assets). Created if missing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars; print only the artifact path and errors.")
def export_cmd(model, weights, target, precision, calib, calib_method, int8_fallback, shape, dynamic, output,
               parity_pairs, parity_count, threads, latency, android_assets, quiet):
    """Export a trained fusion network for an edge runtime, check it against PyTorch, print a summary.

    Every export runs the artifact and the PyTorch model on the same real brackets and fails when
    they disagree beyond the precision's threshold (PSNR >= 60/45/35 dB for fp32/fp16/int8; int8 also
    MEF-SSIM within 0.005). Examples:

        edgemef export --model densefuse --target onnx --precision int8 -o densefuse-int8.onnx

        edgemef export --model densefuse --target tensorrt --precision fp16 --shape 720x1280
    """
    t = validate(target, precision)
    if calib_method not in CALIB_METHODS:
        raise EdgemefError(f"unknown --calib-method '{calib_method}' (choose from: {', '.join(CALIB_METHODS)})")
    if shape and dynamic:
        raise EdgemefError("--shape and --dynamic exclude each other")
    if calib is not None and precision != "int8":
        raise EdgemefError("--calib applies to --precision int8 only")
    if int8_fallback and precision != "int8":
        raise EdgemefError("--int8-fallback applies to --precision int8 only")
    from edgemef.cli import option_given

    if precision != "int8" and option_given("calib_method"):
        raise EdgemefError("--calib-method applies to --precision int8 only")
    fixed = parse_hw(shape, "--shape") if shape else None
    if calib is not None and not calib.exists():
        raise EdgemefError(f"{calib}: no such calibration folder or table")
    if android_assets is not None:
        if t.name != "ort-mobile":
            raise EdgemefError("--android-assets applies to --target ort-mobile only")
        _android_folder(android_assets)
    if parity_pairs is not None:
        from edgemef.io import find_bracket_sets

        find_bracket_sets(parity_pairs)  # a missing or empty folder fails now, not after the export
    from edgemef.export.pipeline import Exporter, ExportOptions, check_output, default_output
    from edgemef.export.source import load_network

    out = check_output(output or default_output(model, t, precision), t)
    table = calib if calib is not None and calib.is_file() else None
    options = ExportOptions(shape=fixed, calib_dir=None if table else calib, calib_table=table,
                            calib_method=calib_method, parity_dir=parity_pairs, parity_pairs=parity_count,
                            latency=latency, threads=threads, int8_fallback=int8_fallback, progress=not quiet)
    if table is not None:
        from edgemef.calibration.ranges import CalibrationTable

        CalibrationTable.load(table)  # a bad table fails before the export starts
    network = load_network(model, weights)
    result = Exporter(network, options).export(t.name, precision, out)
    copies = _to_android_assets(result.artifact, android_assets) if android_assets is not None else []
    if quiet:
        click.echo(str(result.files[0]))
        return
    from edgemef.export.summary import summary_lines

    for line in summary_lines(result):
        if line.strip().startswith("warning:"):
            click.echo(f"edgemef: {line.strip()}", err=True)
        else:
            click.echo(line)
    if copies:
        click.echo(f"  android assets: {', '.join(str(c) for c in copies)}")


def _android_folder(folder: Path) -> None:
    """The assets folder must be (or become) a writable directory; checked before the export runs."""
    if folder.exists() and not folder.is_dir():
        raise EdgemefError(f"--android-assets {folder}: not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EdgemefError(f"--android-assets {folder}: cannot create it ({e.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise EdgemefError(f"--android-assets {folder}: not writable")


def _to_android_assets(artifact: Path, folder: Path) -> list[Path]:
    """Copy the .ort model and its manifest JSON into the app's assets under the names the app loads."""
    from edgemef.io import atomic_write_bytes

    pairs = [(artifact, folder / ANDROID_MODEL),
             (artifact.with_name(artifact.name + ".json"), folder / f"{ANDROID_MODEL}.json")]
    for src, dest in pairs:
        atomic_write_bytes(dest, src.read_bytes())
    return [dest for _, dest in pairs]
