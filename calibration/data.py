"""Calibration data: bracket sets -> network inputs, through exactly the runtime's preprocessing.

A real set goes the way ``edgemef fuse --model`` takes it: load and order (:mod:`edgemef.io`),
pick the reference and align (:func:`edgemef.fusion.pick_reference`,
:func:`edgemef.align.align_brackets`), then :func:`edgemef.netio.prepare_input`. Large images are
cut into crops of the aligned frames (the runtime tiles large images the same way) so that the
network sees full-resolution statistics at a bounded cost. Synthetic sets come from
:func:`edgemef.data.render_bracket_set` (already aligned). numpy + OpenCV only.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest
from edgemef.netio import prepare_input

SMALL_SET = 16  # fewer calibration inputs than this earns a warning


class SmallCalibrationSetWarning(UserWarning):
    """The calibration set is small: INT8 ranges may not generalise."""


@dataclass
class CalibrationSet:
    """Network inputs for range estimation.

    Attributes:
        inputs: float32 (1, C, H, W) arrays, as ``prepare_input`` makes them.
        extras: per input, the network's further inputs by name (``ctx.extra``: exposure ratios
            from EXIF or estimated from that set's frames), {} for single-input networks.
        names: where each input came from ('Cave#0', 'synthetic-3', ...).
        sources: a description of the data (folders, synthetic count) for the table.
        notes: sets skipped and why.
    """

    inputs: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extras: list[dict[str, np.ndarray]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.inputs)

    def add(self, x: np.ndarray, name: str, extra: dict[str, np.ndarray] | None = None) -> None:
        """Append one input (and its further inputs)."""
        self.inputs.append(x)
        self.names.append(name)
        self.extras.append(dict(extra or {}))

    def feeds(self) -> list[dict[str, np.ndarray]]:
        """Per input, the further inputs ({} where there are none), aligned with :attr:`inputs`."""
        return [self.extras[i] if i < len(self.extras) else {} for i in range(len(self.inputs))]

    def digest(self) -> str:
        """sha256 (16 hex digits) over the inputs' (and further inputs') shapes and bytes."""
        h = hashlib.sha256()
        for x, extra in zip(self.inputs, self.feeds()):
            h.update(str(x.shape).encode())
            h.update(np.ascontiguousarray(x).tobytes())
            for k in sorted(extra):
                h.update(k.encode())
                h.update(np.ascontiguousarray(extra[k]).tobytes())
        return h.hexdigest()[:16]


def runtime_frames(files: list[str | os.PathLike], align: bool = True,
                   reference: str = "auto") -> tuple[list[np.ndarray], list[float | None]]:
    """Bracket files -> (aligned float32 (H, W, 3) RGB frames darkest first, their EXIF exposure
    times or None), as the runtime sees them."""
    from edgemef.fusion import pick_reference
    from edgemef.io import load_brackets

    brackets = load_brackets(list(files))
    images = [b.image for b in brackets]
    if align:
        from edgemef.align import align_brackets

        images = align_brackets(images, pick_reference(images, reference)).images
    return images, [b.exposure_time for b in brackets]


def runtime_images(files: list[str | os.PathLike], align: bool = True, reference: str = "auto") -> list[np.ndarray]:
    """Bracket files -> the aligned float32 (H, W, 3) RGB frames, darkest first, as the runtime sees them."""
    return runtime_frames(files, align, reference)[0]


def crop_boxes(h: int, w: int, crop: int | None, count: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Up to ``count`` (y, x, ch, cw) crops: the whole frame when it fits, else random crop x crop boxes."""
    if not crop or (h <= crop and w <= crop):
        return [(0, 0, h, w)]
    ch, cw = min(h, crop), min(w, crop)
    return [(int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw) for _ in range(count)]


def synthetic_frames(seed: int, size: tuple[int, int], exposures: int) -> list[np.ndarray]:
    """One synthetic set, darkest first: (under, over) or (under, ev0, over)."""
    from edgemef.data import render_bracket_set

    s = render_bracket_set(seed, size)
    return [s.under, s.over] if exposures == 2 else [s.under, s.ev0, s.over]


