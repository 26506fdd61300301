"""PSNR, SSIM and MS-SSIM against values derived by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from edgemef.errors import EdgemefError
from edgemef.metrics import ms_ssim, psnr, ssim
from edgemef.metrics.matlab_compat import gaussian_1d, halve


def test_psnr_identical_is_inf():
    x = np.random.default_rng(0).random((16, 16, 3), dtype=np.float32)
    assert psnr(x, x) == math.inf


@pytest.mark.parametrize("shift", [1, 5, 40])
def test_psnr_constant_shift_uint8(shift):
    x = np.random.default_rng(1).integers(0, 200, (20, 30, 3)).astype(np.uint8)
    y = (x + shift).astype(np.uint8)
    assert psnr(y, x) == pytest.approx(20 * math.log10(255 / shift), abs=1e-12)


def test_psnr_float_range_and_override():
    x = np.full((8, 8), 0.5)
    assert psnr(x + 0.1, x) == pytest.approx(20.0, abs=1e-9)  # 10 log10(1 / 0.01)
    assert psnr(x + 0.1, x, data_range=2.0) == pytest.approx(20 + 20 * math.log10(2), abs=1e-9)


def test_shape_mismatch_raises():
    with pytest.raises(EdgemefError, match="differ in shape"):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))


def test_ssim_identical_is_one():
    x = np.random.default_rng(2).integers(0, 256, (40, 50, 3)).astype(np.uint8)
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim(np.tile(x, (5, 4, 1)), np.tile(x, (5, 4, 1))) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_constant_images_is_the_luminance_term():
    a, b = 100.0, 140.0
    c1 = (0.01 * 255) ** 2
    x = np.full((20, 20), a, np.float64)
    y = np.full((20, 20), b, np.float64)
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert ssim(x, y, data_range=255) == pytest.approx(expected, abs=1e-12)
    # MS-SSIM: contrast-structure is 1 at every scale, luminance enters at the coarsest only.
    big = (np.full((180, 180), a), np.full((180, 180), b))
    assert ms_ssim(*big, data_range=255) == pytest.approx(expected**0.1333, abs=1e-12)


def test_ssim_matches_explicit_window():
    rng = np.random.default_rng(3)
    x = rng.random((11, 13))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    w = np.outer(gaussian_1d(11, 1.5), gaussian_1d(11, 1.5))
    vals = []
    for j in range(3):  # the three fully-inside 11x11 windows
        px, py = x[:, j : j + 11], y[:, j : j + 11]
        mx, my = (w * px).sum(), (w * py).sum()
        vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()
        cxy = (w * (px - mx) * (py - my)).sum()
        c1, c2 = 0.01**2, 0.03**2
        vals.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    assert ssim(x, y) == pytest.approx(np.mean(vals), abs=1e-12)


def test_ssim_drops_with_noise_and_is_symmetric():
    rng = np.random.default_rng(4)
    x = rng.random((64, 64, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    z = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1).astype(np.float32)
    assert 1 > ssim(x, y) > ssim(x, z) > 0
    assert ssim(x, y) == pytest.approx(ssim(y, x), abs=1e-12)


def test_ms_ssim_too_small_raises():
    with pytest.raises(EdgemefError, match="too small"):
        ms_ssim(np.zeros((100, 300)), np.zeros((100, 300)))


def test_halve_is_matlab_2x2_mean_with_mirrored_edge():
    x = np.arange(9, dtype=np.float64).reshape(3, 3)
    # top-left anchored 2x2 means; the odd last row/column is mirrored onto itself
    np.testing.assert_array_equal(halve(x), [[2.0, 3.5], [6.5, 8.0]])
