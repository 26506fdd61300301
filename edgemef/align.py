"""Bracket alignment: AGC -> SIFT on a downscaled grey copy -> Lowe ratio -> RANSAC homography -> warp.

Every non-reference frame is registered to the reference frame. Features come from a small grey
copy of each frame (longest side ``max_side``) brightened or darkened by adaptive gamma correction
(:mod:`edgemef.agc`, optionally followed by histogram equalisation) so that differently exposed
frames look alike. The homography found there is refined to sub-pixel accuracy on a finer grey copy
(longest side ``refine_side``) by tracking the inlier points with pyramidal Lucas-Kanade after a
coarse pre-warp, scaled to full resolution, and used to warp the full-resolution frame. Pixels that
fall outside the warped frame are filled from the reference frame passed through the two frames'
brightness transfer function (per-channel histogram matching on the overlap), so fusion never sees
black borders; ``masks`` say which pixels are real.

When a frame cannot be registered (too few matches or inliers, or an implausible homography:
flipped, degenerate, too much scale, shear, perspective or shift) it is left as it is, with an
identity homography and a message saying why. Alignment never raises for content reasons.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from edgemef.agc import agc_lut
from edgemef.errors import EdgemefError
from edgemef.warp import warp_to_reference

STAGES = ("agc", "features", "match", "homography", "warp")
_LK_POINTS = 400  # most points tracked by the refinement (half inliers, half Shi-Tomasi corners)


@dataclass
class AlignResult:
    """What :func:`align_brackets` returns.

    Attributes:
        images: aligned frames in input order, float32 (H, W, 3) RGB in [0, 1].
        masks: (H, W) bool per frame, True where the frame has real (in-frame) pixels; all True
            for the reference and for frames that were not warped.
        homographies: 3x3 float64 per frame mapping its pixel coordinates into the reference
            frame; identity for the reference and for fallbacks.
        reference: index of the reference frame.
        warped: per frame, whether it was warped.
        messages: human-readable notes (fallbacks and their reasons).
        timings: seconds per stage: 'agc', 'features', 'match', 'homography' (with refinement), 'warp'.
    """

    images: list[np.ndarray]
    masks: list[np.ndarray]
    homographies: list[np.ndarray]
    reference: int
    warped: list[bool]
    messages: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """Plausibility limits for a homography between brackets of one scene (hand-held shake).

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


def _scale_matrix(sx: float, sy: float) -> np.ndarray:
    """Full-resolution -> scaled pixel coordinates (pixel centres kept, as INTER_AREA does)."""
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)


def _resized(grey: np.ndarray, side: int | None) -> np.ndarray:
    h, w = grey.shape
    if not side or max(h, w) <= side:
        return grey
    s = side / max(h, w)
    return cv2.resize(grey, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)


