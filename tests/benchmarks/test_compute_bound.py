"""MAC counting against hand-computed figures, and the peak measurement."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgemef.benchmarks.compute_bound import bound_ms, conv_macs, measure_peaks  # noqa: E402


def test_densefuse_macs_match_the_hand_count():
    from edgemef.models import create_model

    h, w = 16, 24
    # Encoder, per exposure (3x3 convs): 1->16, then the dense block 16->16, 32->16, 48->16.
    encoder = (1 * 16 + 16 * 16 + 32 * 16 + 48 * 16) * 9  # 13,968 MACs per pixel
    # Decoder on the fused features: 64->64->32->16->1.
    decoder = (64 * 64 + 64 * 32 + 32 * 16 + 16 * 1) * 9  # 60,048 MACs per pixel
    expected = (2 * encoder + decoder) * h * w  # two exposures
    assert expected == 33_785_856
    got = conv_macs(create_model("densefuse"), (1, 2, h, w))
    assert got["macs"] == expected
    assert len(got["layers"]) == 2 * 4 + 4  # 4 encoder convs per exposure (one pass each) + 4 decoder convs
    assert got["device"] == "meta"


def test_groups_and_transposed_convolutions():
    net = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1, groups=2), torch.nn.ConvTranspose2d(8, 2, 2, stride=2))
    got = conv_macs(net, (1, 4, 5, 6))
    # grouped conv: 5*6 outputs x 8 cout x (4/2) cin x 9 taps; transposed: 5*6 inputs x 8 cin x 2 cout x 4 taps
    assert [layer["macs"] for layer in got["layers"]] == [5 * 6 * 8 * 2 * 9, 5 * 6 * 8 * 2 * 4]


def test_bound_ms_counts_two_ops_per_mac():
    assert bound_ms(50_000_000_000, 100.0) == pytest.approx(1000.0)


def test_peaks_are_positive():
    p = measure_peaks(1, n=256, repeats=1)
    assert p["fp32_gflops"] > 0 and p["int8_gops"] > 0
    assert p["threads"] == 1 and p["size"] == 256
    assert p["fp32_method"] in p["methods"] and "int8" in p["int8_method"]


def test_combined_peaks_keep_the_best_window():
    a = {"methods": {"torch fp32 matmul": 50.0, "onnxruntime int8 MatMulInteger": 300.0}, "size": 8, "threads": 1,
         "repeats": 1}
    b = {"methods": {"torch fp32 matmul": 80.0, "onnxruntime int8 MatMulInteger": "RuntimeError: x"}, "size": 8,
         "threads": 1, "repeats": 1}
    from edgemef.benchmarks.compute_bound import combine_peaks

    p = combine_peaks(a, b)
    assert p["fp32_gflops"] == 80.0 and p["int8_gops"] == 300.0 and p["windows"] == 2


def test_further_forward_inputs_are_passed():
    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 1)

        def forward(self, x, ratios):
            return self.conv(x) * ratios.reshape(-1, 1, 1, 1)[:1]

    import numpy as np

    got = conv_macs(TwoInputs(), (1, 3, 4, 5), [np.ones((1, 2), np.float32)])
    assert got["macs"] == 4 * 5 * 4 * 3
