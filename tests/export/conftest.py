"""Fixtures for the export tests: a network per registry model, one shared Exporter per model.

The network is the shipped checkpoint when it is bundled; until then a stand-in: seeded random
features with the last convolution fitted in closed form to average the input frames (weaker than
a trained net for parity, but with realistic activations and the same code path). Real brackets come from mefb-dev: calibration and
parity use different scenes, downscaled/cropped to keep the matrix fast.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MEFB, mefb_pairs

CALIB_SCENES = ("Candle", "Cave", "ColorChecker", "Kluki")  # calibration only
PARITY_SCENES = ("AmikeusBeaverDam", "Venice")  # parity only
RIDGE = 0.1  # keeps the fitted weights small, as trained weights are
FIT_SCENES = ("Door", "Exploratorium", "House")  # fitting the stand-in's last layer only


def link_scenes(root: Path, scenes) -> Path:
    """A folder of symlinks to some mefb-dev scenes (nothing is copied)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in scenes:
        (root / name).symlink_to(MEFB / name, target_is_directory=True)
    return root


# Smaller configs of the same architectures for the export matrix (same layers, fewer channels);
# every network also has one full-size export in the suite (test_export_full_size.py).
TEST_CONFIGS = {
    "densefuse": {},
    "twophase": {"unet_base": 8, "amnet_features": 16, "amnet_blocks": 2, "amnet_layers": 2, "amnet_growth": 8},
    "sthdr": {"channels": 8},
}


# ONNX exporter per network in the matrix: torch.export needs ~40 s for STHDR (three scales of one
# weight set, traced op by op) against ~2 s for the legacy tracer; the dynamo path of STHDR is
# exported once, in test_export_full_size.py
TEST_EXPORTER = {"sthdr": "torchscript"}


def _hdr_merge(x, ratios, reference: int, gamma: float = 2.2):
    """A classical HDR merge as the stand-in's target: hat-weighted mean of I_i ** gamma / t_i."""
    import torch

    n = ratios.shape[1]
    frames = x.unflatten(1, (n, 3)).clamp(0.0, 1.0)
    t = (ratios / ratios[:, reference: reference + 1]).reshape(1, n, 1, 1, 1)
    w = 1.0 - (2.0 * frames - 1.0).abs() ** 12 + 1e-4
    return (w * frames.pow(gamma) / t).sum(1) / w.sum(1)