def calibration_set(manifest: Manifest, *, calib_dir: str | os.PathLike | None = None,
                    bundled: bool = True, synthetic: int = 16, crop: int | None = 384, crops_per_set: int = 2,
                    synthetic_size: tuple[int, int] = (256, 256), align: bool = True, seed: int = 0,
                    max_sets: int | None = None, progress: bool = False) -> CalibrationSet:
    """Gather calibration inputs.

    Args:
        manifest: the model's manifest (exposures, colour space, padding).
        calib_dir: real bracket sets (one sub-folder of 2-3 images per scene, mefb-dev layout);
            when given, the bundled samples and synthetic sets are not used.
        bundled: with no ``calib_dir``, include the bundled sample brackets.
        synthetic: with no ``calib_dir``, this many rendered synthetic sets.
        crop: side of the crops cut from larger frames (None: whole frames).
        crops_per_set: crops per real set when it is larger than ``crop``.
        synthetic_size: (H, W) of synthetic sets.
        align: align real sets as the runtime does.
        seed: seeds crop positions and synthetic scenes.
        max_sets: use at most this many real sets (the first, sorted by name).
        progress: show a tqdm bar on stderr.

    Raises:
        EdgemefError: no usable set (empty folder, unreadable images, wrong number of exposures).
    """
    from edgemef.io import find_bracket_sets

    rng = np.random.default_rng(seed)
    out = CalibrationSet()
    sets: list[tuple[str, list[Path]]] = []
    if calib_dir is not None:
        sets = find_bracket_sets(calib_dir)
        out.sources.append(f"dir:{Path(calib_dir).name}")
        synthetic = 0
    elif bundled:
        from edgemef.samples import sample_sets

        try:
            sets = sample_sets()
            out.sources.append("bundled-samples")
        except EdgemefError as e:
            out.notes.append(f"no bundled samples ({e}); using synthetic brackets only")
    if max_sets is not None:
        sets = sets[:max_sets]
    work = [("real", n, f) for n, f in sets] + [("synthetic", f"synthetic-{i}", i) for i in range(synthetic)]
    if synthetic:
        out.sources.append(f"synthetic:{synthetic}@{synthetic_size[0]}x{synthetic_size[1]}")
    bar = None
    if progress and work:
        from tqdm import tqdm

        bar = tqdm(total=len(work), desc="calibration data", unit="set", leave=False)
    try:
        for kind, name, item in work:
            if bar is not None:
                bar.update(1)
            if kind == "synthetic":
                frames = synthetic_frames(seed * 100_003 + item, synthetic_size, manifest.exposures)
                x, ctx = prepare_input(frames, manifest)
                out.add(x, name, ctx.extra)
                continue
            if len(item) != manifest.exposures:
                out.notes.append(f"{name}: {len(item)} images, model '{manifest.model}' fuses "
                                 f"{manifest.exposures}: skipped")
                continue
            try:
                frames, times = runtime_frames(item, align=align)
            except EdgemefError as e:
                out.notes.append(f"{name}: skipped ({e})")
                continue
            h, w = frames[0].shape[:2]
            # exposure ratios (networks that take them) from the whole frames, as the runtime
            # measures them and hands every tile the same
            _, whole = prepare_input(frames, manifest, times) if manifest.extra_inputs else (None, None)
            for k, (y0, x0, ch, cw) in enumerate(crop_boxes(h, w, crop, crops_per_set, rng)):
                x, _ = prepare_input([f[y0:y0 + ch, x0:x0 + cw] for f in frames], manifest)
                out.add(x, f"{name}#{k}", whole.extra if whole is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if not out.inputs:
        where = f"{calib_dir}" if calib_dir is not None else "the bundled samples"
        detail = f": {'; '.join(out.notes[:3])}" if out.notes else ""
        raise EdgemefError(f"no usable calibration brackets in {where}{detail}")
    if len(out.inputs) < SMALL_SET:
        warnings.warn(f"calibration set has only {len(out.inputs)} inputs (< {SMALL_SET}): INT8 ranges may not "
                      "generalise; pass --calib DIR with more bracket sets", SmallCalibrationSetWarning, stacklevel=2)
    return out
