"""MEF-SSIM: the vectorised form against a line-by-line port of the MATLAB loops, and hand values."""
from __future__ import annotations

import numpy as np
import pytest

from edgemef.errors import EdgemefError
from edgemef.metrics import mef_ssim
from edgemef.metrics.matlab_compat import gaussian_1d, rgb2gray_u8
from edgemef.metrics.mef_ssim import mef_ssim_map, mef_ssim_scales

EPS = np.finfo(np.float64).eps


def mef_ssim_loops(seq: np.ndarray, f: np.ndarray, k: float = 0.03) -> np.ndarray:
    """``mef_ssim.m`` transcribed loop by loop (slow; small images only). seq: (H, W, K)."""
    win = np.outer(gaussian_1d(11, 1.5), gaussian_1d(11, 1.5))
    ws, bd = 11, 5
    s1, s2, s3 = seq.shape
    mu = np.zeros((s1 - 2 * bd, s2 - 2 * bd, s3))
    ed = np.zeros_like(mu)
    for i in range(mu.shape[0]):
        for j in range(mu.shape[1]):
            for c in range(s3):
                b = seq[i : i + ws, j : j + ws, c]
                mu[i, j, c] = b.mean()
                ed[i, j, c] = np.sqrt(max(ws * ws * (np.mean(b * b) - mu[i, j, c] ** 2), 0)) + 0.001
    r = np.zeros(mu.shape[:2])
    for i in range(r.shape[0]):
        for j in range(r.shape[1]):
            v = seq[i : i + ws, j : j + ws, :].reshape(-1, s3)
            den = sum(np.linalg.norm(v[:, c] - mu[i, j, c]) for c in range(s3))
            sv = v.sum(1)
            r[i, j] = (np.linalg.norm(sv - sv.mean()) + EPS) / (den + EPS)
    r[r > 1] = 1 - EPS
    r[r < 0] = EPS
    p = np.minimum(np.tan(np.pi / 2 * r), 10)[..., None]
    w = (ed / ws) ** p + EPS
    w /= w.sum(2, keepdims=True)
    max_ed = ed.max(2)
    cc = (k * 255) ** 2
    q = np.zeros(r.shape)
    for i in range(r.shape[0]):
        for j in range(r.shape[1]):
            rb = sum(w[i, j, c] * (seq[i : i + ws, j : j + ws, c] - mu[i, j, c]) / ed[i, j, c] for c in range(s3))
            n = np.linalg.norm(rb)
            if n > 0:
                rb = rb / n * max_ed[i, j]
            fb = f[i : i + ws, j : j + ws]
            m1, m2 = (win * rb).sum(), (win * fb).sum()
            v1, v2 = (win * (rb - m1) ** 2).sum(), (win * (fb - m2) ** 2).sum()
            c12 = (win * (rb - m1) * (fb - m2)).sum()
            q[i, j] = (2 * c12 + cc) / (v1 + v2 + cc)
    return q


def _scene(rng, h=34, w=38):
    under = rng.integers(0, 50, (h, w)).astype(np.float64)
    over = np.clip(under * 4 + rng.integers(-25, 25, (h, w)), 0, 255)
    under[:14, :18] = 0  # flat dark region
    over[18:, 12:] = 255  # saturated region
    over[:12, :12] = 255  # flat in both sources
    fused = np.clip(np.round((under + over) / 2 + rng.normal(0, 6, (h, w))), 0, 255)
    return under, over, fused


@pytest.mark.parametrize("n_sources", [2, 3])
def test_vectorised_map_equals_matlab_loops(n_sources):
    rng = np.random.default_rng(n_sources)
    under, over, fused = _scene(rng)
    sources = [under, over, np.clip(under * 2, 0, 255)][:n_sources]
    expected = mef_ssim_loops(np.stack(sources, axis=2), fused)
    got = mef_ssim_map(sources, fused)
    assert got.shape == expected.shape == (24, 28)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_fused_equal_to_only_source_scores_one():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (48, 48, 3)).astype(np.uint8)
    # r = (x - mu) * (||x - mu|| + 0.001) / ||x - mu||: the same structure up to 0.001 in norm
    assert mef_ssim(x, [x]) == pytest.approx(1.0, abs=1e-6)
    flat = np.full((48, 48), 77, np.uint8)
    assert mef_ssim(flat, [flat, flat]) == pytest.approx(1.0, abs=1e-12)  # no structure anywhere: C / C


def test_symmetric_in_source_order_and_bounded():
    rng = np.random.default_rng(6)
    under, over, fused = (a.astype(np.uint8) for a in _scene(rng, 60, 64))
    a = mef_ssim(fused, [under, over])
    assert a == pytest.approx(mef_ssim(fused, [over, under]), abs=1e-12)
    assert 0 < a < 1
    # a structureless fused image keeps none of the sources' structure
    assert mef_ssim(np.full_like(fused, 128), [under, over]) < a


def test_equal_channel_rgb_matches_gray():
    rng = np.random.default_rng(7)
    under, over, fused = (a.astype(np.uint8) for a in _scene(rng, 60, 64))
    rgb = lambda a: np.repeat(a[..., None], 3, axis=2)  # noqa: E731
    assert mef_ssim(rgb(fused), [rgb(under), rgb(over)]) == pytest.approx(mef_ssim(fused, [under, over]), abs=1e-12)


def test_float_input_is_scored_as_8bit():
    rng = np.random.default_rng(8)
    under, over, fused = (a.astype(np.uint8) for a in _scene(rng, 60, 64))
    as_float = lambda a: (a.astype(np.float32) / 255)  # noqa: E731
    assert mef_ssim(as_float(fused), [as_float(under), as_float(over)]) == mef_ssim(fused, [under, over])


def test_three_scales_combine_with_normalised_weights():
    rng = np.random.default_rng(9)
    under, over, fused = (a.astype(np.uint8) for a in _scene(rng, 60, 64))
    q = mef_ssim_scales([rgb2gray_u8(under), rgb2gray_u8(over)], rgb2gray_u8(fused))
    w = np.array([0.0448, 0.2856, 0.3001])
    assert len(q) == 3
    assert mef_ssim(fused, [under, over]) == pytest.approx(float(np.prod(np.array(q) ** (w / w.sum()))), abs=1e-14)


def test_rgb2gray_rounds_like_matlab():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [1, 1, 1]]], np.uint8)
    assert rgb2gray_u8(px)[0].tolist() == [76, 150, 29, 255, 1]


def test_too_small_and_mismatched_raise():
    x = np.zeros((40, 60), np.uint8)
    with pytest.raises(EdgemefError, match="too small"):
        mef_ssim(x, [x, x])
    with pytest.raises(EdgemefError, match="differ in size"):
        mef_ssim(np.zeros((50, 50), np.uint8), [np.zeros((50, 51), np.uint8)])
