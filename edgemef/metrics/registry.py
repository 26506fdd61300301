"""The metric registry and :func:`score`, which computes several metrics on one fused image."""
from __future__ import annotations

from typing import Callable

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.metrics.matlab_compat import to_uint8
from edgemef.metrics.mef_ssim import mef_ssim
from edgemef.metrics.qabf import qabf
from edgemef.metrics.reference import ms_ssim, psnr, ssim
from edgemef.metrics.sharpness import ag, ei, en, sd, sf
from edgemef.metrics.vif import vif

# Every metric, by name. Signatures differ by kind (see the three tuples below):
#   fusion metrics  fn(fused, sources) -> float
#   image metrics   fn(fused) -> float
#   reference       fn(fused, reference) -> float
METRICS: dict[str, Callable[..., float]] = {
    "mef_ssim": mef_ssim,
    "qabf": qabf,
    "vif": vif,
    "ag": ag,
    "ei": ei,
    "sf": sf,
    "sd": sd,
    "en": en,
    "psnr": psnr,
    "ssim": ssim,
    "ms_ssim": ms_ssim,
}
FUSION_METRICS = ("mef_ssim", "qabf", "vif")
IMAGE_METRICS = ("ag", "ei", "sf", "sd", "en")
REFERENCE_METRICS = ("psnr", "ssim", "ms_ssim")
NO_REFERENCE = FUSION_METRICS + IMAGE_METRICS

SUMMARIES: dict[str, str] = {
    "mef_ssim": "MEF-SSIM (Ma et al. 2015), 3 scales, as MEFB",
    "qabf": "Q^AB/F edge preservation (Xydeas & Petrovic 2000), as MEFB",
    "vif": "fusion VIF (Han et al. 2013), as MEFB",
    "ag": "average gradient",
    "ei": "edge intensity (Sobel)",
    "sf": "spatial frequency",
    "sd": "standard deviation",
    "en": "entropy (bits)",
    "psnr": "PSNR vs the reference label (dB)",
    "ssim": "SSIM vs the reference label (luma)",
    "ms_ssim": "MS-SSIM vs the reference label (luma)",
}


def parse_names(text: str | None, with_reference: bool = False) -> list[str]:
    """Metric names from a comma-separated list ('all' or None: every usable one; the label
    metrics only ``with_reference``, and the choices an error lists say the same).

    Raises:
        EdgemefError: an unknown name.
    """
    usable = NO_REFERENCE + (REFERENCE_METRICS if with_reference else ())
    if text is None or text.strip() == "all":
        return list(usable)
    names = [n.strip().lower().replace("-", "_") for n in text.split(",") if n.strip()]
    if not names:
        raise EdgemefError(f"no metric named (choose from: {', '.join(usable)}, or all)")
    bad = [n for n in names if n not in METRICS]
    if bad:
        raise EdgemefError(f"unknown metric(s) {', '.join(bad)} (choose from: {', '.join(usable)})")
    return list(dict.fromkeys(names))


def _is_gray(image: np.ndarray) -> bool:
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    return bool(np.all(image[..., 0] == image[..., 1]) and np.all(image[..., 1] == image[..., 2]))


def score(
    fused: np.ndarray,
    sources: list[np.ndarray],
    reference: np.ndarray | None = None,
    names: list[str] | tuple[str, ...] | None = None,
) -> dict[str, float]:
    """Score one fused image.

    Every image is first quantised to 8 bits (what a lossless 8-bit file would hold), since MEFB
    scores 8-bit files. When every source is gray (one channel, or three equal ones) all images
    are reduced to their first channel, as MEFB does for gray pairs.

    Args:
        fused: (H, W, 3) or (H, W), float in [0, 1] or uint8.
        sources: the 2-3 input exposures, same size and convention.
        reference: an optional ground-truth label for psnr/ssim/ms_ssim.
        names: metrics to compute; default every no-reference metric, plus the full-reference
            ones when ``reference`` is given.

    Returns:
        name -> value, in the order of ``names``.

    Raises:
        EdgemefError: an unknown name, or a full-reference metric without ``reference``.
    """
    names = list(names) if names is not None else parse_names(None, reference is not None)
    bad = [n for n in names if n not in METRICS]
    if bad:
        raise EdgemefError(f"unknown metric(s) {', '.join(bad)} (choose from: {', '.join(METRICS)})")
    needs_ref = [n for n in names if n in REFERENCE_METRICS]
    if needs_ref and reference is None:
        raise EdgemefError(f"{', '.join(needs_ref)} need a reference (ground-truth) image")

    f8 = to_uint8(fused)
    s8 = [to_uint8(s) for s in sources]
    r8 = to_uint8(reference) if reference is not None else None
    if s8 and all(_is_gray(s) for s in s8):
        first = lambda a: a if a.ndim == 2 else a[..., 0]  # noqa: E731
        f8, s8 = first(f8), [first(s) for s in s8]
        r8 = first(r8) if r8 is not None else None

    out: dict[str, float] = {}
    for n in names:
        fn = METRICS[n]
        if n in FUSION_METRICS:
            out[n] = fn(f8, s8)
        elif n in REFERENCE_METRICS:
            out[n] = fn(f8, r8)
        else:
            out[n] = fn(f8)
    return out