class _Frame:
    """Per-frame working data: normalised uint8 grey copies (small for SIFT, fine for refinement),
    their full-res -> copy coordinate maps, and SIFT keypoints/descriptors of the small copy."""

    def __init__(self, image: np.ndarray, max_side: int | None, refine_side: int | None, refine: bool, equalize: bool):
        h, w = image.shape[:2]
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        fine = _resized(grey, refine_side) if refine else grey
        small = _resized(fine if max_side and max(fine.shape) >= max_side else grey, max_side)
        small = cv2.convertScaleAbs(small, alpha=255.0)
        lut, self.gamma, self.agc_class = agc_lut(small)
        if equalize:
            hist = np.bincount(lut[small.ravel()], minlength=256).cumsum()
            lo = hist[hist > 0][0]
            eq = np.clip(np.round((hist - lo) * 255.0 / max(hist[-1] - lo, 1)), 0, 255).astype(np.uint8)
            lut = eq[lut]
        self.small = cv2.LUT(small, lut)
        self.fine = cv2.LUT(cv2.convertScaleAbs(fine, alpha=255.0), lut) if refine else None
        self.to_small = _scale_matrix(self.small.shape[1] / w, self.small.shape[0] / h)
        self.to_fine = _scale_matrix(fine.shape[1] / w, fine.shape[0] / h)
        self.points = np.zeros((0, 2), np.float32)
        self.desc = np.zeros((0, 128), np.float32)
        self._normed: np.ndarray | None = None
        self._corners: np.ndarray | None = None

    def normed(self) -> np.ndarray:
        """The fine copy, locally contrast-normalised (computed once)."""
        if self._normed is None:
            self._normed = _local_contrast(self.fine)
        return self._normed

    def corners(self) -> np.ndarray:
        """Shi-Tomasi corners of the fine copy, (N, 1, 2) float32 (computed once)."""
        if self._corners is None:
            c = cv2.goodFeaturesToTrack(self.fine, _LK_POINTS // 2, 0.01, max(5, max(self.fine.shape) // 64), blockSize=5)
            self._corners = np.zeros((0, 1, 2), np.float32) if c is None else c.astype(np.float32).reshape(-1, 1, 2)
        return self._corners

    def detect(self, sift) -> None:
        kps, desc = sift.detectAndCompute(self.small, None)
        if desc is not None and len(kps):
            self.points = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
            self.desc = desc


def _match(moving: _Frame, ref: _Frame, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowe-ratio matches moving -> ref as two (N, 2) float32 point arrays (small-copy coordinates)."""
    if len(moving.desc) < 2 or len(ref.desc) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(moving.desc, ref.desc, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    src = moving.points[[m.queryIdx for m in good]].reshape(-1, 2)
    dst = ref.points[[m.trainIdx for m in good]].reshape(-1, 2)
    return src, dst


def _local_contrast(grey: np.ndarray, size: int = 9) -> np.ndarray:
    """Local mean/deviation normalisation of a uint8 image, back to uint8 (128 +- 40 per sigma).

    Removes what AGC and equalisation leave of the exposure difference, so Lucas-Kanade's
    brightness-constancy assumption holds between brackets.
    """
    f = np.float32(grey)
    mean = cv2.blur(f, (size, size))
    sq = cv2.sqrBoxFilter(f, cv2.CV_32F, (size, size))
    std = cv2.sqrt(cv2.max(cv2.subtract(sq, cv2.multiply(mean, mean)), 4.0))
    return cv2.convertScaleAbs(cv2.divide(cv2.subtract(f, mean), std), alpha=40.0, beta=128.0)


def _refine(moving: _Frame, ref: _Frame, hom: np.ndarray, ref_pts: np.ndarray) -> np.ndarray | None:
    """Sub-pixel refinement of a full-res homography on the fine copies, or None when it fails.

    The moving copy is pre-warped by the coarse homography; the reference's inlier points and
    Shi-Tomasi corners are tracked into it by pyramidal Lucas-Kanade on locally normalised images,
    checked by tracking back, and the residual homography fitted (RANSAC) on the survivors is
    composed with the coarse one.
    """
    if moving.fine is None or ref.fine is None:
        return None
    h, w = ref.fine.shape
    coarse = ref.to_fine @ hom @ np.linalg.inv(moving.to_fine)
    pts = cv2.perspectiveTransform(ref_pts.reshape(-1, 1, 2).astype(np.float64), ref.to_fine).astype(np.float32)
    if len(pts) > _LK_POINTS // 2:
        pts = pts[:: int(np.ceil(2 * len(pts) / _LK_POINTS))]
    pts = np.ascontiguousarray(np.concatenate([pts, ref.corners()]))
    if len(pts) < 12:
        return None
    warped = cv2.warpPerspective(moving.normed(), coarse, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01)
    lk = {"winSize": (21, 21), "maxLevel": 2, "criteria": crit}
    fwd, st1, _ = cv2.calcOpticalFlowPyrLK(ref.normed(), warped, pts, None, **lk)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(warped, ref.normed(), fwd, None, **lk)
    ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm((back - pts).reshape(-1, 2), axis=1) < 0.5)
    if ok.sum() < 12:
        return None
    resid, inl = cv2.findHomography(fwd[ok], pts[ok], cv2.RANSAC, 1.0, maxIters=500, confidence=0.999)
    if resid is None or inl is None or int(inl.sum()) < 12:
        return None
    full = np.linalg.inv(ref.to_fine) @ resid @ coarse @ moving.to_fine
    return full / full[2, 2]


def _estimate(moving: _Frame, ref: _Frame, ratio: float, ransac_px: float, limits: Limits,
              size: tuple[int, int], timings: dict) -> tuple[np.ndarray | None, str]:
    """Full-resolution homography moving -> ref, or (None, reason)."""
    t = time.perf_counter()
    src, dst = _match(moving, ref, ratio)
    timings["match"] += time.perf_counter() - t
    t = time.perf_counter()
    try:
        if len(src) < max(4, limits.min_inliers):
            return None, f"only {len(src)} feature matches (need {limits.min_inliers})"
        hom, inl = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, ransac_px, maxIters=2000, confidence=0.999)
        n_in = int(inl.sum()) if inl is not None else 0
        if hom is None or n_in < limits.min_inliers:
            return None, f"only {n_in} inlier matches (need {limits.min_inliers})"
        full = np.linalg.inv(ref.to_small) @ hom @ moving.to_small
        full /= full[2, 2]
        why = check_homography(full, size[0], size[1], limits)
        if why:
            return None, f"{why} from {n_in} inliers"
        inl_ref = cv2.perspectiveTransform(dst[inl.ravel() > 0].reshape(-1, 1, 2).astype(np.float64),
                                           np.linalg.inv(ref.to_small))
        fine = _refine(moving, ref, full, inl_ref)
        if fine is not None and check_homography(fine, size[0], size[1], limits) is None:
            return fine, f"{n_in} inliers, refined"
        return full, f"{n_in} inliers"
    finally:
        timings["homography"] += time.perf_counter() - t


def _accept(result: AlignResult, i: int, hom: np.ndarray, w: int, h: int, snap_px: float) -> None:
    """Record frame ``i``'s homography; one that moves no corner by ``snap_px`` stays identity."""
    if corner_shift(hom, w, h) >= snap_px:
        result.homographies[i], result.warped[i] = hom, True


def align_brackets(
    images: list[np.ndarray],
    reference: int,
    *,
    max_side: int | None = 320,
    n_features: int = 1000,
    ratio: float = 0.75,
    ransac_px: float = 1.0,
    refine_side: int | None = 640,
    equalize: bool = True,
    snap_px: float = 0.25,
    limits: Limits = Limits(),
) -> AlignResult:
    """Register every frame to ``images[reference]`` with one homography each.

    Args:
        images: 1-3 float32 (H, W, 3) RGB frames in [0, 1] of one size (any exposure order).
        reference: index of the frame the others are warped onto.
        max_side: longest side of the grey copies SIFT runs on (None or 0: full size).
        n_features: most SIFT keypoints kept per frame.
        ratio: Lowe's ratio-test threshold.
        ransac_px: RANSAC reprojection threshold in pixels of the small copies.
        refine_side: longest side of the copies used for sub-pixel refinement (None: full size,
            0: no refinement).
        equalize: histogram-equalise the AGC'd grey copies (more matches between far-apart exposures).
        snap_px: a homography moving no corner by this many pixels counts as "already aligned":
            identity, frame not resampled.
        limits: plausibility limits; a homography outside them falls back to identity.

    Returns:
        :class:`AlignResult`.

    Raises:
        EdgemefError: no frames, mismatched sizes or a reference index out of range.
    """
    if not images:
        raise EdgemefError("align: no frames given")
    if not 0 <= reference < len(images):
        raise EdgemefError(f"align: reference index {reference} out of range for {len(images)} frames")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1 or len(np.shape(images[0])) != 3 or np.shape(images[0])[2] != 3:
        raise EdgemefError(f"align: frames must share one (H, W, 3) shape, got {sorted(shapes)}")
    h, w = np.shape(images[0])[:2]
    timings = dict.fromkeys(STAGES, 0.0)
    n = len(images)
    out = [np.ascontiguousarray(im, np.float32) for im in images]
    result = AlignResult(out, [np.ones((h, w), bool) for _ in range(n)], [np.eye(3) for _ in range(n)],
                         reference, [False] * n, timings=timings)
    if n == 1:
        return result
    t = time.perf_counter()
    refine = refine_side is None or refine_side > 0
    frames = [_Frame(im, max_side, refine_side, refine, equalize) for im in out]
    timings["agc"] += time.perf_counter() - t
    t = time.perf_counter()
    sift = cv2.SIFT_create(nfeatures=n_features)
    for f in frames:
        f.detect(sift)
    timings["features"] += time.perf_counter() - t
    reasons: dict[int, str] = {}
    for i in range(n):
        if i != reference:
            hom, why = _estimate(frames[i], frames[reference], ratio, ransac_px, limits, (w, h), timings)
            if hom is None:
                reasons[i] = why
            else:
                _accept(result, i, hom, w, h, snap_px)
    # a frame that failed against the reference may still register through a registered neighbour
    for i in sorted(reasons):
        near = sorted((j for j in range(n) if j != reference and j not in reasons), key=lambda j: abs(j - i))
        for j in near:
            hom, _ = _estimate(frames[i], frames[j], ratio, ransac_px, limits, (w, h), timings)
            chained = None if hom is None else result.homographies[j] @ hom
            if chained is not None and check_homography(chained / chained[2, 2], w, h, limits) is None:
                _accept(result, i, chained / chained[2, 2], w, h, snap_px)
                result.messages.append(f"frame {i}: registered through frame {j} ({reasons.pop(i)} against the reference)")
                break
    for i, why in sorted(reasons.items()):
        result.messages.append(f"frame {i}: {why}; not warped")
    t = time.perf_counter()
    for i in range(n):
        if result.warped[i]:
            out[i], result.masks[i] = warp_to_reference(out[i], result.homographies[i], out[reference])
    timings["warp"] += time.perf_counter() - t
    return result
