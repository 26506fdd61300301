"""Parameters and multiply-accumulates of STHDR and its ablations, next to the paper's Table 4.

Run ``python -m edgemef.models.sthdr_profile [--size H W]``. Counting (forward hooks, batch 1, on
PyTorch's meta device, so nothing is computed and 512x512 takes a second):

* ``nn.Conv2d``: output elements x Cin/groups x kh x kw MACs; ``nn.ConvTranspose2d``: input
  elements x Cout/groups x kh x kw; bias additions are not counted.
* ``DeformConv2d``: its convolution counted like a conv, plus the bilinear sampling approximated
  as 5 MACs per sampled value (4 corner weights and the modulation mask); building the sampling
  grid is not counted.
* ``GlobalContextBlock``: the attention-weighted sum, C x H x W MACs (its 1x1 convs are convs).
* Element-wise work (activations, instance/layer norm, pooling, resizing, the I ** 2.2 input) is
  not counted, as thop and ptflops don't count it.

FLOPs are 2 x MACs. The paper reports 1.5641 M parameters and 48.17 "GFLOPs" at 512x512 without
saying how it counted. Ours (3 exposures): 1.151 M parameters (0.74x) and 115 GMACs (2.4x the
paper's figure read as MACs). The paper gives neither blocks per U-Net level nor the widths;
our guess (one HIN block per level, widths 32/64/128) spends ~60% of the MACs in the four
32-channel HIN blocks at full resolution and has few parameters at the coarse levels, while the
paper's compute-to-parameter ratio (31 k vs our 100 k "pixels per parameter") says its
parameters sit mostly at coarse resolutions, where they cost little. The 48.17 G is most likely
MACs (what thop/ptflops report): read as FLOPs it leaves 24 GMACs, ~70 k MACs per pixel per
scale, fewer than eight 32-channel 3x3 convs, less than the full-resolution layers the paper
describes (per-frame encoder, SCM conv + deformable conv per frame, merge conv, two U-Nets).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
from torch import nn

from edgemef.helpformat import DefaultsFormatter
from edgemef.models.layers import DeformConv2d, GlobalContextBlock
from edgemef.models.sthdr import ABLATIONS, STHDR, STHDRConfig, ablation_config

PAPER = {"name": "paper Table 4 (SCM_MS)", "exposures": 3, "params": 1_564_100, "gflops": 48.17}
SAMPLE_MACS = 5  # per bilinear sample of a modulated deformable conv (4 corners + mask)


@dataclass
class Profile:
    """Counts for one configuration at one input size.

    Attributes:
        params: trainable parameters.
        macs: multiply-accumulates of one forward pass (batch 1), sampling included.
        sampling_macs: the part of ``macs`` spent on deformable sampling (approximate).
    """

    params: int
    macs: int
    sampling_macs: int

    @property
    def flops(self) -> int:
        """2 x MACs."""
        return 2 * self.macs


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def profile(config: STHDRConfig, height: int = 512, width: int = 512) -> Profile:
    """Parameters and MACs of STHDR(config) on one (1, 3N, height, width) input."""
    model = STHDR(config)
    params = count_parameters(model)
    model = model.to("meta").eval()
    totals = {"macs": 0, "sampling": 0}

    def conv_hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        if isinstance(mod, nn.ConvTranspose2d):
            totals["macs"] += inp[0].numel() * mod.out_channels // mod.groups * k
        else:
            totals["macs"] += out.numel() * mod.in_channels // mod.groups * k

    def dcn_hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        totals["macs"] += out.numel() * mod.in_channels // mod.groups * k
        samples = mod.in_channels * k * out.shape[-2] * out.shape[-1] * out.shape[0]
        totals["sampling"] += SAMPLE_MACS * samples

    def gc_hook(mod, inp, out):
        totals["macs"] += inp[0].numel()

    hooks = []
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, DeformConv2d):
            hooks.append(mod.register_forward_hook(dcn_hook))
        elif isinstance(mod, GlobalContextBlock):
            hooks.append(mod.register_forward_hook(gc_hook))
    n = config.exposures
    with torch.no_grad():
        model(torch.empty(1, 3 * n, height, width, device="meta"), torch.ones(1, n, device="meta"))
    for h in hooks:
        h.remove()
    return Profile(params, totals["macs"] + totals["sampling"], totals["sampling"])


def table(height: int = 512, width: int = 512) -> list[dict]:
    """One row per (ablation, exposures): name, exposures, params, gmacs, gflops, sampling_gmacs."""
    rows = []
    for exposures in (3, 2):
        for name in ABLATIONS:
            p = profile(ablation_config(name, exposures=exposures), height, width)
            rows.append({"name": name, "exposures": exposures, "params": p.params, "gmacs": p.macs / 1e9,
                         "gflops": p.flops / 1e9, "sampling_gmacs": p.sampling_macs / 1e9})
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m edgemef.models.sthdr_profile", formatter_class=DefaultsFormatter,
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, nargs=2, default=[512, 512], metavar=("H", "W"),
                    help="input height and width to count parameters and FLOPs at")
    args = ap.parse_args(argv)
    h, w = args.size
    rows = table(h, w)
    print(f"STHDR at {h}x{w}, batch 1 (MACs by forward hooks; FLOPs = 2 x MACs)")
    print(f"{'variant':<24} {'N':>2} {'params':>10} {'GMACs':>8} {'GFLOPs':>8} {'DCN sampling GMACs':>19}")
    for r in rows:
        print(f"{r['name']:<24} {r['exposures']:>2} {r['params']:>10,} {r['gmacs']:>8.2f} {r['gflops']:>8.2f} "
              f"{r['sampling_gmacs']:>19.2f}")
    print(f"{PAPER['name']:<24} {PAPER['exposures']:>2} {PAPER['params']:>10,} {'?':>8} {PAPER['gflops']:>8.2f}")
    full = rows[0]
    scale = (h * w) / (512 * 512)
    print(f"\nparams: ours / paper = {full['params'] / PAPER['params']:.2f}; compute: ours "
          f"{full['gmacs']:.1f} GMACs vs the paper's {PAPER['gflops'] * scale:.1f} at this size "
          f"(ratio {full['gmacs'] / (PAPER['gflops'] * scale):.2f} if the paper's figure is MACs, "
          f"{full['gflops'] / (PAPER['gflops'] * scale):.2f} if it is FLOPs)")


if __name__ == "__main__":
    main()
