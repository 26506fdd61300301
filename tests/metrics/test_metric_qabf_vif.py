"""Q^AB/F and fusion VIF: MEFB's loops transcribed for comparison, plus hand-derived values."""
from __future__ import annotations

import math

import numpy as np
import pytest

from edgemef.metrics import qabf, vif
from edgemef.metrics.matlab_compat import conv2_same, filter_valid, gaussian_1d
from edgemef.metrics.qabf import TA, TG, qabf_channel
from edgemef.metrics.vif import vif_channel

H1 = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64)
H3 = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)


def _qabf_loops(a, b, f):
    """MEFB's ``Qabf`` with its per-pixel if/else branches."""

    def grad(x):
        p = 255.0 * x
        sx, sy = conv2_same(p, H3), conv2_same(p, H1)
        ang = np.array([[math.pi / 2 if sx[i, j] == 0 else math.atan(sy[i, j] / sx[i, j])
                         for j in range(x.shape[1])] for i in range(x.shape[0])])
        return np.sqrt(sx**2 + sy**2), ang

    def q(gs, as_, gf, af):
        out = np.zeros_like(gs)
        for i in range(gs.shape[0]):
            for j in range(gs.shape[1]):
                if gs[i, j] > gf[i, j]:
                    g = gf[i, j] / gs[i, j]
                elif gs[i, j] == gf[i, j]:
                    g = gf[i, j]
                else:
                    g = gs[i, j] / gf[i, j]
                o = 1 - abs(as_[i, j] - af[i, j]) / (math.pi / 2)
                out[i, j] = 0.9994 / (1 + math.exp(-15 * (g - 0.5))) * 0.9879 / (1 + math.exp(-22 * (o - 0.8)))
        return out

    (ga, aa), (gb, ab), (gf, af) = grad(a), grad(b), grad(f)
    return float((q(ga, aa, gf, af) * ga + q(gb, ab, gf, af) * gb).sum() / (ga + gb).sum())


def _vif_masks(ref, dist):
    """MEFB's ``ComVidVindG`` with its sequential masked assignments; returns (VID, VIND, g) per scale."""
    out = []
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        win = gaussian_1d(n, n / 5)
        if scale > 1:
            ref, dist = filter_valid(ref, win)[::2, ::2], filter_valid(dist, win)[::2, ::2]
        mu1, mu2 = filter_valid(ref, win), filter_valid(dist, win)
        s1 = filter_valid(ref * ref, win) - mu1**2
        s2 = filter_valid(dist * dist, win) - mu2**2
        s12 = filter_valid(ref * dist, win) - mu1 * mu2
        s1[s1 < 0] = 0
        s2[s2 < 0] = 0
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        g[s1 < 1e-10] = 0
        sv[s1 < 1e-10] = s2[s1 < 1e-10]
        s1[s1 < 1e-10] = 0
        g[s2 < 1e-10] = 0
        sv[s2 < 1e-10] = 0
        sv[g < 0] = s2[g < 0]
        g[g < 0] = 0
        sv[sv <= 1e-10] = 1e-10
        nsq = 0.005 * 255 * 255
        out.append((np.log10(1 + g**2 * s1 / (sv + nsq)), np.log10(1 + s1 / nsq), g))
    return out


def _vif_two_sources(a, b, f):
    t1, t2 = _vif_masks(a, f), _vif_masks(b, f)
    p = np.array([1, 0, 0.15, 1]) / 2.15
    total = 0.0
    for i in range(4):
        take1 = t1[i][2] < t2[i][2]
        z = np.where(take1, t1[i][0], t2[i][0])
        m = np.where(take1, t1[i][1], t2[i][1])
        total += p[i] * (z + 1e-7).sum() / (m + 1e-7).sum()
    return total


def _pair(rng, h, w):
    a = rng.integers(0, 40, (h, w)).astype(np.float64)
    b = np.clip(a * 5 + rng.integers(-9, 9, (h, w)), 0, 255)
    b[: h // 3] = 255
    a[2 * h // 3 :] = 0
    f = np.round((a + b) / 2)
    f[5:8] = a[5:8]
    return a, b, f


def test_qabf_equals_matlab_loops():
    a, b, f = _pair(np.random.default_rng(0), 30, 40)
    assert qabf_channel([a, b], f) == pytest.approx(_qabf_loops(a, b, f), abs=1e-12)
    assert qabf_channel([a, b], a) == pytest.approx(_qabf_loops(a, b, a), abs=1e-12)


def test_qabf_fused_equal_to_both_sources_is_the_saturated_product():
    x = np.random.default_rng(1).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    # equal magnitudes: ratio := magnitude (>= 255), so Qg = Tg; equal orientation: Qa = Ta / (1 + e^-4.4)
    assert qabf(x, [x, x]) == pytest.approx(TG * TA / (1 + math.exp(-22 * 0.2)), abs=1e-12)


def test_qabf_orders_good_and_bad_fusions():
    a, b, f = (x.astype(np.uint8) for x in _pair(np.random.default_rng(2), 48, 48))
    good = qabf(f, [a, b])
    assert 0 < qabf(np.zeros_like(f), [a, b]) < 0.01 < good < 1
    assert qabf(f, [a, b]) == pytest.approx(qabf(f, [b, a]), abs=1e-12)


def test_vif_equals_matlab_masks():
    a, b, f = _pair(np.random.default_rng(3), 90, 100)
    assert vif_channel([a, b], f) == pytest.approx(_vif_two_sources(a, b, f), abs=1e-12)
    assert vif_channel([a, b], b) == pytest.approx(_vif_two_sources(a, b, b), abs=1e-12)


def test_vif_of_a_perfect_copy_is_one_and_blur_lowers_it():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (80, 80, 3)).astype(np.uint8)
    assert vif(x, [x, x]) == pytest.approx(1.0, abs=1e-6)  # VID = VIND at every scale; weights sum to 1
    import cv2

    blurred = cv2.GaussianBlur(x, (7, 7), 2.0)
    assert vif(blurred, [x, x]) < 0.9
