"""The registry, :func:`score`, and the metrics on real mefb-dev pairs."""
from __future__ import annotations

import math

import numpy as np
import pytest

from edgemef.errors import EdgemefError
from edgemef.fusion import fuse_mertens
from edgemef.io import load_brackets
from edgemef.metrics import METRICS, NO_REFERENCE, REFERENCE_METRICS, mef_ssim, parse_names, qabf, score
from tests.conftest import mefb_pairs


def _images(rng, h=64, w=72):
    under = (rng.random((h, w, 3)) * 0.25).astype(np.float32)
    over = np.clip(under * 4 + 0.1, 0, 1).astype(np.float32)
    fused = ((under + over) / 2).astype(np.float32)
    return under, over, fused


def test_registry_names():
    assert set(METRICS) == {"mef_ssim", "qabf", "vif", "ag", "ei", "sf", "sd", "en", "psnr", "ssim", "ms_ssim"}
    assert parse_names(None) == list(NO_REFERENCE)
    assert parse_names("MEF-SSIM, qabf,qabf") == ["mef_ssim", "qabf"]
    with pytest.raises(EdgemefError, match="unknown metric"):
        parse_names("mef_ssim,nope")


def test_score_defaults_and_reference():
    under, over, fused = _images(np.random.default_rng(0), 180, 184)  # MS-SSIM needs 176 px
    out = score(fused, [under, over])
    assert list(out) == list(NO_REFERENCE)
    assert all(math.isfinite(v) for v in out.values())
    with_ref = score(fused, [under, over], reference=fused)
    assert list(with_ref) == list(NO_REFERENCE + REFERENCE_METRICS)
    assert with_ref["psnr"] == math.inf and with_ref["ssim"] == pytest.approx(1.0)
    with pytest.raises(EdgemefError, match="need a reference"):
        score(fused, [under, over], names=["psnr"])
    with pytest.raises(EdgemefError, match="unknown metric"):
        score(fused, [under, over], names=["bogus"])


def test_score_quantises_like_a_saved_8bit_file():
    under, over, fused = _images(np.random.default_rng(1))
    u8 = lambda a: np.floor(a * 255 + 0.5).astype(np.uint8)  # noqa: E731
    assert score(fused, [under, over]) == score(u8(fused), [u8(under), u8(over)])


def test_gray_sources_use_the_first_channel():
    rng = np.random.default_rng(2)
    under, over, fused = _images(rng)
    g = lambda a: np.repeat(a[..., :1], 3, axis=2)  # noqa: E731
    tinted = g(fused).copy()
    tinted[..., 1:] = 0.5  # colour in the fused image is ignored for gray pairs, as in MEFB
    assert score(tinted, [g(under), g(over)]) == score(fused[..., 0], [under[..., 0], over[..., 0]])


@pytest.mark.slow
def test_real_pairs_plausible_and_mertens_beats_average(mefb_dir):
    for _, files in mefb_pairs()[:3]:
        sources = [b.image for b in load_brackets(files)]
        mertens = fuse_mertens(sources)
        average = np.mean(sources, axis=0)
        m, a = mef_ssim(mertens, sources), mef_ssim(average, sources)
        assert 0.85 < a < m < 1.0
        assert 0.4 < qabf(mertens, sources) < 0.9
        assert 0.2 < qabf(sources[1], sources) < 0.9
