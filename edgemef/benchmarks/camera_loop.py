"""Throughput of the pipelined camera loop against its slowest stage, on a real recorded video.

    python -m edgemef.benchmarks.camera_loop [--size 1280x720] [--count 40] [--method mertens]
                                             [--model ARTIFACT] [--threads 1] [--no-align]

Writes an alternating short/long exposure video (Motion-JPEG) made from one real bracket pair
(mefb-dev when given, else a bundled sample) with a small pan between frames, then runs the real
loop (:func:`edgemef.camera.pipeline.run_camera`: capture, align, fuse and output threads, bounded
queues, the 'block' drop policy so every pair is fused) into a video file, and prints the loop's
summary: throughput, per-stage medians, and throughput as a share of the slowest stage's
capacity (the issue's target: within 10 %). Both sides of that ratio come from the same run.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import click
import cv2
import numpy as np

from edgemef.sizes import click_callback, parse_wh

PAN = 24  # pixels of pan over the recording


def pair_image(pairs_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(under, over) float RGB of one real scene: mefb-dev's first pair, else a bundled sample."""
    from edgemef.io import find_bracket_sets, load_brackets
    from edgemef.samples import sample_sets

    sets = find_bracket_sets(pairs_dir) if pairs_dir else sample_sets()
    files = next(f for _, f in sets if len(f) == 2)
    under, over = (b.image for b in load_brackets(files))
    return under, over


def write_alternating_video(path: Path, under: np.ndarray, over: np.ndarray, size: tuple[int, int],
                            pairs: int, fps: float = 30.0) -> Path:
    """Even frames from ``under``, odd from ``over``, resized to ``size`` (W, H) plus a pan margin."""
    from edgemef.io import to_uint

    w, h = size
    big = [cv2.resize(im, (w + PAN, h + PAN), interpolation=cv2.INTER_AREA) for im in (under, over)]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not vw.isOpened():
        raise click.ClickException(f"OpenCV cannot write {path}")
    for i in range(2 * pairs):
        d = (i // 2) % PAN
        frame = big[i % 2][d:d + h, d:d + w]
        vw.write(cv2.cvtColor(to_uint(frame), cv2.COLOR_RGB2BGR))
    vw.release()
    return path


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--size", default="1280x720", show_default=True, callback=click_callback(parse_wh),
              help="Frame size WIDTHxHEIGHT.")
@click.option("--count", "pairs", type=click.IntRange(4), default=40, show_default=True,
              help="Exposure pairs recorded (twice as many frames).")
@click.option("--method", default="mertens", show_default=True, help="Registered fusion method (ignored with --model).")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Fuse with this exported artifact instead (e.g. a densefuse int8 .onnx).")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True,
              help="Inference threads for --model, and OpenCV threads.")
@click.option("--align/--no-align", default=True, show_default=True, help="Run the alignment stage.")
@click.option("--pairs", "pairs_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Take the scene from this folder of bracket sets (e.g. ../shared/data/mefb-dev).")
def main(size, pairs, method, model, threads, align, pairs_dir):
    """Run the camera loop on a recorded alternating-exposure video and report its throughput."""
    from edgemef.camera.pipeline import LoopConfig, run_camera
    from edgemef.camera.sinks import VideoSink
    from edgemef.camera.sources import VideoFileSource

    w, h = size
    cv2.setNumThreads(threads)
    fuse = method
    if model:
        from edgemef.runtimes import load

        fuse = load(model, threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        video = write_alternating_video(Path(tmp) / "alt.avi", *pair_image(pairs_dir), (w, h), pairs)
        cfg = LoopConfig(method=fuse, align=align, drop_policy="block")
        s = run_camera(VideoFileSource(video), [VideoSink(Path(tmp) / "fused.mp4")], cfg, lambda _: None)
    click.echo(f"camera loop at {w}x{h}, {pairs} pairs, fuse={'model ' + Path(model).name if model else method}, "
               f"align={'on' if align else 'off'}, threads {threads}")
    for line in s.lines():
        click.echo(line)
    if s.capacity:
        click.echo(f"SUMMARY throughput / slowest-stage capacity = {s.fps / s.capacity:.3f} "
                   f"(target >= 0.90); pipelined {s.fps:.2f} fps vs sequential {s.sequential_fps:.2f} fps")


if __name__ == "__main__":
    main()
