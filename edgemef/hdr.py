"""HDR-imaging helpers shared by training and the runtimes (numpy only, torch-free).

HDR networks such as STHDR take each LDR frame I_i with its linearised, exposure-normalised copy
H_i = I_i ** gamma / t_i, where t_i is the frame's exposure time relative to the reference frame.
When the files carry EXIF exposure times, t_i comes from them; otherwise
:func:`estimate_exposure_ratios` estimates it from the pixels themselves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgemef.errors import EdgemefError

GAMMA = 2.2
DEFAULT_STEP = 4.0  # 2 EV: the fallback ratio between neighbouring frames when nothing can be measured


def default_reference(exposures: int) -> int:
    """Index of the reference frame: the middle one of three, the over-exposed one of two."""
    return exposures // 2


def linearise(image: np.ndarray, gamma: float = GAMMA) -> np.ndarray:
    """Display values in [0, 1] -> linear intensity ``clip(image, 0, 1) ** gamma`` (float32)."""
    return np.clip(np.asarray(image, np.float32), 0.0, 1.0) ** np.float32(gamma)


@dataclass
class ExposureRatios:
    """Exposure times relative to the reference frame.

    Attributes:
        ratios: (N,) float64, darkest first; ``ratios[reference] == 1``.
        reference: index of the reference frame.
        estimated: True when measured from the pixels, False when taken from exposure times.
        note: how they were obtained (and any fallback), for logs and result notes.
    """

    ratios: np.ndarray
    reference: int
    estimated: bool
    note: str


def _pair_ratio(dark: np.ndarray, bright: np.ndarray, gamma: float, low: float, high: float,
                min_pixels: int) -> tuple[float, str]:
    """Median of bright/dark linear intensity over values well exposed in both frames."""
    for lo, hi, how in ((low, high, ""), (0.5 * low, min(0.98, high + 0.05), " (relaxed thresholds)")):
        ok = (dark >= lo) & (dark <= hi) & (bright >= lo) & (bright <= hi)
        if int(ok.sum()) >= min_pixels:
            r = np.median(linearise(bright[ok], gamma) / linearise(dark[ok], gamma))
            return float(r), f"median over {int(ok.sum())} values{how}"
    ok = (bright < 0.98) & (dark > 0.01)
    if int(ok.sum()) >= min_pixels:
        r = linearise(bright[ok], gamma).mean() / linearise(dark[ok], gamma).mean()
        return float(r), f"mean ratio over {int(ok.sum())} values (too few well-exposed in both)"
    return DEFAULT_STEP, f"no usable pixels, assumed {DEFAULT_STEP:g}x"


def estimate_exposure_ratios(images: list[np.ndarray], reference: int | None = None, gamma: float = GAMMA,
                             low: float = 0.05, high: float = 0.9, min_pixels: int = 64,
                             max_samples: int = 1 << 18) -> ExposureRatios:
    """Estimate relative exposure times from the frames themselves (no EXIF needed).

    For each pair of neighbouring frames the ratio is the median, over values (pixels x channels)
    within [low, high] in both frames, of their ratio after linearisation with ``gamma``; the
    pair ratios are chained and divided by the reference's. Large images are subsampled to about
    ``max_samples`` pixels.

    Args:
        images: float (H, W[, C]) in [0, 1], darkest first, all the same size, at least two.
        reference: reference frame index (default :func:`default_reference`).
        gamma: display gamma the frames are linearised with.
        low, high: the well-exposed range, in display values.
        min_pixels: fewest values a pair needs before a fallback is used (said in ``note``).
        max_samples: subsample to about this many pixels per frame.

    Returns:
        :class:`ExposureRatios` with ``estimated=True``.

    What it measures: two frames of a power-law camera curve ``v = (k x) ** (1 / g)`` only reveal
    ``k ** (1 / g)``, so this returns the ratio in ``gamma``-linear units: the factor that makes
    ``I_i ** gamma / t_i`` of the frames agree where both are well exposed, which is what an HDR
    network's ``H_i`` needs. It differs from the EXIF ratio when the camera's curve is not
    ``gamma``: on the six mefb-dev pairs with EXIF times it is 2.8-3.4x the EXIF ratio on three
    (building, buildingRoad, road: an effective display gamma of about 1.65-1.7 instead of 2.2)
    and 7.6-62x on the other three (ColorChecker, flower, flowerGate2; the last two have EXIF
    ratios of 5x and 3.75x, small for their brightness gap) (measured 2026-12-01).
    """
    n = len(images)
    if n < 2:
        raise EdgemefError(f"need at least two frames to estimate exposure ratios, got {n}")
    ref = default_reference(n) if reference is None else int(reference)
    if not 0 <= ref < n:
        raise EdgemefError(f"reference frame {ref} out of range for {n} frames")
    arrs = [np.asarray(im, np.float32) for im in images]
    if len({a.shape for a in arrs}) != 1:
        raise EdgemefError(f"frames differ in size: {sorted({a.shape for a in arrs})}")
    step = max(1, int(np.sqrt(arrs[0].shape[0] * arrs[0].shape[1] / max_samples)))
    arrs = [a[::step, ::step] for a in arrs]
    times, notes = [1.0], []
    for i in range(n - 1):
        r, how = _pair_ratio(arrs[i], arrs[i + 1], gamma, low, high, min_pixels)
        if r <= 1.0:
            how += "; frame order looks reversed"
        times.append(times[-1] * r)
        notes.append(f"{i}->{i + 1}: {r:.3f}x ({how})")
    ratios = np.asarray(times, np.float64) / times[ref]
    return ExposureRatios(ratios, ref, True, "estimated from the images: " + "; ".join(notes))


def exposure_ratios(images: list[np.ndarray], times: list[float | None] | None = None,
                    reference: int | None = None, gamma: float = GAMMA) -> ExposureRatios:
    """Relative exposure times: from ``times`` (e.g. EXIF seconds) when all are known, else estimated."""
    n = len(images)
    ref = default_reference(n) if reference is None else int(reference)
    if times is not None and len(times) == n and all(t is not None and t > 0 for t in times):
        ratios = np.asarray(times, np.float64) / float(times[ref])
        return ExposureRatios(ratios, ref, False, "from exposure times")
    return estimate_exposure_ratios(images, ref, gamma)


def merge_radiance(images: list[np.ndarray], ratios: ExposureRatios | None = None,
                   gamma: float = GAMMA) -> np.ndarray:
    """The classical HDR merge (Debevec and Malik's weighted average, with a power-law camera
    curve): ``sum_i w_i I_i ** gamma / t_i / sum_i w_i`` with the hat weight
    ``w = 1 - |2 I - 1| ** 4`` (small near black and white), per value.

    Args:
        images: float (H, W[, C]) in [0, 1], darkest first, all the same size.
        ratios: their relative exposure times (default :func:`exposure_ratios`, estimated).
        gamma: the camera curve's exponent.

    Where no frame is well exposed (every weight about 0), the darkest frame's value is used
    for bright pixels (clipped white everywhere: the least radiance it can be) and the
    brightest frame's for dark ones.

    Returns:
        float32 linear radiance, 1 = the reference frame's white (no network: a baseline and a
        yardstick for HDR networks).
    """
    arrs = [np.clip(np.asarray(im, np.float32), 0.0, 1.0) for im in images]
    r = (ratios or exposure_ratios(arrs, gamma=gamma)).ratios
    if len(r) != len(arrs):
        raise EdgemefError(f"got {len(r)} exposure ratios for {len(arrs)} images")
    lin = [linearise(im, gamma) / np.float32(t) for im, t in zip(arrs, r)]
    num = np.zeros_like(arrs[0])
    den = np.zeros_like(arrs[0])
    for im, x in zip(arrs, lin):
        w = 1.0 - np.abs(2.0 * im - 1.0) ** 4
        num += w * x
        den += w
    none = den < 1e-3
    fill = np.where(arrs[0] > 0.5, lin[0], lin[-1])
    return np.where(none, fill, num / np.maximum(den, 1e-3)).astype(np.float32)
