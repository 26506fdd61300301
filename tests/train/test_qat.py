"""Quantization-aware fine-tuning (edgemef.train.qat): the int8 grid in the forward pass, the
master weights and state dict untouched (a QAT training run: tests/train/test_rgb_training.py)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from edgemef.train import qat  # noqa: E402

torch.set_num_threads(1)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 3, 1))


def test_convolutions_see_their_input_and_weights_on_the_int8_grid():
    net = _net()
    x = torch.rand(2, 3, 16, 16) * 4 - 1          # inputs in [-1, 3]
    ref = net(x).detach()
    keys = set(net.state_dict())
    assert qat.attach(net) == 2 and qat.attach(net) == 0   # once only
    assert set(net.state_dict()) == keys                   # running ranges are not saved

    seen = {}
    conv = net[0]
    conv.register_forward_hook(lambda m, i, o: seen.update(x=i[0]))
    net.train()
    y = net(x)
    lo, hi = float(conv.qat_lo), float(conv.qat_hi)
    assert lo == pytest.approx(float(x.min())) and hi == pytest.approx(float(x.max()))
    # the quantized input the conv used: a grid of 255 steps of (hi - lo) / 255 through 0
    scale = (hi - lo) / 255
    xq = qat._fake_quant_activation(conv, x)
    steps = xq / scale
    assert torch.allclose(steps, steps.round(), atol=0.02)
    assert float((xq - x).abs().max()) <= scale + 1e-6 and len(xq.unique()) <= 256
    wq = qat._fake_quant_weight(conv.weight)
    levels = wq / (conv.weight.abs().flatten(1).amax(1) / 127).view(-1, 1, 1, 1)
    assert torch.allclose(levels, levels.round(), atol=1e-3)
    err = float((y - ref).abs().max())
    assert 0 < err < 0.05 * float(ref.abs().max())           # the grid costs a little, not nothing

    y.sum().backward()                                       # straight-through gradients
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())

    net.eval()                                               # eval keeps the grid, ranges frozen
    net(x * 10)
    assert float(conv.qat_hi) == pytest.approx(hi)
    qat.detach(net)
    assert torch.equal(net(x), ref) and set(net.state_dict()) == keys


def test_ranges_follow_a_running_average():
    net = _net()
    qat.attach(net)
    net.train()
    net(torch.zeros(1, 3, 8, 8) + 1.0)
    net(torch.zeros(1, 3, 8, 8) + 3.0)
    assert float(net[0].qat_lo) == 0.0                       # the range always holds 0
    assert float(net[0].qat_hi) == pytest.approx(qat.MOMENTUM * 1.0 + (1 - qat.MOMENTUM) * 3.0)
