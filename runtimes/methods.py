"""Network fusion methods for :mod:`edgemef.fusion`: an exported artifact as a ``FuseFn``.

:func:`register_default_networks` runs when :mod:`edgemef.fusion` is imported. It only checks
which bundled artifacts exist (no session is created until the method is first used), so
``edgemef fuse --method densefuse`` works once the export step has written
``edgemef/assets/weights/densefuse.onnx``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import edgemef
from edgemef.fusion import FuseFn, register_method

WEIGHTS_DIR = Path(edgemef.__file__).resolve().parent / "assets" / "weights"

# registry name -> (artifact file under assets/weights, summary for --help)
DEFAULT_NETWORKS: dict[str, tuple[str, str]] = {
    "densefuse": ("densefuse.onnx", "DenseFuse network (Li and Wu 2019), bundled trained weights, "
                                    "fused luminance + mean chroma"),
    "twophase": ("twophase.onnx", "two-phase progressive network (Huang, NTU), bundled trained weights, RGB"),
    "sthdr": ("sthdr.onnx", "STHDR (Li et al. 2022), bundled trained weights: HDR radiance, shown by "
                            "exposure fusion (--tonemap)"),
}

# load() options applied to every network method (set with configure_networks, e.g. --threads);
# 'tonemap' only reaches the bundled networks that output radiance
NETWORK_OPTIONS: dict[str, Any] = {}
HDR_NETWORKS = frozenset({"sthdr"})


def artifact_method(path: str | os.PathLike, **load_options: Any) -> FuseFn:
    """Load an artifact and return it as a fusion method.

    Args:
        path: any artifact :func:`edgemef.runtimes.load` accepts.
        **load_options: passed to :func:`edgemef.runtimes.load` (threads, backend, max_pixels...);
            defaults come from :data:`NETWORK_OPTIONS`.

    Returns:
        A :class:`~edgemef.runtimes.Runtime`: callable ``fn(images) -> image`` with
        ``last_timings`` and ``describe()``.
    """
    from edgemef.runtimes import load

    return load(path, **{**NETWORK_OPTIONS, **load_options})


def register_artifact(path: str | os.PathLike, name: str | None = None, summary: str | None = None,
                      **load_options: Any) -> str:
    """Register an artifact as a fusion method (loaded on first use); returns the method name,
    ``model:FILE`` unless ``name`` is given (see :func:`artifact_names` for several at once)."""
    p = Path(path)
    name = name or f"model:{p.name}"
    register_method(name, summary or f"network from {p}", lambda: artifact_method(p, **load_options))
    return name


def artifact_names(paths: list[str | os.PathLike]) -> list[str]:
    """A method name for each of ``paths``: ``model:`` and the shortest tail of the path that no
    other file in ``paths`` shares, so that two runs' ``densefuse.safetensors`` stay two methods
    (``model:FILE``, then ``model:DIR/FILE``). The same file named twice gets one name."""
    resolved = [Path(p).resolve() for p in paths]
    names = []
    for r in resolved:
        others = [o for o in resolved if o != r]
        n = 1
        while n < len(r.parts) and any(o.parts[-n:] == r.parts[-n:] for o in others):
            n += 1
        names.append("model:" + "/".join(r.parts[-n:]))
    return names


def register_default_networks() -> list[str]:
    """Register each bundled network whose artifact exists; returns the names registered."""
    names = []
    for name, (filename, summary) in DEFAULT_NETWORKS.items():
        path = WEIGHTS_DIR / filename
        if path.is_file():
            register_artifact(path, name, summary, **({} if name in HDR_NETWORKS else {"tonemap": None}))
            names.append(name)
    return names


def configure_networks(**load_options: Any) -> None:
    """Set the load() options (threads, backend, ...) of the bundled network methods.

    Replaces the previous options (None values are dropped); when they change, the bundled
    networks are re-registered so the next use builds them with the new options.
    """
    new = {k: v for k, v in load_options.items() if v is not None}
    if new != NETWORK_OPTIONS:
        NETWORK_OPTIONS.clear()
        NETWORK_OPTIONS.update(new)
        register_default_networks()


def is_network(method: str) -> bool:
    """Whether ``method`` names a network (a bundled one or a registered artifact), not a
    classical fusion."""
    return method in DEFAULT_NETWORKS or method.startswith("model:")


def checked_artifact(model: str | os.PathLike, **load_options: Any) -> str:
    """Check ``model`` cheaply (the file, an installed engine for it, its manifest), then register
    it as a fusion method; returns the method name."""
    from edgemef.runtimes import check_artifact

    check_artifact(model, load_options.get("backend"))
    return register_artifact(model, **load_options)


def choose_method(method: str, model: str | os.PathLike | None = None, threads: int | None = None,
                  backend: str | None = None, tonemap: str | None = None, progress: bool = False) -> str:
    """The fusion method ``edgemef fuse`` options name: ``method``, or the ``model`` artifact
    registered as one, with the network options (threads, backend, tonemap) applied.

    Raises:
        EdgemefError: ``tonemap`` with a method that is not an HDR network, or a bad artifact.
    """
    from edgemef.errors import EdgemefError
    from edgemef.fusion import get_method

    # bundled networks (-m sthdr); progress: a tqdm bar over the tiles of a large image
    configure_networks(threads=threads, backend=backend, tonemap=tonemap, progress=progress or None)
    if model is not None:
        method = checked_artifact(model, threads=threads, backend=backend, tonemap=tonemap, progress=progress)
    if tonemap and getattr(getattr(get_method(method), "manifest", None), "output", None) != "hdr":
        raise EdgemefError(f"--tonemap applies to HDR networks (e.g. -m sthdr); '{method}' outputs a display image")
    return method
