"""Deformable convolution (v1 and modulated v2) in plain PyTorch, sampled with ``grid_sample``.

No torchvision: the sampling is one ``F.grid_sample`` call (bilinear, zero padding,
``align_corners=True``), the weighting one 1x1 ``F.conv2d`` over the sampled columns, so the layer
exports to ONNX as GridSample (opset 16+) + Conv and runs on every backend that has those.

Offset layout (the same as torchvision's ``deform_conv2d`` and ONNX ``DeformConv``, opset 19):
``offset`` is ``(B, 2 * G * kh * kw, Ho, Wo)`` with channel ``2 * (g * kh * kw + i * kw + j) + 0``
the y (row) and ``+ 1`` the x (column) displacement, in pixels, of kernel tap (i, j) of offset
group g; ``mask`` (v2) is ``(B, G * kh * kw, Ho, Wo)`` with channel ``g * kh * kw + i * kw + j``.
Tap (i, j) of output pixel (oy, ox) samples the input at
``(oy * stride - pad + i * dilation + dy, ox * stride - pad + j * dilation + dx)``; taps outside
the image read zeros, exactly as torchvision and ONNX DeformConv do, so a later exporter can swap
in ``DeformConv`` with the same tensors. The input must be at least 2x2.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair


def _check_shapes(input, offset, weight, mask, og, k, ho, wo) -> None:
    b, cin, h, w = input.shape
    cin_g = weight.shape[1]
    if cin % cin_g or offset.shape[1] % (2 * k) or offset.shape[0] != b:
        raise ValueError(f"inconsistent shapes: input {tuple(input.shape)}, weight {tuple(weight.shape)}, "
                         f"offset {tuple(offset.shape)}")
    if cin % og or tuple(offset.shape[-2:]) != (ho, wo):
        raise ValueError(f"offset {tuple(offset.shape)} does not fit {og} offset groups of {cin} channels "
                         f"and a {ho}x{wo} output")
    if h < 2 or w < 2:
        raise ValueError(f"deform_conv2d needs an input of at least 2x2, got {h}x{w}")
    if mask is not None and tuple(mask.shape) != (b, og * k, ho, wo):
        raise ValueError(f"mask must be {(b, og * k, ho, wo)}, got {tuple(mask.shape)}")


def deform_conv2d(input: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, stride=1, padding=0, dilation=1,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Deformable 2-D convolution (torchvision's signature and semantics).

    Args:
        input: (B, Cin, H, W).
        offset: (B, 2 * G * kh * kw, Ho, Wo), (y, x) pairs per tap (see the module docstring).
        weight: (Cout, Cin / groups, kh, kw); ``groups`` is Cin / weight.shape[1].
        bias: (Cout,) or None.
        stride, padding, dilation: int or (h, w) pair.
        mask: (B, G * kh * kw, Ho, Wo) modulation (DCNv2), or None for DCNv1.

    Returns:
        (B, Cout, Ho, Wo).
    """
    if input.ndim != 4 or offset.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"deform_conv2d expects 4-D input/offset/weight, got {tuple(input.shape)}, "
                         f"{tuple(offset.shape)}, {tuple(weight.shape)}")
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    cin = input.shape[1]
    cout, cin_g, kh, kw = weight.shape
    k = kh * kw
    og = offset.shape[1] // (2 * k)
    if not torch.jit.is_tracing():  # checks on traced sizes would only warn and freeze
        h, w = input.shape[-2:]
        ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        _check_shapes(input, offset, weight, mask, og, k, ho, wo)
    # Written without explicit sizes (unflatten/flatten, cumsum grids, sizes as tensors) and with
    # the ones derived from data (x * 0 + 1: the legacy ONNX tracer can freeze ones_like/arange
    # sizes to the example's), so an export keeps H and W dynamic.
    ones = offset[:, :1] * 0 + 1                                           # (B, 1, Ho, Wo)
    oy = ((ones.cumsum(2) - 1) * sh - ph).unsqueeze(1)                     # (B, 1, 1, Ho, Wo)
    ox = ((ones.cumsum(3) - 1) * sw - pw).unsqueeze(1)
    opts = dict(dtype=input.dtype, device=input.device)
    ky = (torch.arange(kh, **opts) * dh).repeat_interleave(kw).view(1, 1, k, 1, 1)
    kx = (torch.arange(kw, **opts) * dw).repeat(kh).view(1, 1, k, 1, 1)
    off = offset.unflatten(1, (og, k, 2))                                  # (B, G, K, 2, Ho, Wo)
    # grid_sample, align_corners=True: pixel p -> 2 p / (size - 1) - 1; zeros outside the image.
    h1 = (input[:1, :1, :, :1] * 0 + 1).sum() - 1
    w1 = (input[:1, :1, :1, :] * 0 + 1).sum() - 1
    gx = (off[:, :, :, 1] + ox + kx) * (2.0 / w1) - 1.0
    gy = (off[:, :, :, 0] + oy + ky) * (2.0 / h1) - 1.0
    grid = torch.stack([gx, gy], dim=-1).flatten(0, 1).flatten(1, 2)      # (B*G, K*Ho, Wo, 2)
    cols = F.grid_sample(input.unflatten(1, (og, -1)).flatten(0, 1), grid, mode="bilinear",
                         padding_mode="zeros", align_corners=True)        # (B*G, Cin/G, K*Ho, Wo)
    cols = cols.unflatten(2, (k, -1)).unflatten(0, (-1, og))             # (B, G, Cin/G, K, Ho, Wo)
    if mask is not None:
        cols = cols * mask.unflatten(1, (og, 1, k))
    cols = cols.flatten(1, 3)                                              # channel = c * K + tap
    return F.conv2d(cols, weight.reshape(cout, cin_g * k, 1, 1), bias, groups=cin // cin_g)


class DeformConv2d(nn.Module):
    """Deformable convolution layer; offsets (and the v2 mask) come from the caller.

    Same constructor and ``forward(x, offset, mask=None)`` as ``torchvision.ops.DeformConv2d``;
    with zero offsets and no mask it equals ``nn.Conv2d`` with the same weights (zero padding).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"channels {in_channels}->{out_channels} not divisible by groups={groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation, self.groups = _pair(padding), _pair(dilation), groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform weights and uniform bias, as ``nn.Conv2d`` initialises them."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight[0].numel())
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, Cin, H, W), (B, 2*G*kh*kw, Ho, Wo)[, (B, G*kh*kw, Ho, Wo)] -> (B, Cout, Ho, Wo)."""
        return deform_conv2d(x, offset, self.weight, self.bias, self.stride, self.padding,
                             self.dilation, mask)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, groups={self.groups}")
