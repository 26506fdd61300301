"""The ablation of Im et al. 2023, Table 2, on the project's own data: one training run per loss
preset ('co' co-target only, 'mb' + MaskBuilder, 'mbpt' + MaskBuilder + ParamTuner), identical
otherwise (same config, seed, scene pool and batches), each scored on real pairs.

Usage::

    python -m edgemef.train.ablation --config configs/densefuse_ablation.json \\
        --pairs ../shared/data/mefb-dev --out runs/ablation

Writes OUT/<preset>/ (each run's weights, loss curve, summary), OUT/ablation.json (every mean and
per-scene figure), OUT/ablation.md (the table) and prints the table. Runs that already finished
(OUT/<preset>/densefuse.safetensors exists) are scored again without retraining; an interrupted
run resumes from its checkpoint.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes
from edgemef.train.config import PRESETS, load_config
from edgemef.train.evaluate import evaluate, find_pairs, fuse_with_model, load_model

METRICS = ("mef_ssim", "qabf", "ag", "ei", "sf", "vif")
ROW_NAMES = {"co": "co-target only", "mb": "+ MaskBuilder", "mbpt": "+ MaskBuilder + ParamTuner"}


def train_preset(config: str | None, preset: str, out: Path, progress: bool = True, pool=None,
                 **overrides) -> Path:
    """Train (or resume, or reuse) one preset's run in ``out``; returns its weights file."""
    from edgemef.train.loop import WEIGHTS, Trainer

    weights = out / WEIGHTS
    if weights.is_file():
        return weights
    cfg = load_config(config, preset=preset, **overrides)
    return Trainer(cfg, out, resume=True, progress=progress, pool=pool).run()


def table(results: dict[str, dict], names=METRICS) -> str:
    """The ablation as a markdown table (rows in preset order, classical baselines last)."""
    lines = ["| loss | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key, r in results.items():
        label = ROW_NAMES.get(key, key)
        lines.append(f"| {label} | " + " | ".join(f"{r['mean'][n]:.4f}" for n in names) + " |")
    return "\n".join(lines)


def run(config: str | None, pairs_dir: str | Path, out: str | Path, presets=tuple(PRESETS),
        baselines=("mertens",), names=METRICS, limit: int = 0, progress: bool = True, pool=None,
        **overrides) -> dict[str, dict]:
    """Train every preset and score it with the baselines on the same pairs.

    Returns:
        {row key: evaluate() result}, rows in ``presets`` order then ``baselines``.
    """
    from edgemef.fusion import get_method

    out = Path(out)
    pairs = find_pairs(pairs_dir)[: limit or None]
    if not pairs:
        raise EdgemefError(f"{pairs_dir}: no two-image bracket sets found")
    results: dict[str, dict] = {}
    for preset in presets:
        if preset not in PRESETS:
            raise EdgemefError(f"unknown preset '{preset}' (choose from {', '.join(PRESETS)})")
        weights = train_preset(config, preset, out / preset, progress=progress, pool=pool, **overrides)
        model, manifest = load_model(weights)
        results[preset] = evaluate(lambda ims: fuse_with_model(model, ims, manifest), pairs, names, desc=preset)
    for name in baselines:
        results[name] = evaluate(get_method(name), pairs, names, desc=name)
    record = {"config": config, "pairs": str(pairs_dir), "count": len(pairs), "results": results}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "ablation.json", (json.dumps(record, indent=2) + "\n").encode())
    text = f"{len(pairs)} pairs from {pairs_dir}, config {config}\n\n{table(results, names)}\n"
    atomic_write_bytes(out / "ablation.md", text.encode())
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgemef.train.ablation", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=None, help="JSON training config shared by every run (its preset is replaced)")
    ap.add_argument("--pairs", required=True, help="folder of bracket pairs, one sub-folder each (mefb-dev layout)")
    ap.add_argument("--out", default="runs/ablation", help="output folder (one sub-folder per preset)")
    ap.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets to train")
    ap.add_argument("--baselines", default="mertens", help="comma-separated classical methods scored beside them")
    ap.add_argument("--steps", type=int, default=None, help="override the config's steps")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N pairs (0: all)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    try:
        results = run(args.config, args.pairs, args.out, [p for p in args.presets.split(",") if p],
                      [b for b in args.baselines.split(",") if b], limit=args.limit, progress=not args.quiet,
                      steps=args.steps)
    except EdgemefError as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    print(table(results))
    print(f"written: {Path(args.out) / 'ablation.md'}, {Path(args.out) / 'ablation.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
