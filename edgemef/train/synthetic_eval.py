"""A synthetic LABELLED test set: score fusion methods against the renderer's labels.

The sets come from :class:`edgemef.data.hdr_sets.SyntheticHDRSets` on a seed no training run
uses (:data:`SYNTHETIC_SEED`; training pools use small seeds), so the networks have never seen
them. Each method fuses the under/over pair; :func:`edgemef.metrics.score` computes PSNR, SSIM,
MS-SSIM against the label and VIF with the label as the reference (all on 8-bit images, as the
metrics do everywhere). Networks receive the renderer's exposure times (STHDR's ratios); for an
HDR network PSNR-mu (PSNR of mu-law tone-mapped radiance against the same HDR target it trains
on) is added.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from edgemef.metrics import score

SYNTHETIC_SEED = 10_000
SYNTHETIC_METRICS = ("psnr", "ssim", "ms_ssim", "vif")


@dataclass
class LabelledSet:
    """One test set: (under, over) RGB, their exposure times, the label, the HDR target."""

    name: str
    images: list[np.ndarray]
    times: list[float]
    label: np.ndarray
    hdr: np.ndarray


def synthetic_sets(n: int, seed: int = SYNTHETIC_SEED, size=(256, 256), ev_gap=(2.0, 6.0),
                   progress: bool = True) -> list[LabelledSet]:
    """Render the first ``n`` sets of the test sequence (deterministic in ``seed``)."""
    from edgemef.data.hdr_sets import SyntheticHDRSets

    src = SyntheticHDRSets(seed=seed, size=tuple(size), ev_gap=tuple(ev_gap))
    out = []
    for i in tqdm(range(n), desc="rendering test sets", disable=not progress, leave=False):
        hs = src[i]
        bs = hs.brackets
        out.append(LabelledSet(f"synthetic_{seed}_{i:03d}", [bs.under, bs.over], list(hs.times("under,over")),
                               np.clip(bs.label, 0.0, 1.0), hs.camera_radiance("over")))
    return out


def psnr_mu(pred: np.ndarray, target: np.ndarray, mu: float = 5000.0) -> float:
    """PSNR (dB, peak 1) between mu-law tone-mapped radiances, both clipped to [0, 1] after mapping."""
    t = lambda x: np.clip(np.log1p(mu * np.maximum(x, 0.0)) / np.log1p(mu), 0.0, 1.0)  # noqa: E731
    mse = float(np.mean((t(pred.astype(np.float64)) - t(target.astype(np.float64))) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def score_synthetic(fn, sets: list[LabelledSet], names=SYNTHETIC_METRICS, desc: str = "synthetic") -> dict:
    """Score ``fn`` on every set: {'per_scene': {...}, 'mean': {...}, 'count': n}.

    ``fn(images)`` -> RGB in [0, 1]; a network method (``takes_times`` True) is called as
    ``fn(images, times)`` and may leave its radiance in ``fn.last_hdr`` (then PSNR-mu is added).
    """
    per = {}
    for s in tqdm(sets, desc=desc, leave=False):
        fused = fn(s.images, s.times) if getattr(fn, "takes_times", False) else fn(s.images)
        r = score(np.clip(fused, 0.0, 1.0), [s.label], reference=s.label, names=list(names))
        hdr = getattr(fn, "last_hdr", None)
        if hdr is not None:
            r["psnr_mu"] = psnr_mu(hdr, s.hdr)
        per[s.name] = r
    keys = list(next(iter(per.values())).keys()) if per else []
    mean = {k: float(np.mean([p[k] for p in per.values()])) for k in keys}
    return {"per_scene": per, "mean": mean, "count": len(per)}
