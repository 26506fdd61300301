"""Bracket alignment: AGC -> SIFT on a downscaled grey copy -> Lowe ratio -> RANSAC homography -> warp.

Every non-reference frame is registered to the reference frame. Features come from a small grey
copy of each frame (longest side ``max_side``) tone-normalised by adaptive gamma correction
(:mod:`edgemef.agc`, then histogram equalisation by default) so that differently exposed frames look
alike. The homography found there (MAGSAC) is refined to sub-pixel accuracy on a finer copy
(longest side ``refine_side``) by Lucas-Kanade tracking after a coarse pre-warp
(:func:`edgemef.homography.refine_homography`), scaled to full resolution, and used to warp the
full-resolution frame (:func:`edgemef.warp.warp_to_reference`): out-of-frame pixels are filled from
the reference frame re-exposed like the warped one, and ``masks`` say which pixels are real.

A frame that does not register on the small copies is retried once on larger ones
(``retry_side``), then through an already registered neighbour; when all fails (too few matches or
inliers, or an implausible homography: flipped, degenerate, too much scale, shear, perspective or
shift) it is left as it is, with an identity homography and a message saying why. Alignment never
raises for content reasons.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from edgemef.agc import agc_lut
from edgemef.errors import EdgemefError
from edgemef.homography import Limits, check_homography, corner_shift, local_contrast, refine_homography, scale_matrix
from edgemef.io import as_image
from edgemef.warp import warp_to_reference

__all__ = ["STAGES", "AlignResult", "Limits", "align_brackets", "check_homography", "corner_shift"]
STAGES = ("agc", "features", "match", "homography", "warp")
_LK_POINTS = 400  # most points tracked by the refinement (half matched keypoints, half corners)


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


class _Copy:
    """A tone-normalised uint8 grey copy of a frame at one size, with what is computed on it."""

    def __init__(self, img: np.ndarray, full_w: int, full_h: int):
        self.img = img
        self.to = scale_matrix(img.shape[1] / full_w, img.shape[0] / full_h)  # full-res -> copy
        self.points: np.ndarray | None = None  # SIFT keypoints (N, 2), descriptors (N, 128)
        self.desc: np.ndarray | None = None
        self._normed: np.ndarray | None = None
        self._corners: np.ndarray | None = None

    def normed(self) -> np.ndarray:
        if self._normed is None:
            self._normed = local_contrast(self.img)
        return self._normed

    def corners(self, n: int) -> np.ndarray:
        """Up to ``n`` Shi-Tomasi corners, (N, 1, 2) float32."""
        if self._corners is None:
            c = cv2.goodFeaturesToTrack(self.img, n, 0.01, max(5, max(self.img.shape) // 64), blockSize=5)
            self._corners = np.zeros((0, 1, 2), np.float32) if c is None else c.astype(np.float32).reshape(-1, 1, 2)
        return self._corners


class _Frame:
    """A frame's grey image, its tone curve (AGC, then optional equalisation) and cached copies."""

    def __init__(self, image: np.ndarray, lut_side: int | None, equalize: bool):
        self.grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        self.h, self.w = self.grey.shape
        self._floats: dict[int, np.ndarray] = {}
        small = cv2.convertScaleAbs(self._resized(lut_side), alpha=255.0)
        lut, self.gamma, self.agc_class = agc_lut(small)
        if equalize:
            cdf = np.bincount(lut[small.ravel()], minlength=256).cumsum()
            lo = cdf[cdf > 0][0]
            lut = np.clip(np.round((cdf - lo) * 255.0 / max(cdf[-1] - lo, 1)), 0, 255).astype(np.uint8)[lut]
        self.lut = lut
        self._copies: dict[int, _Copy] = {}

    def side(self, side: int | None) -> int:
        """The longest side a copy requested at ``side`` has (never upscaled)."""
        return max(self.h, self.w) if not side else min(side, max(self.h, self.w))

    def _resized(self, side: int | None) -> np.ndarray:
        key = self.side(side)
        if key >= max(self.h, self.w):
            return self.grey
        if key not in self._floats:
            s = key / max(self.h, self.w)
            size = (max(8, round(self.w * s)), max(8, round(self.h * s)))
            self._floats[key] = cv2.resize(self.grey, size, interpolation=cv2.INTER_AREA)
        return self._floats[key]

    def copy(self, side: int | None) -> _Copy:
        key = self.side(side)
        if key not in self._copies:
            img = cv2.LUT(cv2.convertScaleAbs(self._resized(side), alpha=255.0), self.lut)
            self._copies[key] = _Copy(img, self.w, self.h)
        return self._copies[key]

    def features(self, side: int | None, sift) -> _Copy:
        c = self.copy(side)
        if c.desc is None:
            kps, desc = sift.detectAndCompute(c.img, None)
            c.points = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
            c.desc = desc if desc is not None and len(kps) else np.zeros((0, 128), np.float32)
        return c


