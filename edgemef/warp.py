"""Warping a frame into the reference frame, with out-of-frame pixels filled (numpy + OpenCV).

Fusion should never see black borders: pixels the warped frame does not cover are filled from the
reference frame passed through the two frames' brightness transfer function (per-channel histogram
matching on the overlap: the reference "re-exposed" as this frame), and a mask says which pixels
are real.
"""
from __future__ import annotations

import cv2
import numpy as np


def _transfer_lut(src: np.ndarray, dst: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-channel LUT mapping ``src`` intensities to ``dst``'s by histogram matching on ``valid``.

    Args:
        src, dst: uint8 (h, w, 3) views of the same scene.
        valid: (h, w) bool, the pixels both really see.

    Returns:
        (256, 1, 3) float32 in [0, 1], for ``cv2.LUT``.
    """
    lut = np.empty((256, 1, 3), np.float32)
    levels = np.arange(256, dtype=np.float64)
    sel = valid.ravel()
    for c in range(3):
        ns = np.bincount(src[..., c].ravel()[sel], minlength=256).astype(np.float64)
        nd = np.bincount(dst[..., c].ravel()[sel], minlength=256).astype(np.float64)
        if ns.sum() == 0:
            lut[:, 0, c] = levels / 255.0
            continue
        qs = (ns.cumsum() - ns / 2) / ns.sum()  # mid-rank quantile of each level
        qd = (nd.cumsum() - nd / 2) / nd.sum()
        used = nd > 0
        lut[:, 0, c] = np.interp(qs, qd[used], levels[used]) / 255.0
    return lut


def _border_bands(hom: np.ndarray, w: int, h: int) -> list[tuple[int, int, int, int]]:
    """Row/column bands (y0, y1, x0, x1) of the output that hold every out-of-frame pixel.

    The warped frame is a convex quadrilateral close to the output rectangle (the plausibility
    limits ensure it), so whatever lies outside it lies in a top, bottom, left or right band.
    """
    c = cv2.perspectiveTransform(np.array([[[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]]]), hom)[0]
    top = int(np.clip(np.ceil(max(c[0, 1], c[1, 1])) + 2, 0, h))
    bottom = int(np.clip(np.floor(min(c[2, 1], c[3, 1])) - 2, top, h))
    left = int(np.clip(np.ceil(max(c[0, 0], c[3, 0])) + 2, 0, w))
    right = int(np.clip(np.floor(min(c[1, 0], c[2, 0])) - 2, left, w))
    bands = [(0, top, 0, w), (bottom, h, 0, w), (top, bottom, 0, left), (top, bottom, right, w)]
    return [b for b in bands if b[1] > b[0] and b[3] > b[2]]


def warp_to_reference(image: np.ndarray, hom: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``image`` into the reference frame; fill out-of-frame pixels from the reference ``ref``.

    Returns:
        (warped float32 (H, W, 3), mask (H, W) bool: True where the warped frame has real pixels).
    """
    h, w = image.shape[:2]
    out = cv2.warpPerspective(image, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = np.ones((h, w), bool)
    ones = np.ones((h, w), np.uint8)
    bands = _border_bands(hom, w, h)
    for y0, y1, x0, x1 in bands:
        shifted = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ hom
        inside = cv2.warpPerspective(ones, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST, borderValue=0)
        mask[y0:y1, x0:x1] = inside.view(bool)
    if not bands or mask.all():
        return out, mask
    # brightness transfer reference -> this frame, learnt on a subsampled copy of the overlap
    step = max(1, int(np.sqrt(h * w / 40000)))
    sub = (slice(None, None, step), slice(None, None, step))
    lut = _transfer_lut(cv2.convertScaleAbs(ref[sub], alpha=255.0), cv2.convertScaleAbs(out[sub], alpha=255.0), mask[sub])
    for y0, y1, x0, x1 in bands:
        fill = cv2.LUT(cv2.convertScaleAbs(ref[y0:y1, x0:x1], alpha=255.0), lut)
        np.copyto(out[y0:y1, x0:x1], fill, where=~mask[y0:y1, x0:x1, None])
    return out, mask
