"""Fused reference labels: exposure fusion of a clean, dense exposure stack of the radiance.

:func:`exposure_fusion` is Mertens et al. (2007) exposure fusion (contrast x saturation x
well-exposedness weights, Laplacian-pyramid blending), written for float32 speed; it matches
``cv2.createMergeMertens(1, 1, 1)`` (OpenCV's default leaves well-exposedness out) to float
rounding, and is faster on small frames.
"""
from __future__ import annotations

import cv2
import numpy as np

from edgemef.data.camera import SENSITIVITY, Camera
from edgemef.data.fastops import expand3, luminance, quantiles, scale_channels

_SIGMA = 0.2
LABEL_FLOOR = 0.01  # weight floor used for labels: flat regions take their best-exposed frame


_SUMS = np.array([[1.0, 1.0, 1.0]], np.float32)


def _weights(img: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Mertens weight: |Laplacian of grey| x channel std x well-exposedness, ``(H, W)``.

    ``floor`` is added to the contrast and saturation terms so that in flat, grey regions the
    well-exposedness decides (plain Mertens averages all frames there). Uses sum(x^2) and
    mean(x) for both the channel variance and sum((x - 0.5)^2).
    """
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    contrast = cv2.Laplacian(gray, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT_101)
    mean = cv2.transform(img, _SUMS * np.float32(1.0 / 3.0)).reshape(gray.shape)
    sq = cv2.transform(img * img, _SUMS).reshape(gray.shape)
    sat = cv2.sqrt(np.maximum(sq * np.float32(1.0 / 3.0) - mean * mean, 0.0))
    expo = cv2.exp((sq - np.float32(3.0) * mean + np.float32(0.75)) * np.float32(-1.0 / (2 * _SIGMA ** 2)))
    w = np.abs(contrast)
    if floor:
        w += np.float32(floor)
        sat += np.float32(floor)
    w *= sat
    w *= expo
    w += np.float32(1e-12)
    return w


def exposure_fusion(frames: list[np.ndarray], levels: int | None = None, floor: float = 0.0,
                    coarse_weights: bool = False) -> np.ndarray:
    """Mertens exposure fusion of float32 RGB frames ``(H, W, 3)`` in [0, 1] (result not clipped).

    Args:
        levels: pyramid depth (default: down to about 2x2).
        floor: added to the contrast and saturation weights (0 = the paper / OpenCV).
        coarse_weights: compute the weights on the half-resolution frames and upsample them for
            the finest band (about 25 % faster; the fine-detail selection is slightly smoother).
    """
    h, w = frames[0].shape[:2]
    if levels is None:
        levels = max(1, int(np.log2(min(h, w))) - 1)
    downs = [cv2.pyrDown(f) for f in frames]
    if coarse_weights:
        w1 = [_weights(d, floor) for d in downs]
        inv = np.float32(1.0) / np.sum(w1, axis=0)
        w1 = [wt * inv for wt in w1]
        w0 = [cv2.pyrUp(wt, dstsize=(w, h)) for wt in w1]
    else:
        w0 = [_weights(f, floor) for f in frames]
        inv = np.float32(1.0) / np.sum(w0, axis=0)
        w0 = [wt * inv for wt in w0]
        w1 = [cv2.pyrDown(wt) for wt in w0]
    acc: list[np.ndarray] = []
    for k, img in enumerate(frames):
        gimg, down, gw = img, downs[k], w0[k]
        for lv in range(levels + 1):
            if lv < levels:
                if lv > 0:
                    down = cv2.pyrDown(gimg)
                band = gimg - cv2.pyrUp(down, dstsize=(gimg.shape[1], gimg.shape[0]))
            else:
                band = gimg.copy()
            band *= expand3(gw)
            if k == 0:
                acc.append(band)
            else:
                acc[lv] += band
            if lv < levels:
                gimg, gw = down, (w1[k] if lv == 0 else cv2.pyrDown(gw))
    out = acc[-1]
    for band in reversed(acc[:-1]):
        out = cv2.pyrUp(out, dstsize=(band.shape[1], band.shape[0]))
        out += band
    return out


def label_times(cam: Camera, radiance: np.ndarray, max_frames: int = 4, step_ev: float = 3.0) -> list[float]:
    """Exposure times for a stack that spans the scene: from the one that puts the brightest
    0.5 % on light mid-tones (linear 0.3) to the one that lifts the darkest 1 % to mid-grey."""
    lum = luminance(scale_channels(radiance[::2, ::2], cam.wb))
    lo, hi = quantiles(lum, [1.0, 99.5])
    t_short = 0.3 / (SENSITIVITY * max(hi, 1e-12))
    t_long = cam.inverse(0.5) / (SENSITIVITY * max(lo, 1e-12))
    span = np.log2(max(t_long / t_short, 1.0))
    n = int(np.clip(np.ceil(span / step_ev) + 1, 3, max_frames))
    if span < 2.0:  # low range: a stack around the middle
        mid = np.sqrt(t_short * t_long)
        t_short, t_long = mid / 2.0, mid * 2.0
    return list(np.geomspace(t_short, t_long, n))


def clean_frames(cam: Camera, radiance: np.ndarray, times: list[float]) -> list[np.ndarray]:
    """Noise-free, unquantised frames for several exposure times, sharing one log-radiance pass.

    Each frame is ``R(min(M @ radiance * K * t, 1))``; as a function of log2 exposure this is a
    smooth 1-D curve, tabulated at 256 knots over the image's log range and interpolated with
    ``cv2.LUT`` (error ~1e-4, up to ~1e-2 right at the clipping kink).
    """
    s = cv2.transform(radiance, cam.matrix * np.float32(SENSITIVITY))
    z = cv2.log(np.maximum(s, np.float32(1e-12)))
    z *= np.float32(1.0 / np.log(2.0))
    hi = float(z.max())
    lo = max(float(z.min()), hi - 28.0)
    u = (z - np.float32(lo)) * np.float32(255.0 / max(hi - lo, 1e-6))
    np.clip(u, 0.0, 255.0, out=u)
    i = cv2.convertScaleAbs(u, alpha=1.0, beta=-0.5)  # floor
    frac = cv2.subtract(u, i, dtype=cv2.CV_32F)
    knots = np.exp2(np.linspace(lo, hi, 256))
    frames = []
    for t in times:
        v = cam.response_exact(knots * t).astype(np.float32)
        d = np.append(np.diff(v), np.float32(0.0)).astype(np.float32)
        frames.append(cv2.LUT(i, v) + frac * cv2.LUT(i, d))
    return frames


def render_label(cam: Camera, radiance: np.ndarray, max_frames: int = 4) -> np.ndarray:
    """The fused reference: noise-free frames from the same camera, exposure-fused, in [0, 1]."""
    frames = clean_frames(cam, radiance, label_times(cam, radiance, max_frames))
    return np.clip(exposure_fusion(frames, floor=LABEL_FLOOR, coarse_weights=True), 0.0, 1.0)
