"""Score trained networks (DenseFuse, the two-phase network, STHDR) beside classical methods.

Every image goes through :func:`edgemef.netio.prepare_input` / :func:`~edgemef.netio.finish_output`
(the runtime's own pre/post-processing: CIELAB L in and mean chroma out for DenseFuse, RGB for
the others, mu-law tone mapping of STHDR's radiance), the torch model in between. STHDR also
takes exposure ratios: from the files' EXIF times when every frame has one, else estimated
from the pixels (:func:`edgemef.hdr.exposure_ratios`). Two test sets:

* real pairs (``--pairs``, e.g. mefb-dev; no ground truth): MEF-SSIM, Q^AB/F, ... against the
  sources, via :func:`edgemef.metrics.score`;
* synthetic labelled sets (``--synthetic N``): PSNR, SSIM, MS-SSIM and VIF against the
  renderer's labels, on a seed no training run uses (:mod:`edgemef.train.synthetic_eval`);
* CPU latency of every method (``--latency``, default 512x512 and 1280x720): one whole fusion
  call (pre/post-processing included) on the first test pair resized to each size, median of
  ``--latency-repeats`` calls after one warm-up, on ``--threads`` threads.

Usage::

    python -m edgemef.train.evaluate runs/tp/twophase.safetensors runs/st/sthdr.safetensors \\
        --baselines mertens --pairs ../shared/data/mefb-dev --synthetic 32 --json scores.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from edgemef import netio
from edgemef.errors import EdgemefError
from edgemef.helpformat import DefaultsFormatter
from edgemef.io import atomic_write_bytes, load_brackets, shrink
from edgemef.manifest import Manifest
from edgemef.metrics import score
from edgemef.sizes import parse_hw_list

METRICS = ("mef_ssim", "qabf", "ag", "ei", "sf", "vif")
HALO = 16  # > the receptive-field radius of DenseFuse (8 convolutions of 3x3)


def find_pairs(root: str | Path) -> list[tuple[str, list[Path]]]:
    """(scene, [file, file]) for every two-image bracket set under ``root`` (mefb-dev layout).

    Raises:
        EdgemefError: ``root`` is not a folder or holds no bracket sets.
    """
    from edgemef.io import find_bracket_sets

    return [(name, files) for name, files in find_bracket_sets(root) if len(files) == 2]


@torch.no_grad()
def run_network(model: torch.nn.Module, x: np.ndarray, band: int = 256) -> np.ndarray:
    """(1, N, H, W) -> (1, 1, H, W), in horizontal bands with a halo (bounded memory, exact)."""
    model.eval()
    h = x.shape[2]
    out = np.empty((1, 1, h, x.shape[3]), np.float32)
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        a, b = max(0, y0 - HALO), min(h, y1 + HALO)
        y = model(torch.from_numpy(np.ascontiguousarray(x[:, :, a:b])))
        out[:, :, y0:y1] = y[:, :, y0 - a:y0 - a + (y1 - y0)].numpy()
    return out


def model_ratios(images: list[np.ndarray], manifest: Manifest, times=None) -> np.ndarray:
    """(1, N) float32 exposure times relative to the model's reference frame."""
    from edgemef.hdr import exposure_ratios

    ref = manifest.extra.get("reference")
    return exposure_ratios(images, times, reference=ref).ratios.astype(np.float32)[None]


@torch.no_grad()
def _forward(model: torch.nn.Module, x: np.ndarray, images: list[np.ndarray], manifest: Manifest,
             times=None) -> np.ndarray:
    """Network output for the prepared input ``x`` (1, C_in, Hp, Wp) -> (1, C, Hp, Wp)."""
    model.eval()
    if manifest.colour_space == "lab-l":
        return run_network(model, x)
    if manifest.model == "sthdr":
        ratios = torch.from_numpy(model_ratios(images, manifest, times))
        return model(torch.from_numpy(x), ratios).numpy()
    return model(torch.from_numpy(x)).numpy()


def run_model(model: torch.nn.Module, images: list[np.ndarray], manifest: Manifest, times=None) -> np.ndarray:
    """The raw network output (1, C, H, W) for aligned RGB brackets (darkest first), before
    :func:`~edgemef.netio.finish_output` (for STHDR: linear radiance)."""
    x, ctx = netio.prepare_input(images, manifest)
    return _forward(model, x, images, manifest, times)[:, :, : ctx.height, : ctx.width]


