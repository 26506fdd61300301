"""AG, EI, SF, SD, EN on arrays whose values follow from the definitions."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edgemef.metrics import ag, ei, en, sd, sf


def test_entropy_levels():
    half = np.zeros((10, 10), np.uint8)
    half[:, 5:] = 200
    assert en(half) == pytest.approx(1.0, abs=1e-12)  # two equally likely levels: 1 bit
    assert en(np.full((7, 9), 33, np.uint8)) == 0.0
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert en(ramp) == pytest.approx(8.0, abs=1e-12)


def test_sd_known_arrays():
    assert sd(np.array([[0, 0], [2, 2]], np.uint8)) == pytest.approx(1.0)
    assert sd(np.full((5, 5), 9, np.uint8)) == 0.0
    # per-channel mean: channel SDs 1, 2, 0
    x = np.zeros((2, 2, 3), np.uint8)
    x[1, :, 0] = 2
    x[1, :, 1] = 4
    assert sd(x) == pytest.approx(1.0)


def test_sf_and_ag_and_ei_of_a_ramp():
    k, h, w = 3, 6, 8
    ramp = np.tile(np.arange(w, dtype=np.uint8) * k, (h, 1))
    # SF: every horizontal difference is k, h*(w-1) of them, divided by h*w; no vertical change
    assert sf(ramp) == pytest.approx(math.sqrt(k * k * h * (w - 1) / (h * w)))
    # AG: gradient k everywhere (one-sided at the ends too), sqrt(k^2 / 2) per pixel over (h-1)(w-1)
    assert ag(ramp) == pytest.approx(h * w * k / math.sqrt(2) / ((h - 1) * (w - 1)))
    # EI: Sobel response 8k inside, 4k on the replicated left/right columns
    assert ei(ramp) == pytest.approx((8 * k * (w - 2) + 2 * 4 * k) / w)


def test_blur_lowers_detail_measures():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    blurred = cv2.GaussianBlur(x, (9, 9), 2.0)
    for fn in (ag, ei, sf, sd):
        assert fn(blurred) < 0.7 * fn(x), fn.__name__


def test_float_input_is_quantised_to_8bit():
    x = np.random.default_rng(1).integers(0, 256, (20, 20, 3)).astype(np.uint8)
    xf = x.astype(np.float32) / 255
    for fn in (ag, ei, sf, sd, en):
        assert fn(xf) == fn(x), fn.__name__