def _match(moving: _Copy, ref: _Copy, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowe-ratio matches moving -> ref as two (N, 2) float32 point arrays (copy coordinates)."""
    if len(moving.desc) < 2 or len(ref.desc) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(moving.desc, ref.desc, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    src = moving.points[[m.queryIdx for m in good]].reshape(-1, 2)
    dst = ref.points[[m.trainIdx for m in good]].reshape(-1, 2)
    return src, dst


@dataclass
class _Options:
    max_side: int | None
    retry_side: int | None
    refine_side: int | None  # None: full size; 0: no refinement
    ratio: float
    ransac_px: float
    limits: Limits
    sift: object
    timings: dict


def _estimate(moving: _Frame, ref: _Frame, side: int | None, o: _Options) -> tuple[np.ndarray | None, str]:
    """Full-resolution homography moving -> ref from features on copies at ``side``, or (None, why)."""
    t = time.perf_counter()
    cm, cr = moving.features(side, o.sift), ref.features(side, o.sift)
    o.timings["features"] += time.perf_counter() - t
    t = time.perf_counter()
    src, dst = _match(cm, cr, o.ratio)
    o.timings["match"] += time.perf_counter() - t
    t = time.perf_counter()
    try:
        need = o.limits.min_inliers
        if len(src) < max(4, need):
            return None, f"only {len(src)} feature matches (need {need})"
        hom, inl = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, o.ransac_px, maxIters=2000, confidence=0.999)
        n_in = int(inl.sum()) if inl is not None and hom is not None else 0
        if n_in < need:
            return None, f"only {n_in} inlier matches (need {need})"
        full = np.linalg.inv(cr.to) @ hom @ cm.to
        full /= full[2, 2]
        why = check_homography(full, ref.w, ref.h, o.limits)
        if why:
            return None, f"{why} from {n_in} inliers"
        if o.refine_side == 0 or ref.side(o.refine_side) < ref.side(side):
            return full, ""
        fm, fr = moving.copy(o.refine_side), ref.copy(o.refine_side)
        keep = dst[inl.ravel() > 0].reshape(-1, 1, 2).astype(np.float64)
        pts = cv2.perspectiveTransform(keep, fr.to @ np.linalg.inv(cr.to)).astype(np.float32)
        pts = np.concatenate([pts[:: max(1, int(np.ceil(2 * len(pts) / _LK_POINTS)))], fr.corners(_LK_POINTS // 2)])
        fine = refine_homography(fr.normed(), fm.normed(), fr.to @ full @ np.linalg.inv(fm.to), pts, need)
        if fine is not None:
            fine = np.linalg.inv(fr.to) @ fine @ fm.to
            if check_homography(fine, ref.w, ref.h, o.limits) is None:
                return fine / fine[2, 2], ""
        return full, ""
    finally:
        o.timings["homography"] += time.perf_counter() - t


def _register(moving: _Frame, ref: _Frame, o: _Options) -> tuple[np.ndarray | None, str]:
    """Estimate on the small copies, then once more on larger ones if that failed."""
    hom, why = _safe_estimate(moving, ref, o.max_side, o)
    if hom is None and o.retry_side is not None and ref.side(o.retry_side) > ref.side(o.max_side):
        hom, why2 = _safe_estimate(moving, ref, o.retry_side, o)
        why = f"{why}; at {ref.side(o.retry_side)} px: {why2}"
    return hom, why


def _safe_estimate(moving: _Frame, ref: _Frame, side: int | None, o: _Options) -> tuple[np.ndarray | None, str]:
    try:
        return _estimate(moving, ref, side, o)
    except cv2.error as e:  # degenerate input OpenCV refuses: a fallback, never a crash
        return None, f"OpenCV could not register it ({(e.err or str(e)).strip().splitlines()[0]})"


def align_brackets(
    images: list[np.ndarray],
    reference: int,
    *,
    max_side: int | None = 256,
    n_features: int = 1000,
    ratio: float = 0.75,
    ransac_px: float = 1.0,
    refine_side: int | None = 640,
    retry_side: int | None = 640,
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
        ransac_px: RANSAC (MAGSAC) reprojection threshold in pixels of the SIFT copies.
        refine_side: longest side of the copies for sub-pixel refinement (None: full size, 0: off);
            skipped when smaller than the SIFT copies.
        retry_side: longest side of the copies for a second attempt when the first fails (None: none).
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
    images = [as_image(im, f"align: frame {i}") for i, im in enumerate(images)]
    if not 0 <= reference < len(images):
        raise EdgemefError(f"align: reference index {reference} out of range for {len(images)} frames")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1 or len(np.shape(images[0])) != 3 or np.shape(images[0])[2] != 3:
        raise EdgemefError(f"align: frames must share one (H, W, 3) shape, got {sorted(shapes)}")
    h, w = np.shape(images[0])[:2]
    n = len(images)
    out = [np.ascontiguousarray(im, np.float32) for im in images]
    timings = dict.fromkeys(STAGES, 0.0)
    result = AlignResult(out, [np.ones((h, w), bool) for _ in range(n)], [np.eye(3) for _ in range(n)],
                         reference, [False] * n, timings=timings)
    if n == 1:
        return result
    t = time.perf_counter()
    frames = [_Frame(im, max_side, equalize) for im in out]
    for f in frames:  # the copies every registration uses
        f.copy(max_side)
        if refine_side != 0:
            f.copy(refine_side)
    timings["agc"] += time.perf_counter() - t
    o = _Options(max_side, retry_side, refine_side, ratio, ransac_px, limits, cv2.SIFT_create(nfeatures=n_features), timings)
    reasons: dict[int, str] = {}
    for i in range(n):
        if i != reference:
            hom, why = _register(frames[i], frames[reference], o)
            if hom is None:
                reasons[i] = why
            else:
                _accept(result, i, hom, snap_px)
    # a frame that failed against the reference may still register through a registered neighbour
    for i in sorted(reasons):
        for j in sorted((j for j in range(n) if j != reference and j not in reasons), key=lambda j: abs(j - i)):
            hom, _ = _register(frames[i], frames[j], o)
            chained = None if hom is None else result.homographies[j] @ hom
            if chained is not None and check_homography(chained / chained[2, 2], w, h, limits) is None:
                _accept(result, i, chained / chained[2, 2], snap_px)
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


def _accept(result: AlignResult, i: int, hom: np.ndarray, snap_px: float) -> None:
    """Record frame ``i``'s homography; one moving no corner by ``snap_px`` stays identity."""
    h, w = result.masks[i].shape
    if corner_shift(hom, w, h) >= snap_px:
        result.homographies[i], result.warped[i] = hom, True