def fuse_with_model(model: torch.nn.Module, images: list[np.ndarray], manifest: Manifest, times=None,
                    keep: dict | None = None) -> np.ndarray:
    """Fuse aligned RGB brackets (darkest first) with a torch model, through netio: (H, W, 3) RGB.

    Args:
        times: exposure times of the frames (seconds, any unit) for STHDR; None: estimated.
        keep: if given, ``keep['raw']`` receives the raw (1, C, H, W) network output.
    """
    x, ctx = netio.prepare_input(images, manifest)
    y = _forward(model, x, images, manifest, times)
    if keep is not None:
        keep["raw"] = y[:, :, : ctx.height, : ctx.width]
    return netio.finish_output(y, ctx, manifest)


def load_model(weights: str | Path) -> tuple[torch.nn.Module, Manifest]:
    """Any trained network from its shipped weights or a training checkpoint.

    The model and its config come from the weights' manifest (``extra['config']``), or for a
    checkpoint from the training config it holds.
    """
    from safetensors import safe_open

    from edgemef.models import create_model
    from edgemef.train.checkpoint import load_checkpoint, load_weights

    p = Path(weights)
    if not p.is_file():
        raise EdgemefError(f"{p}: no such weights file")
    from safetensors import SafetensorError

    try:
        with safe_open(str(p), framework="pt") as f:
            kind = (f.metadata() or {}).get("edgemef.kind")
    except (SafetensorError, OSError, ValueError) as e:
        raise EdgemefError(f"{p}: cannot read the checkpoint ({e})") from None
    if kind == "checkpoint":
        from edgemef.train.rgb_config import config_for
        from edgemef.train.tasks import manifest_for

        ck = load_checkpoint(p)
        state, manifest = ck["model"], manifest_for(config_for(json.loads(ck["config"])))
    else:
        state, manifest, _ = load_weights(p)
    model = create_model(manifest.model, **dict(manifest.extra.get("config") or {}))
    model.load_state_dict(state)
    return model.eval(), manifest


class ModelMethod:
    """A loaded network as ``fn(images, times=None) -> RGB``; keeps STHDR's last radiance."""

    takes_times = True

    def __init__(self, weights: str | Path, tonemap: str | None = None):
        self.model, self.manifest = load_model(weights)
        self.name = f"{self.manifest.model}:{weights}"
        if tonemap and self.manifest.output == "hdr":  # display this network's radiance another way
            netio.set_tonemap(self.manifest, tonemap)
            self.name += f" [{tonemap}]"
        self.last_hdr: np.ndarray | None = None

    def __call__(self, images: list[np.ndarray], times=None) -> np.ndarray:
        keep: dict = {}
        out = fuse_with_model(self.model, images, self.manifest, times, keep)
        if self.manifest.output == "hdr":
            self.last_hdr = keep["raw"][0].transpose(1, 2, 0)
        return out


def evaluate(fuse_fn, pairs: list[tuple[str, list[Path]]], names=METRICS, desc: str = "eval",
             max_side: int = 0) -> dict:
    """Score ``fuse_fn(images) -> RGB`` on every pair: {'per_scene': {...}, 'mean': {...}}."""
    per = {}
    for scene, files in tqdm(pairs, desc=desc, leave=False):
        images = shrink([b.image for b in load_brackets(files)], max_side)
        per[scene] = score(fuse_fn(images), images, names=list(names))
    mean = {n: float(np.mean([s[n] for s in per.values()])) for n in names}
    return {"per_scene": per, "mean": mean, "count": len(per)}


def measure_latency(fn, images: list[np.ndarray], sizes, repeats: int = 3) -> dict[str, float]:
    """{'HxW': median ms} of ``fn(images resized to HxW)`` after one warm-up call."""
    import time

    out = {}
    for h, w in sizes:
        ims = [cv2.resize(np.ascontiguousarray(im, np.float32), (w, h), interpolation=cv2.INTER_AREA) for im in images]
        fn(ims)
        times = []
        for _ in range(max(1, repeats)):
            t = time.perf_counter()
            fn(ims)
            times.append(time.perf_counter() - t)
        out[f"{h}x{w}"] = float(np.median(times) * 1e3)
    return out


def _baseline(name: str):
    from edgemef.fusion import get_method

    return get_method(name)


