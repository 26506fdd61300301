"""The differentiable MEF-SSIM loss agrees with the MEFB-exact metric and back-propagates."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgemef.metrics.mef_ssim import SCALE_WEIGHTS, mef_ssim_scales  # noqa: E402
from edgemef.train.mef_ssim_loss import mef_ssim  # noqa: E402


def _metric(gray_sources, gray_fused) -> float:
    q = np.array(mef_ssim_scales(gray_sources, gray_fused))
    return float(np.prod(q ** (SCALE_WEIGHTS / SCALE_WEIGHTS.sum())))


def test_matches_the_metric_on_real_gray_planes(mefb_dir):
    from edgemef.io import load_brackets
    from edgemef.metrics.matlab_compat import rgb2gray_u8

    from tests.conftest import mefb_pairs

    _, files = mefb_pairs()[0]
    gray = [rgb2gray_u8(b.image) for b in load_brackets(files)]
    h, w = (s - s % 4 for s in gray[0].shape)  # even at every scale: avg_pool and MEFB's halve agree
    gray = [g[:h, :w] for g in gray]
    for fused in (0.5 * (gray[0] + gray[1]), np.maximum(gray[0], gray[1])):
        ref = _metric(gray, fused)
        src = torch.tensor(np.stack(gray)[None] / 255.0, dtype=torch.float64)
        got = mef_ssim(src, torch.tensor(fused[None, None] / 255.0, dtype=torch.float64))
        assert got.item() == pytest.approx(ref, abs=1e-9)


def test_gradient_is_finite_and_improves_the_score():
    torch.manual_seed(0)
    base = torch.rand(1, 1, 8, 8).repeat_interleave(8, -1).repeat_interleave(8, -2)
    sources = torch.cat([0.3 * base, (1.8 * base).clamp(max=1.0)], 1)
    fused = torch.full((1, 1, 64, 64), 0.5, requires_grad=True)
    opt = torch.optim.Adam([fused], lr=0.02)
    scores = []
    for _ in range(30):
        loss = 1.0 - mef_ssim(sources, fused).mean()
        opt.zero_grad()
        loss.backward()
        assert torch.isfinite(fused.grad).all()
        opt.step()
        scores.append(1.0 - loss.item())
    assert scores[-1] > scores[0] + 0.2


def test_degenerate_inputs_stay_finite_in_float32():
    flat = torch.zeros(1, 2, 48, 48)
    same = torch.rand(1, 1, 48, 48).repeat(1, 2, 1, 1)  # structure consistency exactly 1
    for sources in (flat, same):
        fused = torch.rand(1, 1, 48, 48, requires_grad=True)
        mef_ssim(sources, fused).sum().backward()
        assert torch.isfinite(fused.grad).all()


def test_shape_errors():
    with pytest.raises(ValueError, match="expected sources"):
        mef_ssim(torch.rand(1, 2, 64, 64), torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="at least 44"):
        mef_ssim(torch.rand(1, 2, 32, 32), torch.rand(1, 1, 32, 32))


def test_near_flat_windows_in_float32_score_as_in_float64():
    """Near-flat crops (a clipped over frame, sources with 1e-4 of texture): in float32 the window
    energies used to be rounding noise that the structure weights blew up (scores of 49 and
    negative ones); computed in float64 inside, a float32 call agrees with a float64 one and
    stays in [0, 1]."""
    g = torch.Generator().manual_seed(3)
    src = (0.6 + 1e-4 * torch.rand(4, 2, 64, 64, generator=g)).clamp(0, 1)
    src[:, 1] = 1.0  # clipped white
    fused = 0.5 + 1e-3 * torch.rand(4, 1, 64, 64, generator=g)
    s32 = mef_ssim(src, fused.requires_grad_(True))
    assert s32.dtype == torch.float32
    s64 = mef_ssim(src.double(), fused.detach().double())
    assert torch.allclose(s32.double(), s64, atol=1e-6)
    assert (s32 <= 1.0).all() and (s32 >= 0.0).all()
    s32.sum().backward()
    assert torch.isfinite(fused.grad).all()
