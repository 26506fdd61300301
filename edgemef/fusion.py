"""The fusion API: order -> align -> fuse with a registered method, timing every stage.

Methods are registered by name; each is a callable ``fn(images) -> image`` taking float32
(H, W, 3) RGB frames in [0, 1] ordered darkest first and returning one fused frame.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from edgemef.errors import EdgemefError
from edgemef.io import Bracket, order_brackets

FuseFn = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class MethodSpec:
    """A fusion method: ``factory()`` builds the callable (loading weights, sessions...)."""

    name: str
    summary: str
    factory: Callable[[], FuseFn]


METHODS: dict[str, MethodSpec] = {}
_BUILT: dict[str, FuseFn] = {}


def register_method(name: str, summary: str, factory: Callable[[], FuseFn]) -> None:
    """Add a fusion method to the registry (explicit registration, no discovery)."""
    METHODS[name] = MethodSpec(name, summary, factory)
    _BUILT.pop(name, None)


def require_method(name: str) -> None:
    """Raise a one-line :class:`EdgemefError` unless ``name`` is a registered method (nothing is built)."""
    if name not in METHODS:
        raise EdgemefError(f"unknown method '{name}' (choose from: {', '.join(METHODS)})")


def method_file_tag(name: str) -> str:
    """``name`` as it goes into an output file name (``model:DIR/FILE`` holds a slash)."""
    return name.replace("/", "_").replace(os.sep, "_")


def get_method(name: str) -> FuseFn:
    """The callable for a registered method, built once per process."""
    require_method(name)
    if name not in _BUILT:
        _BUILT[name] = METHODS[name].factory()
    return _BUILT[name]


def fuse_mertens(images: list[np.ndarray]) -> np.ndarray:
    """OpenCV's exposure fusion (Mertens, Kautz and Van Reeth 2007) with default weights."""
    merge = cv2.createMergeMertens()
    u8 = [np.clip(im * 255.0 + 0.5, 0, 255).astype(np.uint8) for im in images]
    return np.clip(merge.process(u8), 0.0, 1.0).astype(np.float32)


def fuse_average(images: list[np.ndarray]) -> np.ndarray:
    """The plain mean of the inputs: the weakest sensible baseline."""
    return np.mean(np.stack(images), axis=0).astype(np.float32)


register_method("mertens", "OpenCV exposure fusion (Mertens 2007): classical, no model", lambda: fuse_mertens)
register_method("average", "plain mean of the inputs: a baseline", lambda: fuse_average)


@dataclass
class FusionResult:
    """What :func:`fuse` returns.

    Attributes:
        image: fused float32 (H, W, 3) RGB in [0, 1].
        method: the method's name.
        timings: seconds per stage ('align', 'fuse', ...), in order.
        notes: human-readable remarks (alignment fallbacks, ...).
        reference: index of the reference frame in the ordered brackets the method used.
        homographies: one 3x3 per frame used (identity where not warped), or None without alignment.
    """

    image: np.ndarray
    method: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reference: int = 0
    homographies: list[np.ndarray] | None = None


def pick_reference(images: list[np.ndarray], mode: str = "auto") -> int:
    """Index of the reference frame: 'under' (darkest), 'over' (brightest) or 'auto'.

    'auto' takes the frame with the most well-exposed pixels (luma in [0.05, 0.95]).
    """
    if mode == "under":
        return 0
    if mode == "over":
        return len(images) - 1
    if mode != "auto":
        raise EdgemefError(f"unknown reference '{mode}' (use under, over or auto)")
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    scores = [np.mean(((im @ weights) > 0.05) & ((im @ weights) < 0.95)) for im in images]
    return int(np.argmax(scores))


def _frames_for(fn: FuseFn, method: str, ordered: list[Bracket], notes: list[str]) -> list[Bracket]:
    """The ordered brackets a method gets: a network made for two exposures, given three, takes
    the darkest and the brightest (they span the scene's range; the middle one is left out, and a
    note says so). Any other count mismatch is left to the network's own one-line error."""
    manifest = getattr(fn, "manifest", None)
    if manifest is not None and manifest.exposures == 2 and len(ordered) == 3:
        notes.append(f"{method} fuses 2 exposures: it used the darkest and the brightest of the 3 "
                     "(the middle one is left out)")
        return [ordered[0], ordered[-1]]
    return ordered


def _as_brackets(brackets) -> list[Bracket]:
    """What :func:`fuse` accepts, as brackets: Bracket objects, image arrays (any dtype
    :func:`edgemef.io.as_image` takes) or file paths (read with :func:`edgemef.io.load_brackets`)."""
    from edgemef.io import as_image, load_brackets

    if isinstance(brackets, np.ndarray) and brackets.ndim != 4:
        raise EdgemefError(f"fuse takes a list of 2-3 images, got one array of shape {brackets.shape}")
    items = list(brackets)
    if items and all(isinstance(b, (str, os.PathLike)) for b in items):
        return load_brackets(items)
    return [b if isinstance(b, Bracket) else Bracket(as_image(b, f"frame {i}")) for i, b in enumerate(items)]


def fuse(
    brackets: list[Bracket] | list[np.ndarray],
    method: str = "mertens",
    align: bool = True,
    reference: str = "auto",
) -> FusionResult:
    """Fuse 2-3 exposures of one scene.

    A network made for two exposures, given three, fuses the darkest and the brightest (the
    result's notes say so).

    Args:
        brackets: :class:`Bracket` objects, (H, W, 3) RGB arrays (float32 in [0, 1], uint8 or
            uint16; grey and RGBA are converted) or image file paths, in any order.
        method: a name from :data:`METHODS`.
        align: register the frames to the reference (AGC + SIFT + homography) first.
        reference: 'under', 'over' or 'auto'.

    Returns:
        :class:`FusionResult`: the fused float32 (H, W, 3) RGB image in [0, 1], in the reference
        frame's geometry, with per-stage timings and notes.

    Raises:
        EdgemefError: anything wrong with the inputs or the method, in one line.
    """
    if not isinstance(align, bool):
        raise EdgemefError(f"align must be True or False, got {align!r}")
    items = _as_brackets(brackets)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ordered = order_brackets(items)
    fn = get_method(method)
    notes: list[str] = []
    ordered = _frames_for(fn, method, ordered, notes)
    images = [b.image for b in ordered]
    timings["prepare"] = time.perf_counter() - t
    ref = pick_reference(images, reference)
    homographies = None
    if align:
        from edgemef.align import align_brackets

        t = time.perf_counter()
        res = align_brackets(images, ref)
        timings["align"] = time.perf_counter() - t
        images, homographies = res.images, res.homographies
        notes.extend(res.messages)
    t = time.perf_counter()
    if hasattr(fn, "last_notes"):  # a network runtime: EXIF times feed its exposure-ratio inputs
        out = fn(images, exposure_times=[b.exposure_time for b in ordered])
        notes.extend(fn.last_notes)
    else:
        out = fn(images)
    timings["fuse"] = time.perf_counter() - t
    return FusionResult(out, method, timings, notes, ref, homographies)


def _register_networks() -> None:
    """Register the bundled network methods whose artifacts exist (cheap: no session is created)."""
    from edgemef.runtimes.methods import register_default_networks

    register_default_networks()


_register_networks()
