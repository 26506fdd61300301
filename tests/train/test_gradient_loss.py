"""The max-gradient edge term: Sobel magnitudes by hand, its zeros, its sign and its gradient."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.train.config import load_config  # noqa: E402
from edgemef.train.losses import max_gradient_loss, sobel_magnitude  # noqa: E402


def _ramp(slope: float, size: int = 16) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) * slope
    return x.view(1, 1, 1, size).expand(1, 1, size, size).clone()


def test_sobel_magnitude_of_a_ramp_by_hand():
    # Sobel x on a horizontal ramp of slope s: (1 + 2 + 1) * 2 s = 8 s inside; y: 0.
    g = sobel_magnitude(_ramp(0.01))
    assert g.shape == (1, 1, 16, 16)
    assert torch.allclose(g[..., 1:-1], torch.full_like(g[..., 1:-1], 0.08), atol=1e-6)
    # replicated borders: a one-sided difference, half the inside value
    assert torch.allclose(g[..., 0], torch.full_like(g[..., 0], 0.04), atol=1e-6)
    assert sobel_magnitude(torch.full((2, 3, 8, 8), 0.5)).abs().max().item() == 0.0


def test_zero_when_the_fused_image_carries_the_strongest_source_edges():
    strong, weak = _ramp(0.02), _ramp(0.005)
    sources = torch.cat([weak, strong], 1)
    assert max_gradient_loss(sources, strong).item() == pytest.approx(0.0, abs=1e-7)
    # the weaker source's edges cost the difference of the two magnitudes: 8 * (0.02 - 0.005) inside
    assert max_gradient_loss(sources, weak).item() == pytest.approx(8 * 0.015 * (14 * 16 + 2 * 16 * 0.5) / 256,
                                                                    rel=1e-5)


def test_blurring_costs_and_the_gradient_sharpens():
    g = torch.Generator().manual_seed(0)
    src = torch.rand(2, 2, 32, 32, generator=g)
    blurred = torch.nn.functional.avg_pool2d(src[:, 1:2], 3, 1, 1, count_include_pad=False)
    fused = blurred.clone().requires_grad_(True)
    loss = max_gradient_loss(src, fused)
    assert loss.shape == (2,) and (loss > 0).all()
    loss.sum().backward()
    assert torch.isfinite(fused.grad).all() and fused.grad.abs().sum() > 0
    stepped = (blurred - 0.5 * fused.grad).clamp(0, 1)
    assert (max_gradient_loss(src, stepped) < loss.detach()).all()


def test_shape_errors_and_config_check():
    with pytest.raises(ValueError, match="expected sources"):
        max_gradient_loss(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8))
    with pytest.raises(EdgemefError, match="grad_weight must be >= 0"):
        load_config(None, grad_weight=-1.0)
    assert load_config(None, grad_weight=2.0).grad_weight == 2.0
