"""The frames' own tone curves (edgemef.tonecurve) and the 'exposure-fusion' display that uses
them: hand-made curves, a camera that is not a pure gamma, and a real mefb-dev pair."""
from __future__ import annotations

import numpy as np
import pytest

from edgemef.errors import EdgemefError
from edgemef.fusion import fuse_mertens
from edgemef.hdr import estimate_exposure_ratios, merge_radiance
from edgemef.metrics import score
from edgemef.netio import reexpose, tonemap
from edgemef.tonecurve import _nondecreasing, apply_curve, fit_curve, match_frames


def s_curve(v: np.ndarray) -> np.ndarray:
    """A camera look that is not the identity: a smoothstep shoulder and toe on [0, 1]."""
    return (v * v * (3 - 2 * v)).astype(np.float32)


def test_pool_adjacent_violators_is_the_weighted_monotone_fit():
    np.testing.assert_allclose(_nondecreasing(np.array([1.0, 2, 3]), np.ones(3)), [1, 2, 3])
    np.testing.assert_allclose(_nondecreasing(np.array([1.0, 3, 2, 4]), np.ones(4)), [1, 2.5, 2.5, 4])
    # a heavy bin wins the pooled value
    np.testing.assert_allclose(_nondecreasing(np.array([3.0, 1.0]), np.array([3.0, 1.0])), [2.5, 2.5])


def test_fit_recovers_a_known_curve_and_is_monotone_even_on_noisy_data():
    rng = np.random.default_rng(0)
    v = rng.uniform(0, 1, 200_000).astype(np.float32)
    curve = fit_curve(v, s_curve(v))
    grid = np.linspace(0.02, 0.98, 50, dtype=np.float32)
    np.testing.assert_allclose(apply_curve(grid, curve), s_curve(grid), atol=0.01)
    noisy = fit_curve(v, np.clip(s_curve(v) + rng.normal(0, 0.2, v.shape), 0, 1))
    assert np.all(np.diff(noisy[1]) >= 0)


def test_an_empty_range_stays_near_the_identity():
    """Bins no pixel falls in keep the identity (the prior), so a sparse frame is not bent."""
    v = np.full(10_000, 0.1, np.float32)
    knots, values = fit_curve(v, np.full_like(v, 0.3))
    assert abs(values[int(0.1 * len(knots))] - 0.3) < 0.03  # the bin that holds the data
    top = knots > 0.5
    np.testing.assert_allclose(values[top], np.maximum(knots[top], 0.3), atol=1e-9)


def test_matching_gives_the_frames_back_from_the_true_radiance_of_a_non_gamma_camera():
    rng = np.random.default_rng(1)
    radiance = np.exp(rng.uniform(np.log(0.01), np.log(8.0), (256, 256, 3))).astype(np.float32)
    times = [1 / 8, 1.0]
    frames = [s_curve(v) for v in reexpose(radiance, times)]  # the camera: gamma 2.2, then an S
    plain = reexpose(radiance, times)
    matched = match_frames(plain, frames)
    for p, m, f in zip(plain, matched, frames):
        assert np.abs(m - f).mean() < 0.1 * np.abs(p - f).mean()
        assert np.abs(m - f).max() < 0.03
    shown = tonemap(radiance, "exposure-fusion", ratios=np.array(times), frames=frames)
    np.testing.assert_allclose(shown, fuse_mertens(matched), atol=1e-6)


def test_matched_display_scores_higher_on_a_real_pair_merged_classically(real_pair):
    ratios = estimate_exposure_ratios(real_pair)
    radiance = merge_radiance(real_pair, ratios)
    plain = score(tonemap(radiance, "exposure-fusion", ratios=ratios.ratios), real_pair, names=["mef_ssim"])
    matched = score(tonemap(radiance, "exposure-fusion", ratios=ratios.ratios, frames=real_pair),
                    real_pair, names=["mef_ssim"])
    assert matched["mef_ssim"] > plain["mef_ssim"]


def test_frames_must_pair_with_the_ratios_and_the_radiance():
    hdr = np.ones((8, 8, 3), np.float32)
    frame = np.full((8, 8, 3), 0.5, np.float32)
    with pytest.raises(EdgemefError, match="2 frames for 3 exposure ratios"):
        tonemap(hdr, "exposure-fusion", ratios=np.array([0.25, 0.5, 1.0]), frames=[frame, frame])
    with pytest.raises(EdgemefError, match="another size"):
        tonemap(hdr, "exposure-fusion", ratios=np.array([0.25, 1.0]), frames=[frame, frame[:4]])
    with pytest.raises(ValueError, match="differ in size"):
        match_frames([frame], [frame[:4]])