def stand_in_network(name: str, **config):
    """A registry network with seeded random features whose last convolution is fitted, in closed
    form (ridge least squares over real frames), to a simple fusion of its inputs: the mean of the
    frames (for the two-phase net, the input of its sigmoid head: a flatter image; fitting the
    logit instead gives large last-layer weights that int8 cannot follow). Crude fusion with
    realistic activations, so parity is measured on meaningful images.

    STHDR's radiance comes through its guides (coarse output upsampled, the reference frame's
    radiance at the coarsest scale), which random instance-normalised features cannot reproduce
    by a linear fit; its stand-in keeps that path: the SAM image conv is zeroed (stage 1 = the
    guide) and the last conv is fitted to the residual towards a hat-weighted HDR merge of the
    frames, clipped to +-1 (detail and highlight recovery within a reference white), on the
    finest scale."""
    import torch
    import torch.nn.functional as F

    from edgemef.export.source import from_module
    from edgemef.io import load_brackets
    from edgemef.models import create_model
    from edgemef.netio import prepare_input

    torch.manual_seed(0)
    model = create_model(name, **config).eval()
    net = from_module(name, model, config=config or None)
    m = net.manifest
    last = [mod for mod in model.modules() if isinstance(mod, torch.nn.Conv2d)][-1]
    hdr = name == "sthdr"
    if hdr:
        with torch.no_grad():
            for p in (model.merge.sam.conv2.weight, model.merge.sam.conv2.bias, last.weight, last.bias):
                p.zero_()
    samples = []
    for _, files in [(n, f) for n, f in mefb_pairs() if n in FIT_SCENES]:
        imgs = [b.image[::4, ::4] for b in load_brackets(files)][: m.exposures]
        x, ctx = prepare_input(imgs, m)
        extra = [torch.from_numpy(ctx.extra[e["name"]]) for e in m.extra_inputs]
        samples.append((torch.from_numpy(x), extra))
    feats, stage1 = [], []
    hooks = [last.register_forward_pre_hook(lambda mod, args: feats.append(args[0].detach()))]
    if hdr:
        hooks.append(model.merge.sam.register_forward_hook(lambda mod, args, out: stage1.append(out[1].detach())))
    calls = []
    with torch.no_grad():
        for x, extra in samples:
            feats.clear(), stage1.clear()
            model(x, *extra)
            calls.append((feats[-1], stage1[-1] if hdr else None))  # the finest scale runs last
    for h in hooks:
        h.remove()
    rows, targets = [], []
    for (f, s1), (x, extra) in zip(calls, samples):
        pad = F.pad(f, last._reversed_padding_repeated_twice, mode=last.padding_mode) \
            if last.padding_mode != "zeros" else F.pad(f, [p for p in last.padding[::-1] for _ in (0, 1)])
        cols = F.unfold(pad, last.kernel_size)[0].T  # (pixels, Cin * k * k)
        rows.append(torch.cat([cols, torch.ones(cols.shape[0], 1)], 1))
        c_out = last.out_channels
        if hdr:
            ref = int(m.extra_inputs[0]["reference"])
            t = (_hdr_merge(x[..., : f.shape[2], : f.shape[3]], extra[0], ref)[0] - s1[0]).clamp(-1.0, 1.0)
        else:
            t = x[0].reshape(-1, c_out, *x.shape[2:]).mean(0)  # (two-phase: before its sigmoid head)
        targets.append(t.reshape(c_out, -1).T)
    a, b = torch.cat(rows).double(), torch.cat(targets).double()
    sol = torch.linalg.solve(a.T @ a + RIDGE * torch.eye(a.shape[1], dtype=a.dtype), a.T @ b)
    with torch.no_grad():
        last.weight.copy_(sol[:-1].T.reshape(last.weight.shape).float())
        last.bias.copy_(sol[-1].float())
    return from_module(name, model, config=config or None)


@pytest.fixture(scope="session")
def scene_dirs(mefb_dir, tmp_path_factory) -> dict[str, Path]:
    """{'calib': folder, 'parity': folder} of symlinked mefb-dev scenes."""
    have = {n for n, _ in mefb_pairs()}
    if not set(CALIB_SCENES + PARITY_SCENES + FIT_SCENES) <= have:
        pytest.skip("mefb-dev lacks the scenes these tests use")
    base = tmp_path_factory.mktemp("scenes")
    return {"calib": link_scenes(base / "calib", CALIB_SCENES), "parity": link_scenes(base / "parity", PARITY_SCENES)}


@pytest.fixture(scope="session")
def networks():
    """name -> Network: the bundled weights when shipped, else the stand-in (cached)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import torch

    from edgemef.export.source import bundled_weights, load_network

    torch.set_num_threads(1)
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = (load_network(name) if bundled_weights(name).is_file()
                           else stand_in_network(name, **TEST_CONFIGS.get(name, {})))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def exporters(networks, scene_dirs):
    """name -> Exporter with fast test options (shared fp32 ONNX, calibration table, QDQ graphs)."""
    from edgemef.export.pipeline import Exporter, ExportOptions

    cache = {}

    def get(name: str, **changes):
        """The shared exporter of ``name``; with ``changes``, one derived from it (cached too) that
        shares its calibration data, table and QDQ graphs (``Exporter.with_options``)."""
        if changes:
            key = (name, *sorted(changes.items()))
            if key not in cache:
                base = get(name)
                base.calibration_data()  # gathered once, shared with the derived exporter
                cache[key] = base.with_options(**changes)
            return cache[key]
        if name not in cache:
            opts = ExportOptions(calib_dir=scene_dirs["calib"], calib_crop=160, calib_method="percentile",
                                 parity_dir=scene_dirs["parity"], parity_pairs=2, parity_max_side=256,
                                 latency=False, threads=1, exporter=TEST_EXPORTER.get(name, "dynamo"))
            cache[name] = Exporter(networks(name), opts)
        return cache[name]

    return get
