"""Average trained weights of one network (a "model soup", Wortsman et al. 2022).

    python -m edgemef.train.average_weights A.safetensors B.safetensors [...] -o OUT.safetensors

Runs fine-tuned from the same weights (``edgemef train ... --init``) stay in one basin, and their
uniform average often scores above each of them. Every input must hold the same network with the
same architecture; the output keeps the first input's manifest and training config, and records
every input's path, step and training config in its ``edgemef.sources`` metadata (an input that
is an average brings its own sources along), and a line in ``edgemef.notes``. Written atomically.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgemef.errors import EdgemefError


def _source(path: Path, meta: dict[str, str]) -> dict:
    """What the averaged file records of one input: its path, step and training config, and, for
    an input that is itself an average, its own ``sources`` (so nested averages keep every run)."""
    src = {"path": str(path), "step": int(meta.get("edgemef.step", 0)),
           "config": json.loads(meta.get("edgemef.config", "{}") or "{}")}
    if meta.get("edgemef.sources"):
        src["sources"] = json.loads(meta["edgemef.sources"])
    return src


def average(paths: list[Path], out: Path) -> Path:
    """The uniform average of the weights at ``paths`` written to ``out``."""
    from safetensors.torch import save

    from edgemef.io import atomic_write_bytes
    from edgemef.train.checkpoint import load_weights, state_mismatch

    if len(paths) < 2:
        raise EdgemefError("give two or more weights files to average")
    first, manifest, meta = load_weights(paths[0])
    total = {k: v.double() for k, v in first.items()}
    sources = [_source(paths[0], meta)]
    for p in paths[1:]:
        state, m, m_meta = load_weights(p)
        sources.append(_source(p, m_meta))
        if m.model != manifest.model:
            raise EdgemefError(f"{p}: '{m.model}' weights, {paths[0]} holds '{manifest.model}'")
        odd = state_mismatch(state, first)
        if odd:
            raise EdgemefError(f"{p}: another architecture than {paths[0]} (first differing tensor: {odd})")
        for k, v in state.items():
            total[k] += v.double()
    tensors = {k: (v / len(paths)).to(first[k].dtype).contiguous() if first[k].is_floating_point() else first[k]
               for k, v in total.items()}
    meta = dict(meta)
    meta["edgemef.sources"] = json.dumps(sources)
    notes = json.loads(meta.get("edgemef.notes", "[]"))
    meta["edgemef.notes"] = json.dumps(notes + [f"uniform average of {', '.join(str(p) for p in paths)}"])
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, save(tensors, metadata=meta))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgemef.train.average_weights",
                                 description="Average the weights of runs of one network (a model soup).")
    ap.add_argument("weights", nargs="+", type=Path, help="two or more .safetensors weights of the same network")
    ap.add_argument("-o", "--out", type=Path, required=True, help="where the averaged weights go")
    args = ap.parse_args(argv)
    try:
        for p in args.weights:
            if not p.is_file():
                raise EdgemefError(f"{p}: no such weights file")
        out = average(args.weights, args.out)
    except EdgemefError as e:
        print(f"edgemef: error: {e}", file=sys.stderr)
        return 2
    print(f"averaged {len(args.weights)} weights -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
