"""Reproduce a bundled network's weights: train with the shipped recipe, export, check, install.

    python -m edgemef.train.make_weights [--config configs/densefuse_default.json] [--run runs/default]
                                         [--parity-pairs ../shared/data/mefb-dev] [--install DIR]
    python -m edgemef.train.make_weights --config configs/twophase_shipped.json --run runs/tp_shipped

Steps: ``edgemef train MODEL --config CONFIG --out RUN`` (MODEL is the config's ``model``; resumed
if RUN holds a checkpoint, skipped if RUN already holds finished weights), then an fp32 ONNX export
of RUN's weights with the usual parity check against PyTorch, then both files copied into
``edgemef/assets/weights/``: ``MODEL.safetensors`` (the torch reference and the source of every
``edgemef export``) and ``MODEL.onnx`` (what ``edgemef fuse --method MODEL`` runs). Training is
deterministic on a fixed number of CPU threads, so the same recipe gives the same weights on the
same torch build.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from edgemef.errors import EdgemefError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "configs" / "densefuse_default.json"
INSTALL_DIR = REPO / "edgemef" / "assets" / "weights"


def recipe(config: Path):
    """The validated training config at ``config``, of whichever network its ``model`` names."""
    from edgemef.train.config import read_config_file
    from edgemef.train.rgb_config import load_model_config

    return load_model_config(read_config_file(config).get("model", "densefuse"), config)


def train(cfg, run: Path, progress: bool = True) -> Path:
    """Train (or resume, or reuse) the recipe's run; returns its weights file."""
    from edgemef.train.loop import Trainer

    weights = run / f"{cfg.model}.safetensors"
    if weights.is_file():
        return weights
    return Trainer(cfg, run, resume=True, progress=progress).run()


def export_onnx(model: str, weights: Path, out: Path, parity_dir: Path | None, progress: bool = True):
    """fp32 ONNX of ``weights`` at ``out`` with the parity check; returns the ExportResult."""
    from edgemef.export.pipeline import Exporter, ExportOptions
    from edgemef.export.source import load_network

    options = ExportOptions(parity_dir=parity_dir, latency=False, progress=progress)
    return Exporter(load_network(model, weights), options).export("onnx", "fp32", out)


def install(model: str, weights: Path, onnx: Path, folder: Path) -> list[Path]:
    """Copy the weights and the ONNX file into ``folder`` (each via a temporary name, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    placed = []
    for src, name in ((weights, f"{model}.safetensors"), (onnx, f"{model}.onnx")):
        tmp = folder / f".{name}.part"
        shutil.copyfile(src, tmp)
        tmp.replace(folder / name)
        placed.append(folder / name)
    return placed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgemef.train.make_weights", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                    help="training recipe (JSON; default: %(default)s, the first stage of the bundled "
                         "DenseFuse weights: docs/densefuse.md)")
    ap.add_argument("--run", type=Path, default=Path("runs/default"),
                    help="training output folder (default: %(default)s); when RUN/<model>.safetensors exists, "
                         "training is skipped and those weights are exported and installed")
    ap.add_argument("--parity-pairs", type=Path, default=None,
                    help="real bracket sets for the export's parity check (default: the bundled samples)")
    ap.add_argument("--install", type=Path, default=INSTALL_DIR,
                    help="where the shipped files go (default: the package's bundled weights folder, "
                         "whose files this replaces)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    try:
        cfg = recipe(args.config)
        weights = train(cfg, args.run, progress=not args.quiet)
        result = export_onnx(cfg.model, weights, args.run / f"{cfg.model}.onnx", args.parity_pairs,
                             progress=not args.quiet)
        placed = install(cfg.model, weights, result.artifact, args.install)
    except EdgemefError as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    p = result.manifest.parity or {}
    print(f"weights {weights} -> {', '.join(map(str, placed))}")
    print(f"onnx parity vs torch: {p.get('psnr_db_min')} dB (worst of {p.get('pairs')} sets)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
