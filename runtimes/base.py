"""The runtime interface: a :class:`Backend` runs the raw network, a :class:`Runtime` fuses images.

Backends are plain classes (never ``nn.Module``): ``is_available()`` only asks
``importlib.util.find_spec``, and each backend imports its library inside its methods, so
``import edgemef.runtimes`` stays cheap and torch-free.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest
from edgemef.netio import finish_output, padded_size, prepare_input
from edgemef.runtimes.tiling import choose_tile, run_tiled, tile_count

DEFAULT_MAX_PIXELS = 1920 * 1088  # one call up to 1080p; larger images are tiled
DEFAULT_OVERLAP = 64


def _spec_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package of a dotted name
        return False


MAX_THREADS = 256  # an inference thread count above this is a typo, not a machine


class Backend:
    """One inference engine running one loaded network.

    Subclasses set the class attributes and implement :meth:`_load` and :meth:`infer`.

    Attributes:
        name: 'onnxruntime', 'openvino', 'tensorrt' or 'torch'.
        requires: modules that must be importable (checked with ``find_spec``).
        distribution: the pip distribution whose version :meth:`version` reports.
        alt_distributions: other distributions that ship the same module (tried in order when
            ``distribution`` is not installed).
        install_hint: what to install when :meth:`is_available` is False.
        max_hw: largest (H, W) the loaded network accepts (e.g. a TensorRT profile), or None.
        fixed_hw: the only (H, W) it accepts, or None for dynamic shapes.
        precision_used: the precision that actually runs ('fp32', 'bf16', ...), set by load.
    """

    name = "base"
    requires: tuple[str, ...] = ()
    distribution = ""
    alt_distributions: tuple[str, ...] = ()
    install_hint = ""

    def __init__(self, path: str | os.PathLike, manifest: Manifest, *, threads: int | None = None,
                 providers: list[str] | None = None, device: str = "CPU", precision: str | None = None):
        if not self.is_available():
            missing = ", ".join(self.missing())
            raise EdgemefError(f"{Path(path).name}: the {self.name} backend needs {missing} "
                               f"(not installed): {self.install_hint}")
        if threads is not None and not 1 <= int(threads) <= MAX_THREADS:
            raise EdgemefError(f"threads must be 1..{MAX_THREADS}, got {threads}")
        self.path = Path(path)
        self.manifest = manifest
        self.threads = int(threads) if threads else None
        self.providers = list(providers) if providers else None
        self.device = device
        self.precision = precision
        self.max_hw: tuple[int, int] | None = None
        self.fixed_hw: tuple[int, int] | None = tuple(manifest.shape) if manifest.shape else None
        self.precision_used = manifest.precision
        self._load()

    @classmethod
    def missing(cls) -> list[str]:
        """Required modules that cannot be found (nothing is imported)."""
        return [m for m in cls.requires if not _spec_exists(m)]

    @classmethod
    def is_available(cls) -> bool:
        """True when every required module can be imported (nothing is imported)."""
        return not cls.missing()

    @classmethod
    def version(cls) -> str | None:
        """Installed version of the backend library (its distribution or an alternative), or None."""
        for dist in (cls.distribution, *cls.alt_distributions):
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return None

    def _load(self) -> None:
        raise NotImplementedError

    def infer(self, x: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Raw network call: (1, Cin, H, W) float32 [+ the further inputs by name, e.g.
        ``{'exposure_ratios': (1, N)}``] -> (1, Cout, H, W) float32."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """What runs: backend, version, device, precision, threads (for logs and benchmarks)."""
        return {"backend": self.name, "version": self.version(), "device": self.device,
                "precision": self.precision_used, "threads": self.threads}

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4 or x.shape[0] != 1:
            raise EdgemefError(f"network input must be (1, C, H, W), got {x.shape}")
        return x

    def _check_extra(self, extra: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """The further inputs the manifest lists, as contiguous float32 arrays of their shapes.

        Raises:
            EdgemefError: one is missing or has the wrong shape.
        """
        out = {}
        extra = extra or {}
        for spec in self.manifest.extra_inputs:
            name = spec["name"]
            if name not in extra:
                raise EdgemefError(f"model '{self.manifest.model}' needs its input '{name}' "
                                   f"(shape {list(spec['shape'])}); netio.prepare_input makes it")
            a = np.ascontiguousarray(extra[name], dtype=np.float32)
            if list(a.shape) != [int(d) for d in spec["shape"]]:
                raise EdgemefError(f"input '{name}' must have shape {list(spec['shape'])}, got {list(a.shape)}")
            out[name] = a
        return out


class Runtime:
    """A loaded artifact: fuses aligned brackets with its network.

    Attributes:
        manifest: the artifact's :class:`Manifest`.
        backend: the :class:`Backend` running it.
        max_pixels: images whose padded H * W exceed this are run in overlapping tiles.
        overlap: tile overlap in pixels.
        progress: show a tqdm bar on stderr while tiling.
        last_timings: seconds per stage of the last :meth:`fuse`: 'preprocess', 'infer', 'postprocess'.
        last_tiles: number of network calls in the last :meth:`fuse`.
        last_notes: remarks on the last :meth:`fuse` (e.g. that the exposure ratios were estimated).
        last_info: what the last :meth:`fuse` fed the network besides the frames: 'tiles', and for
            networks taking exposure ratios 'exposure_ratios' (list), 'ratios_estimated' (bool),
            'ratios_note' (how they were obtained).
    """

    def __init__(self, backend: Backend, manifest: Manifest, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 overlap: int = DEFAULT_OVERLAP, progress: bool = False):
        if max_pixels < 64 * 64:
            raise EdgemefError(f"max_pixels must be at least {64 * 64}, got {max_pixels}")
        self.backend = backend
        self.manifest = manifest
        if backend.fixed_hw and not manifest.shape:  # a static graph: pad (or tile) to its size
            manifest.shape = list(backend.fixed_hw)
        self.max_pixels = int(max_pixels)
        self.overlap = int(overlap)
        self.progress = progress
        self.last_timings: dict[str, float] = {}
        self.last_tiles = 0
        self.last_notes: list[str] = []
        self.last_info: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Runtime({self.describe()})"

    def describe(self) -> str:
        """One line: model, precision, backend and where it runs."""
        i = self.backend.info()
        extra = ", ".join(f"{k} {v}" for k, v in i.items() if k not in ("backend", "version") and v)
        return f"{self.manifest.model} via {i['backend']} {i['version'] or ''} ({extra})".replace("  ", " ")

    def tile_for(self, hp: int, wp: int) -> tuple[int, int] | None:
        """The tile (th, tw) used for a padded (Hp, Wp) input, or None when it runs in one call."""
        fixed = self.backend.fixed_hw
        if fixed is not None:
            return None if (hp, wp) == tuple(fixed) else tuple(fixed)
        cap = self.backend.max_hw
        if hp * wp <= self.max_pixels and (cap is None or (hp <= cap[0] and wp <= cap[1])):
            return None
        return choose_tile(hp, wp, self.max_pixels, self.manifest.pad_multiple or 1, cap)

    def infer(self, x: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Run the network on a prepared (1, Cin, Hp, Wp) input, tiling when it is too large.

        ``extra``: the further inputs (``ctx.extra`` from :func:`edgemef.netio.prepare_input`),
        required when the manifest lists any; every tile gets the same.
        """
        extra = self.backend._check_extra(extra) if self.manifest.extra_inputs else None
        tile = self.tile_for(*x.shape[-2:])
        if tile is None:
            self.last_tiles = 1
            return self.backend.infer(x) if extra is None else self.backend.infer(x, extra)
        bar = None
        if self.progress:
            from tqdm import tqdm

            total = tile_count(*x.shape[-2:], tile, self.overlap)
            bar = tqdm(total=total, desc=f"{self.manifest.model} tiles", unit="tile", leave=False)
        calls = [0]

        def count(n: int) -> None:
            calls[0] += n
            if bar is not None:
                bar.update(n)

        try:
            return run_tiled(self.backend.infer, x, tile, self.overlap, progress=count, extra=extra)
        finally:
            self.last_tiles = calls[0]
            if bar is not None:
                bar.close()

    def fuse(self, images: list, exposure_times: list[float | None] | None = None,
             display: bool = True) -> np.ndarray:
        """Aligned brackets -> fused (H, W, 3) RGB in [0, 1].

        Args:
            images: float32 (H, W, 3) RGB in [0, 1], darkest first, or :class:`edgemef.io.Bracket`
                objects (whose EXIF exposure times feed networks that take exposure ratios).
            exposure_times: per-frame exposure times (s), darkest first, overriding the brackets';
                when any is unknown the ratios are estimated from the frames (see ``last_notes``).
            display: False returns an HDR network's radiance instead of its tone-mapped image.
        """
        t0 = time.perf_counter()
        x, ctx = prepare_input(images, self.manifest, exposure_times)
        t1 = time.perf_counter()
        y = self.infer(x, ctx.extra)
        t2 = time.perf_counter()
        out = finish_output(y, ctx, self.manifest, display=display)
        t3 = time.perf_counter()
        self.last_timings = {"preprocess": t1 - t0, "infer": t2 - t1, "postprocess": t3 - t2}
        self.last_notes = list(ctx.notes)
        self.last_info = {"tiles": self.last_tiles}
        if ctx.ratios is not None:
            self.last_info.update({"exposure_ratios": [float(r) for r in ctx.ratios.ratios],
                                   "ratios_estimated": bool(ctx.ratios.estimated), "ratios_note": ctx.ratios.note})
        return out

    __call__ = fuse

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """(Hp, Wp) the network sees for an H x W image."""
        return padded_size(height, width, self.manifest)
