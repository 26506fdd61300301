"""Fusion-quality metrics (numpy + OpenCV only).

No-reference fusion metrics computed as the MEFB benchmark's MATLAB code computes them
(:func:`mef_ssim`, :func:`qabf`, :func:`vif`, and the single-image :func:`ag`, :func:`ei`,
:func:`sf`, :func:`sd`, :func:`en`), full-reference ones for labelled data (:func:`psnr`,
:func:`ssim`, :func:`ms_ssim`), the registry :data:`METRICS` and :func:`score`.

Example:
    >>> from edgemef.metrics import score
    >>> score(fused, [under, over], names=["mef_ssim", "qabf"])  # doctest: +SKIP
    {'mef_ssim': 0.97..., 'qabf': 0.74...}
"""
from edgemef.metrics.mef_ssim import mef_ssim
from edgemef.metrics.qabf import qabf
from edgemef.metrics.reference import ms_ssim, psnr, ssim
from edgemef.metrics.registry import (
    FUSION_METRICS,
    IMAGE_METRICS,
    METRICS,
    NO_REFERENCE,
    REFERENCE_METRICS,
    SUMMARIES,
    parse_names,
    score,
)
from edgemef.metrics.sharpness import ag, ei, en, sd, sf
from edgemef.metrics.vif import vif

__all__ = [
    "METRICS",
    "FUSION_METRICS",
    "IMAGE_METRICS",
    "REFERENCE_METRICS",
    "NO_REFERENCE",
    "SUMMARIES",
    "score",
    "parse_names",
    "mef_ssim",
    "qabf",
    "vif",
    "ag",
    "ei",
    "sf",
    "sd",
    "en",
    "psnr",
    "ssim",
    "ms_ssim",
]
