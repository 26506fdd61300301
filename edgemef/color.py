"""Colour conversions shared by training, export and the runtime (numpy + OpenCV).

The networks fuse luminance: CIELAB L scaled to [0, 1]. Chroma (a, b) is merged outside the
network. Images are float32 (H, W, 3) RGB in [0, 1] (sRGB-encoded, as the files store them).
"""
from __future__ import annotations

import cv2
import numpy as np

L_SCALE = 100.0  # CIELAB L is in [0, 100]


# sRGB primaries, D65 white (IEC 61966-2-1); exact formulas so every port (Android too) can match.
_RGB2XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                     [0.2126729, 0.7151522, 0.0721750],
                     [0.0193339, 0.1191920, 0.9503041]], np.float32)
_XYZ2RGB = np.linalg.inv(_RGB2XYZ.astype(np.float64)).astype(np.float32)
_WHITE = np.array([0.95047, 1.0, 1.08883], np.float32)
_EPS, _KAPPA = 216.0 / 24389.0, 24389.0 / 27.0
# (L + 16, a, b) = _F2LAB @ (fx, fy, fz), and its inverse
_F2LAB = np.array([[0, 116, 0], [500, -500, 0], [0, 200, -200]], np.float32)
_LAB2F = np.linalg.inv(_F2LAB.astype(np.float64)).astype(np.float32)


def _pow(x: np.ndarray, p: float) -> np.ndarray:
    return cv2.pow(np.maximum(x, 0.0, dtype=np.float32), p)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c * np.float32(1 / 12.92), _pow((c + 0.055) * np.float32(1 / 1.055), 2.4))


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * np.float32(12.92), np.float32(1.055) * _pow(c, 1 / 2.4) - np.float32(0.055))


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W, 3) CIELAB (D65): L in [0, 100], a/b about [-128, 127]."""
    rgb = _srgb_to_linear(np.ascontiguousarray(image, np.float32))
    xyz = cv2.transform(rgb, _RGB2XYZ / _WHITE[:, None])
    f = np.where(xyz > _EPS, _pow(xyz, 1 / 3), (xyz * np.float32(_KAPPA) + 16.0) * np.float32(1 / 116.0))
    lab = cv2.transform(f, _F2LAB)
    lab[..., 0] -= 16.0
    return lab


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(H, W, 3) CIELAB (D65) -> sRGB clipped to [0, 1]."""
    lab = np.ascontiguousarray(lab, np.float32).copy()
    lab[..., 0] += 16.0
    f = cv2.transform(lab, _LAB2F)
    f3 = f * f * f
    xyz = np.where(f3 > _EPS, f3, (f * np.float32(116.0) - 16.0) * np.float32(1 / _KAPPA))
    return _linear_to_srgb(cv2.transform(xyz, _XYZ2RGB * _WHITE[None, :])).astype(np.float32)


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
