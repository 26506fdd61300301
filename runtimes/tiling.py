"""Tiled inference with overlap and feathered blending, for images too large for one call.

Tiles overlap by ``overlap`` pixels. Each tile's weight is 0 over a ``margin`` next to an inner
tile edge, where the network saw padding instead of real context (the neighbouring tile covers
those pixels), then ramps linearly to 1, so neighbouring tiles cross-fade and no seam is
visible. Image borders keep full weight. With a margin wider than the network's receptive
radius, tiled output equals untiled output up to float rounding.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``size``, overlapping by >= ``overlap``.

    The last tile is aligned to the end, so every tile has the full length (its overlap with the
    previous one may be larger than asked).
    """
    if tile >= size:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return starts


def ramp(length: int, ramp_start: bool, ramp_end: bool, overlap: int, margin: int) -> np.ndarray:
    """1-D blending weights of one tile: (length,) float32 in [0, 1] (0 only inside a margin)."""
    w = np.ones(length, np.float32)
    d = np.arange(length, dtype=np.float32) + 0.5
    span = max(1.0, overlap - 2.0 * margin)
    edge = np.clip((d - margin) / span, 0.0, 1.0)
    if ramp_start:
        w = np.minimum(w, edge)
    if ramp_end:
        w = np.minimum(w, edge[::-1])
    return w


def choose_tile(height: int, width: int, max_pixels: int, multiple: int = 1,
                max_hw: tuple[int, int] | None = None) -> tuple[int, int]:
    """Tile (th, tw) with th * tw <= max_pixels, multiples of ``multiple``, within the image."""
    m = max(1, multiple)
    cap_h, cap_w = (height, width) if max_hw is None else (min(height, max_hw[0]), min(width, max_hw[1]))
    side = max(m, int(math.isqrt(max(1, max_pixels))) // m * m)
    tw = min(cap_w, side)
    th = min(cap_h, max(m, max_pixels // max(1, tw) // m * m))
    if th == cap_h and tw < cap_w:  # short and wide image: give the width what height left over
        tw = min(cap_w, max(m, max_pixels // max(1, th) // m * m))
    return th, tw


def tile_grid(height: int, width: int, tile: tuple[int, int], overlap: int = 64):
    """The tiling :func:`run_tiled` uses: (row starts, column starts, (th, tw), (oy, ox)), the
    tile clamped to the image and the overlap to half a tile."""
    th, tw = min(tile[0], height), min(tile[1], width)
    oy, ox = min(overlap, th // 2), min(overlap, tw // 2)
    return tile_starts(height, th, oy), tile_starts(width, tw, ox), (th, tw), (oy, ox)


def tile_count(height: int, width: int, tile: tuple[int, int], overlap: int = 64) -> int:
    """How many network calls :func:`run_tiled` makes for an (H, W) input."""
    ys, xs, _, _ = tile_grid(height, width, tile, overlap)
    return len(ys) * len(xs)


def run_tiled(infer: Callable[..., np.ndarray], x: np.ndarray, tile: tuple[int, int],
              overlap: int = 64, margin: int = 16, progress: Callable[[int], None] | None = None,
              extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Run ``infer`` over overlapping tiles of ``x`` and blend the outputs.

    Args:
        infer: (1, Cin, th, tw) -> (1, Cout, th, tw); called as ``infer(tile, extra)`` when
            ``extra`` is given.
        x: (1, Cin, H, W) float32.
        tile: (th, tw); tiles never exceed the image.
        overlap: pixels shared by neighbouring tiles (clamped to half a tile).
        margin: pixels next to an inner tile edge that get (almost) no weight.
        progress: called with 1 after each tile.
        extra: the network's further, per-image inputs (e.g. exposure ratios): the very same
            arrays go with every tile, so all tiles see one exposure normalisation.

    Returns:
        (1, Cout, H, W) float32.
    """
    _, _, h, w = x.shape
    ys, xs, (th, tw), (oy, ox) = tile_grid(h, w, tile, overlap)
    acc = None
    norm = np.zeros((h, w), np.float32)
    for y0 in ys:
        wy = ramp(th, y0 > 0, y0 + th < h, oy, min(margin, oy // 4))
        for x0 in xs:
            wx = ramp(tw, x0 > 0, x0 + tw < w, ox, min(margin, ox // 4))
            t = np.ascontiguousarray(x[:, :, y0:y0 + th, x0:x0 + tw])
            out = np.asarray(infer(t) if extra is None else infer(t, extra), np.float32)
            if acc is None:
                acc = np.zeros((1, out.shape[1], h, w), np.float32)
            weight = wy[:, None] * wx[None, :]
            acc[:, :, y0:y0 + th, x0:x0 + tw] += out * weight
            norm[y0:y0 + th, x0:x0 + tw] += weight
            if progress is not None:
                progress(1)
    return acc / np.maximum(norm, np.float32(1e-12))  # every pixel has a tile with weight > 0