def print_table(results: dict, names, heading: str, fmt: str = ".4f") -> None:
    print(heading)
    print("| method | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key, r in results.items():
        print(f"| {key} | " + " | ".join(format(r['mean'][n], fmt) if n in r["mean"] else "-" for n in names) + " |")


def main(argv: list[str] | None = None) -> int:
    from edgemef.train.synthetic_eval import SYNTHETIC_METRICS, SYNTHETIC_SEED, score_synthetic, synthetic_sets

    ap = argparse.ArgumentParser(prog="python -m edgemef.train.evaluate", formatter_class=DefaultsFormatter,
                                 description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="*", help="trained .safetensors weights (or training checkpoints) of any "
                                               "network: densefuse, twophase, sthdr")
    ap.add_argument("--pairs", default="", help="folder of bracket pairs, one sub-folder of two images per "
                                                "scene (mefb-dev); sets of three are skipped")
    ap.add_argument("--synthetic", type=int, default=0, help="also score N synthetic labelled sets (PSNR, SSIM, ...)")
    ap.add_argument("--synthetic-seed", type=int, default=SYNTHETIC_SEED, help="their seed (distinct from training)")
    ap.add_argument("--synthetic-size", type=int, default=256, help="their side in pixels")
    ap.add_argument("--baselines", default="", help="comma-separated classical methods to score too (mertens,average)")
    ap.add_argument("--metrics", default=",".join(METRICS), help="comma-separated metric names for --pairs")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N pairs (0: all)")
    ap.add_argument("--max-side", type=int, default=0, help="downscale pairs to this longer side first (0: full size)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (and OpenCV's, for the latency rows)")
    ap.add_argument("--latency", default="512x512,720x1280",
                    help="comma-separated HxW sizes for the CPU latency table ('' to skip)")
    ap.add_argument("--latency-repeats", type=int, default=3, help="timed calls per method and size (median)")
    ap.add_argument("--tonemap", default="", help="comma-separated display tone maps for HDR networks (STHDR), "
                                                  f"one row each ({', '.join(netio.TONEMAPS)}; default: the "
                                                  "weights' own); other networks ignore it")
    ap.add_argument("--json", default="", help="write all results (per scene too) to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        if not args.pairs and not args.synthetic:
            raise EdgemefError("nothing to score: give --pairs DIR and/or --synthetic N")
        pairs = find_pairs(args.pairs)[: args.limit or None] if args.pairs else []
        if args.pairs and not pairs:
            raise EdgemefError(f"{args.pairs}: no two-image bracket sets found")
        sizes = parse_hw_list(args.latency, "--latency")
        methods = {b: _baseline(b) for b in args.baselines.split(",") if b}
        tonemaps = [t.strip() for t in args.tonemap.split(",") if t.strip()] or [None]
        for w in args.weights:
            for t in tonemaps:
                m = ModelMethod(w, t)
                methods[m.name] = m
                if m.manifest.output != "hdr":
                    break
    except EdgemefError as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    record: dict = {}
    if pairs:
        res = {k: evaluate(fn, pairs, names, desc=k, max_side=args.max_side) for k, fn in methods.items()}
        record["pairs"] = {"folder": args.pairs, "max_side": args.max_side, "results": res}
        side = f", longer side <= {args.max_side}" if args.max_side else ""
        print_table(res, names, f"{len(pairs)} pairs from {args.pairs}{side}")
    if args.synthetic:
        sets = synthetic_sets(args.synthetic, args.synthetic_seed, (args.synthetic_size,) * 2)
        res = {k: score_synthetic(fn, sets, desc=k) for k, fn in methods.items()}
        record["synthetic"] = {"count": args.synthetic, "seed": args.synthetic_seed, "size": args.synthetic_size,
                               "results": res}
        cols = list(SYNTHETIC_METRICS) + (["psnr_mu"] if any("psnr_mu" in r["mean"] for r in res.values()) else [])
        print_table(res, cols, f"{args.synthetic} synthetic labelled sets (seed {args.synthetic_seed}, "
                               f"{args.synthetic_size}px), against the renderer's labels")
    if sizes:
        cv2.setNumThreads(args.threads)
        images = [b.image for b in load_brackets(pairs[0][1])] if pairs else sets[0].images
        lat = {k: {"mean": measure_latency(fn, images, sizes, args.latency_repeats)}
               for k, fn in tqdm(methods.items(), desc="latency", leave=False)}
        record["latency_ms"] = {"threads": args.threads, "repeats": args.latency_repeats,
                                "results": {k: v["mean"] for k, v in lat.items()}}
        print_table(lat, [f"{h}x{w}" for h, w in sizes], f"CPU latency, ms per fusion call (median of "
                    f"{args.latency_repeats}, {args.threads} thread(s), pre/post-processing included)", fmt=".1f")
    if args.json:
        try:
            atomic_write_bytes(args.json, (json.dumps(record, indent=2) + "\n").encode())
        except EdgemefError as e:
            print(f"edgemef: error: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
