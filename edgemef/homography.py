"""Homographies between brackets: plausibility checks and sub-pixel refinement (numpy + OpenCV).

Brackets of one scene differ by hand-held shake: a few percent of zoom, a few degrees of roll, tens
of pixels of shift. :func:`check_homography` rejects anything else (a flip, a collapse, strong
shear or perspective), which is what RANSAC returns when it fits noise. :func:`refine_homography`
polishes a coarse homography by tracking points with pyramidal Lucas-Kanade.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Limits:
    """Plausibility limits for a homography between brackets of one scene.

    Attributes:
        min_inliers: fewest RANSAC inliers accepted.
        max_scale: largest zoom factor (and 1/max_scale the smallest).
        max_anisotropy: largest ratio of the affine part's singular values (shear/stretch).
        max_perspective: largest relative change of the projective denominator across the frame.
        max_shift: largest corner displacement as a fraction of the image diagonal.
    """

    min_inliers: int = 12
    max_scale: float = 1.3
    max_anisotropy: float = 1.15
    max_perspective: float = 0.1
    max_shift: float = 0.2


def corner_shift(hom: np.ndarray, width: int, height: int) -> float:
    """Largest displacement, in pixels, of the four image corners under ``hom``."""
    corners = np.array([[[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]], np.float64)
    return float(np.max(np.linalg.norm(cv2.perspectiveTransform(corners, hom)[0] - corners[0], axis=1)))


def check_homography(hom: np.ndarray, width: int, height: int, limits: Limits = Limits()) -> str | None:
    """Why ``hom`` is implausible for two brackets of one (width x height) scene, or None if fine."""
    if not np.all(np.isfinite(hom)) or abs(hom[2, 2]) < 1e-12:
        return "degenerate homography"
    hom = hom / hom[2, 2]
    a = hom[:2, :2]
    det = float(np.linalg.det(a))
    if det <= 0:
        return "homography flips the image"
    scale = det**0.5
    if not 1.0 / limits.max_scale <= scale <= limits.max_scale:
        return f"implausible scale {scale:.2f}"
    sv = np.linalg.svd(a, compute_uv=False)
    if sv[0] / max(sv[1], 1e-12) > limits.max_anisotropy:
        return f"implausible shear/stretch (singular value ratio {sv[0] / max(sv[1], 1e-12):.2f})"
    persp = abs(hom[2, 0]) * width + abs(hom[2, 1]) * height
    if persp > limits.max_perspective:
        return f"implausible perspective ({persp:.2f})"
    shift = corner_shift(hom, width, height)
    if shift > limits.max_shift * float(np.hypot(width, height)):
        return f"implausible shift ({shift:.0f} px)"
    return None


def scale_matrix(sx: float, sy: float) -> np.ndarray:
    """Full-resolution -> resized pixel coordinates (pixel centres kept, as INTER_AREA resizes)."""
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)


def local_contrast(grey: np.ndarray, size: int = 9) -> np.ndarray:
    """Local mean/deviation normalisation of a uint8 image, back to uint8 (128 +- 40 per sigma).

    Removes what global tone normalisation leaves of an exposure difference, so Lucas-Kanade's
    brightness-constancy assumption holds between brackets.
    """
    f = np.float32(grey)
    mean = cv2.blur(f, (size, size))
    sq = cv2.sqrBoxFilter(f, cv2.CV_32F, (size, size))
    std = cv2.sqrt(cv2.max(cv2.subtract(sq, cv2.multiply(mean, mean)), 4.0))
    return cv2.convertScaleAbs(cv2.divide(cv2.subtract(f, mean), std), alpha=40.0, beta=128.0)


def refine_homography(ref: np.ndarray, moving: np.ndarray, hom: np.ndarray, points: np.ndarray,
                      min_points: int = 12) -> np.ndarray | None:
    """Polish ``hom`` (moving -> ref pixel coordinates of these images) to sub-pixel accuracy.

    The moving image is pre-warped by ``hom``; ``points`` of the reference are tracked into it by
    pyramidal Lucas-Kanade (21x21 window, 3 levels), kept when tracking back lands within 0.5 px,
    and the residual homography fitted to them by RANSAC (1 px) is composed with ``hom``.

    Args:
        ref, moving: uint8 (h, w) images, photometrically alike (e.g. :func:`local_contrast`).
        hom: 3x3 coarse homography.
        points: (N, 1, 2) float32 reference points to track (corners, matched keypoints).
        min_points: fewest surviving tracks to accept a refinement.

    Returns:
        The refined 3x3 homography, or None when too few points survive.
    """
    if len(points) < min_points:
        return None
    h, w = ref.shape
    warped = cv2.warpPerspective(moving, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01)
    lk = {"winSize": (21, 21), "maxLevel": 2, "criteria": crit}
    pts = np.ascontiguousarray(points, np.float32).reshape(-1, 1, 2)
    fwd, st1, _ = cv2.calcOpticalFlowPyrLK(ref, warped, pts, None, **lk)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(warped, ref, fwd, None, **lk)
    ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm((back - pts).reshape(-1, 2), axis=1) < 0.5)
    if ok.sum() < min_points:
        return None
    resid, inl = cv2.findHomography(fwd[ok], pts[ok], cv2.RANSAC, 1.0, maxIters=500, confidence=0.999)
    if resid is None or inl is None or int(inl.sum()) < min_points:
        return None
    out = resid @ hom
    return out / out[2, 2]
