"""Score trained DenseFuse weights on real under/over pairs (mefb-dev), as the runtime would fuse.

Every image goes through :func:`edgemef.netio.prepare_input` / :func:`~edgemef.netio.finish_output`
(the runtime's own pre/post-processing: CIELAB L in, mean chroma out), the torch model in between,
and :func:`edgemef.metrics.score` on the result against the two sources. Usage::

    python -m edgemef.train.evaluate runs/x/densefuse.safetensors --pairs /work/shared/data/mefb-dev
    python -m edgemef.train.evaluate --baselines mertens,average --pairs DIR --json out.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from edgemef import netio
from edgemef.errors import EdgemefError
from edgemef.io import load_brackets
from edgemef.manifest import Manifest
from edgemef.metrics import score

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


def fuse_with_model(model: torch.nn.Module, images: list[np.ndarray], manifest: Manifest) -> np.ndarray:
    """Fuse aligned RGB brackets (darkest first) with a torch model, through netio."""
    x, ctx = netio.prepare_input(images, manifest)
    return netio.finish_output(run_network(model, x), ctx, manifest)


def load_model(weights: str | Path) -> tuple[torch.nn.Module, Manifest]:
    """DenseFuse (or any registered model) from shipped weights or a training checkpoint."""
    from edgemef.models import create_model
    from edgemef.train.checkpoint import densefuse_manifest, load_checkpoint, load_weights
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as f:
        kind = (f.metadata() or {}).get("edgemef.kind")
    if kind == "checkpoint":
        state, manifest = load_checkpoint(weights)["model"], densefuse_manifest()
    else:
        state, manifest, _ = load_weights(weights)
    model = create_model(manifest.model)
    model.load_state_dict(state)
    return model.eval(), manifest


def evaluate(fuse_fn, pairs: list[tuple[str, list[Path]]], names=METRICS, desc: str = "eval") -> dict:
    """Score ``fuse_fn(images) -> RGB`` on every pair: {'per_scene': {...}, 'mean': {...}}."""
    per = {}
    for scene, files in tqdm(pairs, desc=desc, leave=False):
        images = [b.image for b in load_brackets(files)]
        per[scene] = score(fuse_fn(images), images, names=list(names))
    mean = {n: float(np.mean([s[n] for s in per.values()])) for n in names}
    return {"per_scene": per, "mean": mean, "count": len(per)}


def _baseline(name: str):
    from edgemef.fusion import get_method

    return get_method(name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgemef.train.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="*", help="densefuse .safetensors weights (or training checkpoints) to score")
    ap.add_argument("--pairs", required=True, help="folder of <scene>/<scene>_A.*, _B.* pairs (mefb-dev)")
    ap.add_argument("--baselines", default="", help="comma-separated classical methods to score too (mertens,average)")
    ap.add_argument("--metrics", default=",".join(METRICS), help="comma-separated metric names")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N pairs (0: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--json", default="", help="write all results (per scene too) to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        pairs = find_pairs(args.pairs)[: args.limit or None]
        if not pairs:
            raise EdgemefError(f"{args.pairs}: no two-image bracket sets found")
    except EdgemefError as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    results = {}
    for b in [b for b in args.baselines.split(",") if b]:
        results[b] = evaluate(_baseline(b), pairs, names, desc=b)
    for w in args.weights:
        model, manifest = load_model(w)
        results[w] = evaluate(lambda ims: fuse_with_model(model, ims, manifest), pairs, names, desc=Path(w).parent.name)
    print(f"{len(pairs)} pairs from {args.pairs}")
    print("| method | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key, r in results.items():
        print(f"| {key} | " + " | ".join(f"{r['mean'][n]:.4f}" for n in names) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
