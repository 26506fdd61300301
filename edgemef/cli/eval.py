"""`edgemef eval`: fuse every bracket set under a folder with one or more methods and score them."""
from __future__ import annotations

import csv
import io
import math
import sys
import time
from pathlib import Path

import click

from edgemef.errors import EdgemefError

FIXED_COLUMNS = ["scene", "method", "width", "height", "align_ms", "fuse_ms", "score_ms"]


def _metrics_help() -> str:
    from edgemef.metrics import NO_REFERENCE, SUMMARIES

    listed = "; ".join(f"{n}: {SUMMARIES[n]}" for n in NO_REFERENCE)
    return f"Comma-separated metrics to compute (default: all of them). {listed}."


def _fmt(value, digits: int = 6) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if math.isinf(value) else f"{value:.{digits}f}")
    return "" if value is None else str(value)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if isinstance(err, EdgemefError) else f"{type(err).__name__}: {text}"


def render_csv(rows: list[dict], names: list[str]) -> str:
    """The per-image table as CSV text: fixed columns, one column per metric, then 'error'."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = FIXED_COLUMNS + names + ["error"]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_fmt(row.get(c), 1 if c.endswith("_ms") else 6) for c in columns])
    return buf.getvalue()


def mean_table(rows: list[dict], names: list[str], methods: list[str]) -> str:
    """Means per method over its successful sets, methods side by side."""
    ok = {m: [r for r in rows if r["method"] == m and not r.get("error")] for m in methods}
    total = {m: sum(1 for r in rows if r["method"] == m) for m in methods}
    width = max([10] + [len(m) + 2 for m in methods])
    head = f"{'metric':<10}" + "".join(f"{m:>{width}}" for m in methods)
    lines = [head, "-" * len(head)]

    def mean(m: str, key: str, digits: int) -> str:
        vals = [r[key] for r in ok[m] if isinstance(r.get(key), float) and math.isfinite(r[key])]
        return f"{sum(vals) / len(vals):.{digits}f}" if vals else "-"

    for key in names:
        lines.append(f"{key:<10}" + "".join(f"{mean(m, key, 4):>{width}}" for m in methods))
    for key in ("align_ms", "fuse_ms", "score_ms"):
        vals = [mean(m, key, 1) for m in methods]
        if any(v != "-" for v in vals):
            lines.append(f"{key:<10}" + "".join(f"{v:>{width}}" for v in vals))
    lines.append(f"{'sets ok':<10}" + "".join(f"{f'{len(ok[m])}/{total[m]}':>{width}}" for m in methods))
    return "\n".join(lines)


def evaluate_set(scene, files, methods, names, align, reference, save_dir) -> list[dict]:
    """Fuse one bracket set with every method and score it; failures become rows with 'error'.

    With ``align`` the set is registered once (as :func:`edgemef.fusion.fuse` would), every method
    fuses the aligned frames, and the scores compare each result with those aligned frames: the
    fused image lives in the reference frame's geometry, so scoring it against unwarped inputs
    would penalise a correct alignment of a hand-held pair.
    """
    from edgemef.fusion import fuse, method_file_tag, pick_reference
    from edgemef.io import load_brackets, save_image
    from edgemef.metrics import score

    try:
        brackets = load_brackets(files)
        sources = [b.image for b in brackets]
        align_ms = None
        if align:
            from edgemef.align import align_brackets

            t = time.perf_counter()
            sources = align_brackets(sources, pick_reference(sources, reference)).images
            align_ms = round((time.perf_counter() - t) * 1e3, 1)
    except Exception as e:  # an unreadable or unalignable set is reported, not fatal
        return [{"scene": scene, "method": m, "error": _one_line(e)} for m in methods]
    h, w = sources[0].shape[:2]
    rows = []
    for method in methods:
        row: dict = {"scene": scene, "method": method, "width": w, "height": h, "align_ms": align_ms}
        try:
            res = fuse(sources, method=method, align=False)
            row["fuse_ms"] = round(res.timings["fuse"] * 1e3, 1)
            if save_dir is not None:
                save_image(save_dir / f"{scene}_{method_file_tag(method)}.png", res.image, bit_depth=8)
            t = time.perf_counter()
            row.update(score(res.image, sources, names=names))
            row["score_ms"] = round((time.perf_counter() - t) * 1e3, 1)
        except Exception as e:  # one failed fusion must not abort the whole evaluation
            row["error"] = _one_line(e)
        rows.append(row)
    return rows


@click.command("eval")
@click.option("--pairs", "pairs_dir", type=click.Path(path_type=Path), required=True,
              help="Folder of bracket sets: one sub-folder per scene holding its 2-3 exposures "
                   "(the mefb-dev layout).")
@click.option("--method", "-m", "methods", multiple=True,
              help="Fusion method to evaluate (repeatable; default: mertens). Any name registered in "
                   "edgemef.fusion.METHODS, e.g. mertens, average.")
@click.option("--model", "models", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Also evaluate this exported network artifact (.onnx, .ort, .xml, .engine, .safetensors; "
                   "repeatable), as `edgemef fuse --model` runs it; its column is named model:FILE "
                   "(model:DIR/FILE when two share a file name).")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads for network inference (default: the backend's choice).")
@click.option("--align/--no-align", default=True, show_default=True,
              help="Register each set once (AGC + SIFT + homography, as `edgemef fuse`) before fusing; "
                   "the scores then compare with the aligned frames. --no-align scores against the "
                   "files as they are (MEFB's protocol).")
@click.option("--reference", type=click.Choice(["under", "over", "auto"]), default="auto", show_default=True,
              help="Frame the others are warped onto when aligning.")
@click.option("--save-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write every fused image there, losslessly, as SCENE_METHOD.png (8-bit, "
                   "exactly what was scored). Created if missing.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the per-image CSV to this file (atomically) instead of stdout.")
@click.option("--metrics", "metrics_text", default=None, help=_metrics_help())
@click.option("--max-pairs", "--limit", "limit", type=click.IntRange(min=1), default=None,
              help="Evaluate only the first N bracket sets (in name order), as `bench --max-pairs`.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (the CSV, the table and warnings still print).")
def eval_cmd(pairs_dir, methods, models, threads, align, reference, save_dir, csv_path, metrics_text, limit, quiet):
    """Fuse every bracket set under --pairs with each method and score the results.

    Prints a per-image CSV (stdout, or --csv FILE) and a table of means per metric, one column
    per method (on stderr when the CSV goes to stdout, so `eval ... > scores.csv` is a clean
    CSV; on stdout otherwise). Metrics are computed as the MEFB benchmark's MATLAB code does, on the
    8-bit image a lossless file would hold. A set that cannot be read or fused is listed with
    its error and skipped. Example:

        edgemef eval --pairs ../shared/data/mefb-dev --method mertens --method average

        edgemef eval --pairs ../shared/data/mefb-dev --method densefuse --model densefuse-onnx-int8.onnx
    """
    from tqdm import tqdm

    from edgemef.fusion import METHODS
    from edgemef.io import atomic_write_bytes, find_bracket_sets
    from edgemef.metrics import REFERENCE_METRICS, parse_names

    from edgemef.cli import option_given

    started = time.perf_counter()
    if not align and option_given("reference"):
        raise EdgemefError("--reference applies when aligning (drop --no-align)")
    methods = list(dict.fromkeys(methods or ([] if models else ["mertens"])))
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise EdgemefError(f"unknown method(s) {', '.join(unknown)} (choose from: {', '.join(METHODS)})")
    if models or threads is not None:
        from edgemef.runtimes.methods import artifact_names, checked_artifact, configure_networks, is_network

        if threads is not None and not models and not any(is_network(m) for m in methods):
            raise EdgemefError("--threads applies to network methods and --model artifacts")
        configure_networks(threads=threads)  # the bundled networks take the thread count too
        methods += list(dict.fromkeys(checked_artifact(model, name=name, threads=threads)  # fails fast on a bad file
                                      for model, name in zip(models, artifact_names(models))))
    names = parse_names(metrics_text)
    with_ref = [n for n in names if n in REFERENCE_METRICS]
    if with_ref:
        raise EdgemefError(f"{', '.join(with_ref)} need ground-truth labels, which eval does not take yet")
    if csv_path is not None and not (csv_path.parent if str(csv_path.parent) else Path(".")).is_dir():
        raise EdgemefError(f"{csv_path}: directory {csv_path.parent} does not exist")
    skipped: list[str] = []
    sets = find_bracket_sets(pairs_dir, skipped)[:limit]
    if skipped:
        click.echo(f"note: skipped {len(skipped)} folder(s) that are not 2-3 bracket sets: {', '.join(skipped)}",
                   err=True)
    if save_dir is not None:
        try:
            save_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise EdgemefError(f"{save_dir}: cannot create ({e.strerror})") from None

    rows: list[dict] = []
    with tqdm(total=len(sets) * len(methods), desc="eval", unit="fusion", file=sys.stderr,
              disable=quiet) as bar:
        for scene, files in sets:
            bar.set_postfix_str(scene)
            rows.extend(evaluate_set(scene, files, methods, names, align, reference, save_dir))
            bar.update(len(methods))

    text = render_csv(rows, names)
    to_stderr = csv_path is None  # stdout then holds the CSV alone: `edgemef eval ... > scores.csv`
    if csv_path is not None:
        atomic_write_bytes(csv_path, text.encode())
    else:
        click.echo(text, nl=False)
    failed = [r for r in rows if r.get("error")]
    click.echo(f"mean over {len(sets)} bracket set(s) in {pairs_dir}:", err=to_stderr)
    click.echo(mean_table(rows, names, methods), err=to_stderr)
    elapsed = time.perf_counter() - started
    failures = f" ({len(failed)} failed)" if failed else ""
    click.echo(f"{len(rows) - len(failed)} of {len(rows)} fusion(s) scored{failures} in {elapsed:.1f} s"
               + (f" -> {csv_path}" if csv_path else ""), err=to_stderr)
    for r in failed:
        click.echo(f"warning: {r['scene']} ({r['method']}): {r['error']}", err=True)
    if rows and len(failed) == len(rows):
        raise EdgemefError(f"all {len(rows)} fusion(s) failed")
