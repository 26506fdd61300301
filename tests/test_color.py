"""Colour conversion and chroma merge."""
import numpy as np

from edgemef.color import compose, lab_to_rgb, luminance, merge_chroma, rgb_to_lab


def test_lab_roundtrip_and_known_values():
    rng = np.random.default_rng(0)
    img = rng.random((16, 16, 3), dtype=np.float32)
    assert np.abs(lab_to_rgb(rgb_to_lab(img)) - img).max() < 1e-4
    white = np.ones((1, 1, 3), np.float32)
    assert abs(luminance(white)[0, 0] - 1.0) < 1e-3
    assert abs(luminance(np.zeros_like(white))[0, 0]) < 1e-6
    gray = np.full((1, 1, 3), 0.5, np.float32)
    lab = rgb_to_lab(gray)[0, 0]
    assert abs(lab[0] - 53.39) < 0.1 and abs(lab[1]) < 0.01 and abs(lab[2]) < 0.01


def test_merge_chroma_mean_and_weights():
    a = np.zeros((2, 2, 3), np.float32)
    b = np.zeros((2, 2, 3), np.float32)
    a[..., 1], b[..., 1] = 10, 30
    assert np.allclose(merge_chroma([a, b])[..., 0], 20)
    w = [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)]
    assert np.allclose(merge_chroma([a, b], w)[..., 0], 10, atol=1e-3)


def test_compose_uses_fused_luminance():
    img = np.full((4, 4, 3), 0.5, np.float32)
    lab = rgb_to_lab(img)
    out = compose(np.full((4, 4), 0.8, np.float32), lab[..., 1:])
    assert abs(luminance(out).mean() - 0.8) < 1e-3
