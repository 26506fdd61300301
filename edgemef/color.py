"""Colour conversions shared by training, export and the runtime (numpy + OpenCV only).

The networks fuse luminance: CIELAB L scaled to [0, 1]. Chroma (a, b) is merged outside the
network. Images are float32 (H, W, 3) RGB in [0, 1] (sRGB-encoded, as the files store them).
"""
from __future__ import annotations

import cv2
import numpy as np

L_SCALE = 100.0  # OpenCV float Lab: L in [0, 100], a/b roughly in [-128, 127]


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB [0, 1] -> (H, W, 3) Lab with L in [0, 100]."""
    return cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(H, W, 3) Lab -> RGB clipped to [0, 1]."""
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0)


def luminance(image: np.ndarray) -> np.ndarray:
    """CIELAB L of an RGB image, scaled to [0, 1]: (H, W) float32."""
    return rgb_to_lab(image)[..., 0] / np.float32(L_SCALE)


def merge_chroma(labs: list[np.ndarray], weights: list[np.ndarray] | None = None) -> np.ndarray:
    """Merge the a/b planes of several Lab images.

    Without weights this is the plain mean of the inputs' a and b, as DenseFuse's paper does.
    With per-pixel weights (H, W) it is their normalised weighted mean.

    Returns:
        (H, W, 2) float32.
    """
    ab = np.stack([lab[..., 1:] for lab in labs])
    if weights is None:
        return ab.mean(axis=0).astype(np.float32)
    w = np.stack(weights)[..., None].astype(np.float32) + 1e-6
    return (ab * w).sum(axis=0) / w.sum(axis=0)


def chroma_saturation_weights(labs: list[np.ndarray]) -> list[np.ndarray]:
    """Per-pixel weights favouring the more saturated chroma (keeps colour from washing out)."""
    return [np.hypot(lab[..., 1], lab[..., 2]) for lab in labs]


def compose(fused_l: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Fused luminance (H, W) in [0, 1] + merged chroma (H, W, 2) -> RGB [0, 1]."""
    lab = np.concatenate([np.clip(fused_l, 0, 1)[..., None] * np.float32(L_SCALE), ab], axis=-1)
    return lab_to_rgb(lab)
