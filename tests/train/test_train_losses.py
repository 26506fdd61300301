"""MS-SSIM, MaskBuilder and ParamTuner on hand-made inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgemef.train.losses import fusion_loss, ms_ssim, ms_ssim_levels  # noqa: E402
from edgemef.train.maskbuilder import blur, build_masks, kernel_size, minmax  # noqa: E402
from edgemef.train.paramtuner import dynamic_weights, fixed_weights, gamma_of  # noqa: E402


def _texture(seed=0, size=64):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 1, size // 4, size // 4, generator=g)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def test_ms_ssim_is_one_for_identical_images():
    x = _texture()
    assert ms_ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)
    loss, mse = fusion_loss(x, x, alpha=1000.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-3) and mse.item() == 0.0


def test_ms_ssim_drops_with_noise():
    x = _texture(size=128)
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(x.shape, generator=g)
    values = [ms_ssim(x, (x + s * noise).clamp(0, 1)).item() for s in (0.0, 0.02, 0.1, 0.3)]
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    assert values[0] > values[1] > values[2] > values[3]
    assert values[3] < 0.9


def test_ms_ssim_is_per_image_and_symmetric():
    x = torch.cat([_texture(0), _texture(1)])
    y = torch.cat([_texture(0), _texture(2)])
    v = ms_ssim(x, y)
    assert v.shape == (2,) and v[0].item() == pytest.approx(1.0, abs=1e-6) and v[1].item() < 0.9
    torch.testing.assert_close(v, ms_ssim(y, x))


def test_ms_ssim_levels_fit_the_crop():
    assert ms_ssim_levels(256, 256) == 5
    assert ms_ssim_levels(128, 128) == 4
    assert ms_ssim_levels(32, 48) == 2
    with pytest.raises(ValueError):
        ms_ssim_levels(8, 64)


def test_gradients_are_finite():
    x = _texture().requires_grad_(True)
    y = 1.0 - _texture(3)  # anti-correlated: clamped terms must not give inf/nan gradients
    loss, _ = fusion_loss(x, y)
    loss.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_maskbuilder_kernel_and_minmax():
    assert kernel_size(10.0) == 61 and kernel_size(1.0) == 7 and kernel_size(0.5) == 5
    x = torch.tensor([0.0, 2.0, 4.0]).view(1, 1, 1, 3)
    assert minmax(x).flatten().tolist() == [0.0, 0.5, 1.0]
    assert minmax(torch.full((1, 1, 2, 2), 0.3)).abs().max().item() == 0.0  # flat -> 0


def test_blur_keeps_constants_and_mass():
    c = torch.full((1, 1, 70, 70), 0.42)
    torch.testing.assert_close(blur(c, 10.0), c)
    x = _texture(size=128)
    assert blur(x, 10.0).std().item() < 0.5 * x.std().item()


def test_masks_of_a_step_edge():
    # under-exposed frame: dark left half, bright right half (the highlights are on the right)
    under = torch.zeros(1, 1, 8, 100)
    under[..., 50:] = 1.0
    m_u, m_o = build_masks(under, under, sigma=10.0)
    row = m_u[0, 0, 0]
    assert row[0].item() == pytest.approx(0.0, abs=1e-6) and row[-1].item() == pytest.approx(1.0, abs=1e-6)
    # a step centred in a reflected frame blurs antisymmetrically: m(x) + m(W-1-x) = 1
    torch.testing.assert_close(row + row.flip(0), torch.ones_like(row), rtol=0, atol=1e-5)
    assert bool((row[1:] >= row[:-1] - 1e-7).all())  # monotone
    # the over-exposed frame's mask is the inverse: high in the dark half
    torch.testing.assert_close(m_u + m_o, torch.ones_like(m_u))


def test_paramtuner_weights_by_hand():
    # D = |0.5 - 1.0| = 0.5 and |2.0 - 1.0| = 1.0 -> beta * D / sum D = 2*0.5/1.5, 2*1/1.5
    w = dynamic_weights(torch.tensor([[0.5, 2.0], [1.5, 0.5], [1.0, 1.0]]), torch.tensor([1.0, 1.0, 1.0]), beta=2.0)
    torch.testing.assert_close(w, torch.tensor([[2 / 3, 4 / 3], [1.0, 1.0], [1.0, 1.0]]))
    assert w.sum(dim=1).tolist() == pytest.approx([2.0, 2.0, 2.0])
    w3 = dynamic_weights(torch.tensor([[0.0, 3.0]]), torch.tensor([1.0]), beta=3.0)
    torch.testing.assert_close(w3, torch.tensor([[1.0, 2.0]]))  # D = 1, 2
    torch.testing.assert_close(fixed_weights(2, 2), torch.ones(2, 2))


def test_gamma_of_a_two_level_image():
    # half 0.3, half 0.7: mu = 0.5, sigma = 0.2; 4 sigma > 1/3 -> high contrast,
    # gamma = exp((1 - (mu + sigma)) / 2) = exp(0.15)
    img = np.full((10, 10), 0.3, np.float32)
    img[:, 5:] = 0.7
    assert gamma_of(img) == pytest.approx(math.exp(0.15), rel=1e-5)
