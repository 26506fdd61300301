"""Deformable convolution: against a direct loop, against nn.Conv2d, and through ONNX Runtime."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgemef.models.layers import DeformConv2d, deform_conv2d  # noqa: E402

torch.set_num_threads(1)


def _bilinear_zero(img, y, x):
    """img (C, H, W) sampled at real (y, x); corners outside the image read 0 (torchvision rule)."""
    c, h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return img.new_zeros(c)
    y0, x0 = math.floor(float(y.detach())), math.floor(float(x.detach()))
    ly, lx = y - y0, x - x0
    out = img.new_zeros(c)
    for yy, xx, wgt in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx),
                        (y0 + 1, x0, ly * (1 - lx)), (y0 + 1, x0 + 1, ly * lx)):
        if 0 <= yy < h and 0 <= xx < w:
            out = out + wgt * img[:, yy, xx]
    return out


def reference_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask):
    """The definition, one output pixel and one kernel tap at a time (slow; tiny inputs only)."""
    b, cin, h, w = x.shape
    cout, cin_g, kh, kw = weight.shape
    groups, k = cin // cin_g, kh * kw
    og = offset.shape[1] // (2 * k)
    ho, wo = offset.shape[-2:]
    out = []
    for n in range(b):
        pixels = []
        for oy in range(ho):
            for ox in range(wo):
                col = []
                for g in range(og):
                    chans = slice(g * cin // og, (g + 1) * cin // og)
                    taps = []
                    for i in range(kh):
                        for j in range(kw):
                            t = i * kw + j
                            y = oy * stride - padding + i * dilation + offset[n, 2 * (g * k + t), oy, ox]
                            xx = ox * stride - padding + j * dilation + offset[n, 2 * (g * k + t) + 1, oy, ox]
                            v = _bilinear_zero(x[n, chans], y, xx)
                            if mask is not None:
                                v = v * mask[n, g * k + t, oy, ox]
                            taps.append(v)
                    col.append(torch.stack(taps, dim=1))       # (Cin/og, K)
                col = torch.cat(col, dim=0)                    # (Cin, K)
                vals = []
                for o in range(cout):
                    gi = o // (cout // groups)
                    v = (weight[o].reshape(cin_g, k) * col[gi * cin_g:(gi + 1) * cin_g]).sum()
                    vals.append(v + (bias[o] if bias is not None else 0))
                pixels.append(torch.stack(vals))
        out.append(torch.stack(pixels, dim=1).reshape(cout, ho, wo))
    return torch.stack(out)


CASES = [  # (cin, cout, groups, offset groups, stride, padding, dilation, modulated)
    (2, 3, 1, 1, 1, 1, 1, True),
    (4, 2, 2, 2, 1, 1, 1, False),
    (2, 2, 1, 2, 2, 2, 2, True),
]


@pytest.mark.parametrize("cin,cout,groups,og,stride,pad,dil,modulated", CASES)
def test_values_and_gradients_match_the_direct_loop(cin, cout, groups, og, stride, pad, dil, modulated):
    g = torch.Generator().manual_seed(0)
    h, w, kh = 5, 4, 3
    ho = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    wo = (w + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    x = torch.rand(1, cin, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    # Offsets up to +-2.5 px: taps land inside, across the border and fully outside the image.
    offset = ((torch.rand(1, 2 * og * 9, ho, wo, generator=g, dtype=torch.float64) - 0.5) * 5).requires_grad_()
    weight = torch.randn(cout, cin // groups, kh, kh, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(cout, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(1, og * 9, ho, wo, generator=g, dtype=torch.float64, requires_grad=True) if modulated else None
    leaves = [x, offset, weight, bias] + ([mask] if modulated else [])

    fast = deform_conv2d(x, offset, weight, bias, stride, pad, dil, mask)
    slow = reference_deform_conv2d(x, offset, weight, bias, stride, pad, dil, mask)
    assert fast.shape == (1, cout, ho, wo)
    torch.testing.assert_close(fast, slow, rtol=1e-10, atol=1e-10)
    up = torch.randn(fast.shape, generator=g, dtype=torch.float64)
    g_fast = torch.autograd.grad((fast * up).sum(), leaves)
    g_slow = torch.autograd.grad((slow * up).sum(), leaves)
    for name, a, b in zip(["input", "offset", "weight", "bias", "mask"], g_fast, g_slow):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9, msg=f"gradient wrt {name}")


def test_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 2, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    off = ((torch.rand(1, 18, 4, 4, generator=g, dtype=torch.float64) - 0.5) * 3).requires_grad_()
    wt = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    m = torch.rand(1, 9, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: deform_conv2d(a[0], a[1], a[2], None, 1, 1, 1, a[3]),
                                    (x, off, wt, m))


@pytest.mark.parametrize("stride,pad,dil,groups", [(1, 1, 1, 1), (2, 0, 1, 2), (1, 2, 2, 1)])
def test_zero_offsets_equal_conv2d(stride, pad, dil, groups):
    conv = torch.nn.Conv2d(4, 6, 3, stride=stride, padding=pad, dilation=dil, groups=groups)
    dcn = DeformConv2d(4, 6, 3, stride=stride, padding=pad, dilation=dil, groups=groups)
    dcn.load_state_dict(conv.state_dict())
    x = torch.randn(2, 4, 11, 9)
    ref = conv(x)
    off = torch.zeros(2, 2 * 9 * 2, *ref.shape[-2:])          # two offset groups, all zero
    torch.testing.assert_close(dcn(x, off), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(dcn(x, off, torch.ones(2, 18, *ref.shape[-2:])), ref, rtol=1e-5, atol=1e-5)


def test_integer_offsets_shift_the_input():
    """Offset (dy, dx) = (0, +1) on every tap of a 1x1 kernel reads the right-hand neighbour."""
    x = torch.arange(20.0).view(1, 1, 4, 5)
    off = torch.zeros(1, 2, 4, 5)
    off[:, 1] = 1.0
    y = deform_conv2d(x, off, torch.ones(1, 1, 1, 1))
    expected = torch.cat([x[..., 1:], torch.zeros(1, 1, 4, 1)], dim=-1)
    torch.testing.assert_close(y, expected)


def test_rejects_bad_shapes():
    x = torch.rand(1, 4, 6, 6)
    with pytest.raises(ValueError, match="offset"):
        deform_conv2d(x, torch.zeros(1, 18, 5, 5), torch.rand(2, 4, 3, 3), padding=1)
    with pytest.raises(ValueError, match="mask"):
        deform_conv2d(x, torch.zeros(1, 18, 6, 6), torch.rand(2, 4, 3, 3), padding=1, mask=torch.ones(1, 3, 6, 6))


class _TinyDCN(torch.nn.Module):
    """Offsets and mask predicted from the input by a 1x1 conv, then a modulated DCN."""

    def __init__(self):
        super().__init__()
        self.offsets = torch.nn.Conv2d(4, 27 * 2, 1)
        torch.nn.init.normal_(self.offsets.weight, std=0.5)
        self.dcn = DeformConv2d(4, 5, 3, padding=1)

    def forward(self, x):
        o = self.offsets(x)
        return self.dcn(x, o[:, :36], torch.sigmoid(o[:, 36:]))


@pytest.mark.parametrize("dynamo", [False, True])
def test_onnx_export_runs_in_onnxruntime(tmp_path, dynamo):
    """Exported with dynamic H and W (GridSample, opset 17); ORT matches torch within 1e-4 at two sizes."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    if dynamo:
        pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    model = _TinyDCN().eval()
    x = torch.rand(1, 4, 12, 16)
    path = tmp_path / "dcn.onnx"
    if dynamo:
        dims = {2: torch.export.Dim("h", min=4), 3: torch.export.Dim("w", min=4)}
        kwargs = dict(dynamo=True, external_data=False, dynamic_shapes={"x": dims})
    else:
        kwargs = dict(dynamo=False, opset_version=17, dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}})
    torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["y"], **kwargs)
    assert "GridSample" in {n.op_type for n in onnx.load(str(path)).graph.node}
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for xi in (x, torch.rand(1, 4, 9, 21)):
        with torch.no_grad():
            ref = model(xi).numpy()
        np.testing.assert_allclose(sess.run(None, {"x": xi.numpy()})[0], ref, atol=1e-4, rtol=0)
