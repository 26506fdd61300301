"""Adaptive gamma correction (Rahman et al. 2016): classes, gammas and outputs derived by hand."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edgemef.agc import (
    HIGH_BRIGHT,
    HIGH_DARK,
    LOW_BRIGHT,
    LOW_DARK,
    adaptive_gamma_correction,
    agc_curve,
    agc_gamma,
    agc_lut,
    agc_luminance,
    classify,
)


def two_level(a: float, b: float, shape=(64, 64)) -> np.ndarray:
    """Half the pixels at ``a``, half at ``b``: mean (a+b)/2, standard deviation |b-a|/2."""
    img = np.full(shape, a, np.float32)
    img[:, shape[1] // 2:] = b
    return img


# sigma = 0.05 -> gamma = -log2(0.05) = log2(20) = 4.3219; x**gamma = 20**log2(x), so 0.25**gamma = 1/400
LOG2_20 = math.log2(20.0)


@pytest.mark.parametrize(
    "a, b, cls, gamma",
    [
        (0.15, 0.25, LOW_DARK, LOG2_20),  # mu 0.2, 4 sigma = 0.2 <= 1/3
        (0.75, 0.85, LOW_BRIGHT, LOG2_20),  # mu 0.8, sigma 0.05
        (0.0, 0.6, HIGH_DARK, math.exp(0.2)),  # mu 0.3, sigma 0.3: exp((1 - 0.6) / 2) = 1.2214
        (0.7, 0.9, HIGH_BRIGHT, math.exp(0.05)),  # mu 0.8, sigma 0.1: 4 sigma = 0.4 > 1/3; exp(0.1 / 2)
    ],
)
def test_each_class_and_its_gamma(a, b, cls, gamma):
    g, c = agc_gamma(two_level(a, b))
    assert c == cls
    assert g == pytest.approx(gamma, rel=1e-4)


def test_contrast_threshold_is_four_sigma_against_one_over_tau():
    assert classify(0.3, 1 / 12) == LOW_DARK  # 4 sigma == 1/3 exactly: still low contrast
    assert classify(0.3, 1 / 12 + 1e-4) == HIGH_DARK
    assert classify(0.5, 0.01) == LOW_BRIGHT  # mean 0.5 counts as bright (Heaviside(0) = 0)
    assert classify(0.3, 1 / 12 + 1e-4, tau=2.0) == LOW_DARK  # a larger threshold 1/tau


def test_dark_low_contrast_output_uses_the_k_factor():
    out = agc_luminance(two_level(0.15, 0.25))
    # 0.25 -> 0.25**g / (0.25**g + (1 - 0.25**g) * 0.2**g) with 0.25**g = 0.0025, 0.2**g = 0.000953
    assert out[0, -1] == pytest.approx(0.0025 / (0.0025 + 0.9975 * 0.0009530197), abs=1e-4)
    assert out[0, -1] == pytest.approx(0.72450, abs=1e-4)
    assert out[0, 0] == pytest.approx(0.22390, abs=1e-4)
    assert 0.4 < out.mean() < 0.6  # the dark image's mean is lifted to about 0.5


def test_dark_high_contrast_output():
    out = agc_luminance(two_level(0.0, 0.6))
    assert out[0, 0] == 0.0
    assert out[0, -1] == pytest.approx(0.83398, abs=1e-4)  # 0.6**1.2214 / (. + (1 - .) * 0.3**1.2214)


def test_bright_classes_are_plain_power_laws():
    out = agc_luminance(two_level(0.75, 0.85))
    assert out[0, -1] == pytest.approx(0.85**LOG2_20, abs=1e-5)  # 0.4954: a bright flat image is darkened
    assert out[0, 0] == pytest.approx(0.28842, abs=1e-4)
    out = agc_luminance(two_level(0.7, 0.9))
    assert out[0, 0] == pytest.approx(0.68732, abs=1e-4)
    assert out[0, -1] == pytest.approx(0.89515, abs=1e-4)


def test_curve_is_monotone_and_in_range():
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    for gamma, mu in [(LOG2_20, 0.2), (LOG2_20, 0.8), (1.22, 0.3), (0.8, 0.9), (9.97, 0.0)]:
        y = agc_curve(x, gamma, mu)
        assert y.dtype == np.float32 and np.all(np.isfinite(y))
        assert y.min() >= 0.0 and y.max() <= 1.0 + 1e-6
        assert np.all(np.diff(y) >= -1e-6)
        assert y[0] == 0.0 and y[-1] == pytest.approx(1.0, abs=1e-6)


def test_flat_and_black_images_stay_finite():
    g, cls = agc_gamma(np.full((16, 16), 0.4, np.float32))
    assert cls == LOW_DARK and math.isfinite(g) and g < 11  # sigma = 0: gamma capped, not infinite
    assert np.all(np.isfinite(agc_luminance(np.full((16, 16), 0.4, np.float32))))
    black = adaptive_gamma_correction(np.zeros((8, 8, 3), np.float32))
    assert np.all(black == 0.0)


def test_uint8_input_matches_float():
    img = two_level(0.0, 0.6)
    g8, c8 = agc_gamma(np.round(img * 255).astype(np.uint8))
    g, c = agc_gamma(img)
    assert c8 == c and g8 == pytest.approx(g, abs=2e-3)
    lut, gl, cl = agc_lut(np.round(img * 255).astype(np.uint8))
    assert lut.dtype == np.uint8 and lut.shape == (256,) and cl == c and lut[0] == 0 and lut[255] == 255


def test_rgb_correction_works_on_v_and_keeps_hue():
    rng = np.random.default_rng(0)
    img = (rng.random((48, 64, 3)) * 0.25).astype(np.float32)  # dark, colourful
    out = adaptive_gamma_correction(img)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.mean() > 2 * img.mean()  # dark image brightened
    np.testing.assert_allclose(out.max(axis=2), agc_luminance(img.max(axis=2)), atol=1e-5)  # V replaced by AGC(V)
    hsv_in = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hsv_out = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
    vivid = hsv_in[..., 1] > 0.2
    hue_diff = np.abs(hsv_in[..., 0] - hsv_out[..., 0])[vivid]
    assert np.minimum(hue_diff, 360 - hue_diff).max() < 0.5  # hue (degrees) unchanged
    sat_in = 1 - img.min(axis=2) / np.maximum(img.max(axis=2), 1e-6)
    sat_out = 1 - out.min(axis=2) / np.maximum(out.max(axis=2), 1e-6)
    np.testing.assert_allclose(sat_in[vivid], sat_out[vivid], atol=1e-5)  # saturation too
    bright = np.clip(0.8 + (rng.random((32, 32, 3)) - 0.5) * 0.1, 0, 1).astype(np.float32)
    assert adaptive_gamma_correction(bright).mean() < bright.mean()  # bright low-contrast: darkened


def test_rejects_non_rgb():
    with pytest.raises(ValueError):
        adaptive_gamma_correction(np.zeros((8, 8), np.float32))
