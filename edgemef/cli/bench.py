"""`edgemef bench`: time and score every export target, PyTorch, Mertens and enfuse in one run.

Torch-free at import (``--help`` stays fast); torch loads when the benchmark runs.
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from edgemef.errors import EdgemefError

DEFAULTS = {"shape": "720x1280", "repeats": 20, "warmup": 3, "max_pairs": None, "calib_synthetic": 16}
QUICK = {"shape": "256x384", "repeats": 3, "warmup": 1, "max_pairs": 1, "calib_synthetic": 4}


def default_pairs_dir() -> Path:
    """../shared/data/mefb-dev beside the repository (it may not exist)."""
    import edgemef

    return Path(edgemef.__file__).resolve().parents[1].parent / "shared" / "data" / "mefb-dev"


def _csv(text: str | None, allowed, what: str) -> list[str] | None:
    if not text:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad:
        raise EdgemefError(f"unknown {what} '{bad[0]}' (choose from: {', '.join(allowed)})")
    return list(dict.fromkeys(items))


def _sets(pairs: Path | None):
    from edgemef.io import find_bracket_sets

    if pairs is None:
        d = default_pairs_dir()
        if d.is_dir():
            pairs = d
        else:
            from edgemef.samples import SAMPLES_DIR, sample_sets

            return sample_sets(), f"{SAMPLES_DIR} (bundled samples)", None
    try:
        return find_bracket_sets(pairs), str(pairs), pairs
    except OSError as e:
        raise EdgemefError(f"{pairs}: cannot read the pairs folder ({e.strerror or e})") from None


def _out_dir(out: Path | None) -> Path:
    if out is None:
        base = Path("runs") / "bench" / time.strftime("%Y%m%d-%H%M%S")
        out, n = base, 1
        while out.exists():
            n += 1
            out = base.with_name(f"{base.name}-{n}")
    if out.exists() and not out.is_dir():
        raise EdgemefError(f"{out}: exists and is not a directory")
    try:
        (out / "artifacts").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EdgemefError(f"{out}: cannot create the output folder ({e.strerror or e})") from None
    return out


def _targets_help() -> str:
    from edgemef.export.targets import TARGETS

    return ("Comma-separated export targets to include (default: every target in the table: "
            f"{', '.join(TARGETS)}). The PyTorch, align, Mertens and enfuse rows always run.")


@click.command("bench", context_settings={"max_content_width": 110})
@click.option("--model", "model", default="all", show_default=True,
              help="Registered network to benchmark (e.g. densefuse), or 'all' for every network in the registry.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint (.safetensors) of the one --model. Default: the bundled "
                   "edgemef/assets/weights/<model>.safetensors; without it the bench stops (see --random-weights).")
@click.option("--random-weights", is_flag=True,
              help="Benchmark randomly initialised networks (seed 0) when no trained weights exist: latency is "
                   "real, quality figures are not. Stated in the output and the JSON.")
@click.option("--shape", default=None, help="Benchmark resolution HxW for the latency rows [default: 720x1280; --quick: 256x384].")
@click.option("--threads", type=click.IntRange(1, 256), default=2, show_default=True,
              help="Threads for every engine: ONNX Runtime intra-op, OpenVINO INFERENCE_NUM_THREADS, torch, "
                   "OpenCV, enfuse (OMP_NUM_THREADS) and the peak measurement.")
@click.option("--pairs", type=click.Path(path_type=Path), default=None,
              help="Folder of real bracket sets (one sub-folder per scene, mefb-dev layout) for MEF-SSIM and PSNR; "
                   "the first one, resized to --shape, is the timing input. Default: ../shared/data/mefb-dev "
                   "beside the repository if present, else the bundled samples.")
@click.option("--max-pairs", type=click.IntRange(min=1), default=None, help="Use only the first N sets [default: all; --quick: 1].")
@click.option("--repeats", type=click.IntRange(min=1), default=None, help="Timed calls per row [default: 20; --quick: 3].")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="Untimed calls per row before timing [default: 3; --quick: 1].")
@click.option("--targets", default=None, help=_targets_help())
@click.option("--precisions", default=None, help="Comma-separated precisions to include: fp32, fp16, int8 (default: all).")
@click.option("--calib", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="INT8 calibration brackets (a folder of sets). Default: bundled samples + synthetic sets "
                   "(16; --quick: 4), as `edgemef export`.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder for bench.json, bench.png and artifacts/ (the exported files). "
                   "Default: runs/bench/<timestamp>/.")
@click.option("--quick", is_flag=True, help="A smoke run: 256x384, 1 set, 3 repeats, 1 warm-up (explicit options win).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or start line on stderr; the table still prints.")
def bench_cmd(model, weights, random_weights, shape, threads, pairs, max_pairs, repeats, warmup, targets,
              precisions, calib, out, quick, quiet):
    """Benchmark fusion networks on this machine: every export target and precision that runs here, the
    PyTorch fp32 reference, OpenCV Mertens and enfuse, all in one run on the same brackets.

    Each row: size, latency (median, p90) at the benchmark resolution, fps, ratio to Mertens, the
    compute bound (conv MACs over this CPU's fp32/int8 peak, measured in the same run) and how
    close the network gets to it, alignment + fusion against enfuse, MEF-SSIM on the sets and
    PSNR against PyTorch. Prints a table and writes bench.json and bench.png. Examples:

        edgemef bench --model densefuse --threads 2

        edgemef bench --model densefuse --targets onnx,openvino --precisions fp32,int8 --quick
    """
    from edgemef.export.targets import PRECISIONS, TARGETS

    d = {**DEFAULTS, **(QUICK if quick else {})}
    shape = shape or d["shape"]
    repeats = d["repeats"] if repeats is None else repeats
    warmup = d["warmup"] if warmup is None else warmup
    max_pairs = d["max_pairs"] if max_pairs is None else max_pairs
    from edgemef.sizes import parse_hw

    hw = parse_hw(shape, "--shape")
    target_list = _csv(targets, list(TARGETS), "target")
    precision_list = _csv(precisions, list(PRECISIONS), "precision")
    from edgemef.models import MODELS

    if model != "all" and model not in MODELS:
        raise EdgemefError(f"unknown model '{model}' (registered: {', '.join(MODELS)}, or all)")
    models = list(MODELS) if model == "all" else [model]
    if weights is not None and random_weights:
        raise EdgemefError("--weights and --random-weights exclude each other")
    if weights is not None and len(models) > 1:
        raise EdgemefError("--weights needs one --model (not all)")
    if weights is not None and not weights.is_file():
        raise EdgemefError(f"{weights}: no such weights file")
    from edgemef.benchmarks.bench import BenchConfig, planned_targets, run_bench

    planned = planned_targets(target_list, precision_list)
    if not planned:
        raise EdgemefError(f"no export target supports {', '.join(precision_list or [])} among "
                           f"{', '.join(target_list or TARGETS)}")
    if calib is not None:
        if not calib.is_dir():
            raise EdgemefError(f"{calib}: no such calibration folder")
        if not any(precision == "int8" for _, precision in planned):
            raise EdgemefError("--calib applies to int8 rows; none is planned (see --precisions)")
        from edgemef.io import find_bracket_sets

        find_bracket_sets(calib)  # an empty folder fails now, not after the other rows ran
    sets, label, pairs_dir = _sets(pairs)
    cfg = BenchConfig(models=models, out_dir=Path("."), sets=sets[:max_pairs], pairs_label=label, weights=weights,
                      random_weights=random_weights, shape=hw, threads=threads, max_pairs=max_pairs,
                      repeats=repeats, warmup=warmup, targets=target_list, precisions=precision_list,
                      pairs_dir=pairs_dir, calib_dir=calib, calib_synthetic=d["calib_synthetic"], quick=quick,
                      progress=not quiet)
    from edgemef.benchmarks.bench import load_networks

    networks = load_networks(cfg)  # missing or bad weights fail before anything is written
    cfg.out_dir = out_dir = _out_dir(out)
    import os

    if not quiet:
        click.echo(f"edgemef bench: load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} on "
                   f"{os.cpu_count()} CPUs; writing to {out_dir}", err=True)
    result = run_bench(cfg, networks)
    from edgemef.benchmarks.bench_report import format_table, write_chart, write_json

    result["files"] = {"json": str(out_dir / "bench.json"), "chart": str(out_dir / "bench.png"),
                       "artifacts": str(out_dir / "artifacts")}
    write_chart(result, out_dir / "bench.png")
    write_json(result, out_dir / "bench.json")
    click.echo(format_table(result))
    click.echo(f"wrote {out_dir / 'bench.json'}, {out_dir / 'bench.png'}, artifacts in {out_dir / 'artifacts'} "
               f"({result['seconds']:.0f} s)")
