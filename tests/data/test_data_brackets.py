"""Synthetic bracket sets: determinism, value ranges, exposure order, noise, clipping, HDR, labels."""
from __future__ import annotations

import numpy as np
import pytest

from edgemef.data import BracketSet, SyntheticBrackets, item_seed, render_bracket_set
from edgemef.data import textures
from edgemef.data.camera import MID_GREY, expose, random_camera
from edgemef.data.scenes import SCENE_KINDS, dynamic_range, luminance, render_radiance

SEEDS = list(range(10))
SIZE = (96, 128)


@pytest.fixture(scope="module")
def sets() -> list[BracketSet]:
    return [render_bracket_set(s, SIZE) for s in SEEDS]


def _arrays(s: BracketSet):
    return [s.under, s.over, s.ev0, s.radiance, s.label]


def test_same_seed_same_bytes_even_with_a_cold_texture_bank():
    a = render_bracket_set(1234, (64, 80))
    textures._BANK.clear()  # results must not depend on which bank textures exist already
    b = render_bracket_set(1234, (64, 80))
    for x, y in zip(_arrays(a), _arrays(b)):
        assert x.tobytes() == y.tobytes()
    assert a.exposure_times == b.exposure_times and a.seed == b.seed == 1234
    c = render_bracket_set(1235, (64, 80))
    assert not np.array_equal(a.radiance, c.radiance)


def test_sequence_is_deterministic_and_indexable():
    ds = SyntheticBrackets(seed=7, size=(48, 64), length=5)
    assert len(ds) == 5
    s = ds[3]
    assert s.seed == item_seed(7, 3)
    assert np.array_equal(s.under, render_bracket_set(item_seed(7, 3), (48, 64)).under)
    assert np.array_equal(ds[-1].over, ds[4].over)
    assert item_seed(7, 3) != item_seed(7, 4) and item_seed(7, 3) != item_seed(8, 3)
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(TypeError):
        ds[1.5]


def test_dtypes_shapes_and_ranges(sets):
    for s in sets:
        for a in _arrays(s):
            assert a.dtype == np.float32 and a.shape == SIZE + (3,)
            assert np.isfinite(a).all()
        for a in (s.under, s.over, s.ev0):
            assert a.min() >= 0.0 and a.max() <= 1.0
            q = a * 255.0
            assert np.abs(q - np.round(q)).max() < 1e-3  # on the 8-bit grid
        assert s.label.min() >= 0.0 and s.label.max() <= 1.0
        assert s.radiance.min() > 0.0


def test_under_darker_than_ev0_darker_than_over(sets):
    for s in sets:
        t_u, t_0, t_o = s.exposure_times
        assert 0 < t_u < t_0 < t_o
        lum = [float(luminance(a).mean()) for a in (s.under, s.ev0, s.over)]
        assert lum[0] < lum[1] < lum[2], (s.seed, lum)


def test_ev_gap_within_requested_range(sets):
    gaps = [s.ev_gap for s in sets]
    assert all(2.0 - 1e-9 <= g <= 6.0 + 1e-9 for g in gaps), gaps
    assert max(gaps) - min(gaps) > 1.0  # actually random
    s = render_bracket_set(3, (48, 64), ev_gap=(3.0, 3.0))
    assert s.ev_gap == pytest.approx(3.0)
    s = render_bracket_set(3, (48, 64), ev_gap=(1.0, 1.5))
    assert 1.0 - 1e-9 <= s.ev_gap <= 1.5 + 1e-9


def test_ev0_median_is_mid_grey(sets):
    for s in sets:
        p40, p50, p60 = np.percentile(luminance(s.ev0), [40, 50, 60])
        # mid-grey sits in the middle of the histogram (exactly at the median unless it is bimodal)
        assert p40 - 0.05 <= MID_GREY <= p60 + 0.05, (s.seed, p40, p50, p60)
        assert abs(p50 - MID_GREY) < 0.15, s.seed


def test_over_frames_clip_and_under_frames_keep_highlights(sets):
    clipped_over = [float((s.over.max(axis=2) >= 1.0).mean()) for s in sets]
    clipped_under = [float((s.under.max(axis=2) >= 1.0).mean()) for s in sets]
    assert min(clipped_over) > 0.01, clipped_over
    assert np.mean(clipped_under) < np.mean(clipped_over) / 3


def test_radiance_is_high_dynamic_range():
    for kind in SCENE_KINDS:
        for seed in range(3):
            rad, k = render_radiance(np.random.default_rng([seed, 99]), (128, 128), kind)
            assert k == kind
            assert dynamic_range(rad) > 1e3, (kind, seed, dynamic_range(rad))
            assert rad.shape == (128, 128, 3) and rad.dtype == np.float32
            assert np.std(rad, axis=(0, 1)).min() > 0  # coloured / structured, not flat


def test_label_is_well_exposed(sets):
    for s in sets:
        lum = luminance(s.label)
        assert float((s.label.min(axis=2) >= 0.98).mean()) < 0.05, s.seed   # few blown pixels
        assert float((lum < 0.02).mean()) < 0.2, s.seed                      # few crushed ones
        assert 0.25 < float(lum.mean()) < 0.7, s.seed
    # the label keeps detail where the over frame has none: sky/window/lamp areas clipped in over
    gains = []
    for s in sets:
        blown = s.over.min(axis=2) >= 1.0
        if blown.mean() > 0.02:
            gains.append(float(luminance(s.label)[blown].std()))
    assert gains and np.median(gains) > 0.02


def test_under_frame_is_noisy_and_unbiased(sets):
    """Re-create the set's camera (white-box: same RNG order as render_bracket_set) and compare
    the under frame with a noise-free exposure of the same radiance."""
    for seed in SEEDS[:4]:
        s = render_bracket_set(seed, SIZE)
        rng = np.random.default_rng(seed)
        render_radiance(rng, SIZE)
        cam = random_camera(rng)
        clean = expose(cam, s.radiance, s.exposure_times[0], rng=None)
        diff = s.under - clean
        assert float((np.abs(diff) > 0.5 / 255).mean()) > 0.2, seed   # noise is there
        assert abs(float(diff.mean())) < 0.01, seed                    # and zero-mean
        assert float(np.abs(diff).mean()) < 0.05, seed                 # and the right frame


def test_noise_follows_the_camera_parameters():
    rng = np.random.default_rng(0)
    cam = random_camera(rng)
    cam.noise_blur, cam.jpeg = 0.0, 0
    flat = np.full((64, 64, 3), 1.0, np.float32)
    clean = expose(cam, flat, 0.05, None, quantize=False)
    assert np.array_equal(clean, expose(cam, flat, 0.05, None, quantize=False))
    stds = []
    for shot in (1e-5, 1e-4, 1e-3):
        cam.shot, cam.read = shot, 1e-5
        stds.append(float((expose(cam, flat, 0.05, np.random.default_rng(1), quantize=False) - clean).std()))
    assert stds[0] < stds[1] < stds[2]
    assert stds[2] / stds[1] == pytest.approx(np.sqrt(10), rel=0.2)  # shot noise: std ~ sqrt(gain)


def test_under_split_places_the_under_frame_and_leaves_the_default_draws_alone():
    from edgemef.data.brackets import UNDER_SPLIT, bracket_times

    # a fixed share of a fixed gap: the under frame sits exactly that share below EV0
    t = bracket_times(np.random.default_rng(0), 1.0, (4.0, 4.0), None, under_split=(0.25, 0.25))
    assert np.allclose(np.log2(t), [-1.0, 0.0, 3.0])
    # shares below the 0.5 EV margin are held at it (the under frame stays darker than EV0)
    t = bracket_times(np.random.default_rng(0), 1.0, (4.0, 4.0), None, under_split=(0.0, 0.0))
    assert np.allclose(np.log2(t), [-0.5, 0.0, 3.5])
    # the default split is the one every shipped recipe rendered with: same draws, same bytes
    a = SyntheticBrackets(seed=3, size=(48, 48), length=2)[1]
    b = SyntheticBrackets(seed=3, size=(48, 48), length=2, under_split=UNDER_SPLIT)[1]
    assert a.exposure_times == b.exposure_times and a.under.tobytes() == b.under.tobytes()
    wide = [SyntheticBrackets(seed=3, size=(48, 48), length=40, ev_gap=(2.0, 8.0), under_split=(0.1, 0.85))[i]
            for i in range(40)]
    base = [SyntheticBrackets(seed=3, size=(48, 48), length=40)[i] for i in range(40)]
    assert np.mean([s.over.mean() for s in wide]) > np.mean([s.over.mean() for s in base])
