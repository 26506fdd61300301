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


def stand_in_network(name: str):
    """A registry network with seeded random features whose last convolution is fitted, in closed
    form (ridge least squares over real frames), to output the mean of its input frames: a crude
    average fusion with realistic activations, so parity is measured on meaningful images."""
    import torch
    import torch.nn.functional as F

    from edgemef.export.source import from_module
    from edgemef.models import create_model
    from edgemef.netio import prepare_input

    torch.manual_seed(0)
    model = create_model(name).eval()
    net = from_module(name, model)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    frames = []
    for _, files in [(n, f) for n, f in mefb_pairs() if n in FIT_SCENES]:
        from edgemef.io import load_brackets

        imgs = [b.image[::4, ::4] for b in load_brackets(files)][: net.manifest.exposures]
        frames.append(torch.from_numpy(prepare_input(imgs, net.manifest)[0]))
    feats = []
    hook = last.register_forward_pre_hook(lambda m, args: feats.append(args[0].detach()))
    with torch.no_grad():
        for x in frames:
            model(x)
    hook.remove()
    rows, targets = [], []
    for f, x in zip(feats, frames):
        pad = F.pad(f, last._reversed_padding_repeated_twice, mode=last.padding_mode) \
            if last.padding_mode != "zeros" else F.pad(f, [p for p in last.padding[::-1] for _ in (0, 1)])
        cols = F.unfold(pad, last.kernel_size)[0].T  # (pixels, Cin * k * k)
        rows.append(torch.cat([cols, torch.ones(cols.shape[0], 1)], 1))
        c_out = last.out_channels
        targets.append(x[0].reshape(-1, c_out, *x.shape[2:]).mean(0).reshape(c_out, -1).T)
    a, b = torch.cat(rows).double(), torch.cat(targets).double()
    sol = torch.linalg.solve(a.T @ a + RIDGE * torch.eye(a.shape[1], dtype=a.dtype), a.T @ b)
    with torch.no_grad():
        last.weight.copy_(sol[:-1].T.reshape(last.weight.shape).float())
        last.bias.copy_(sol[-1].float())
    return from_module(name, model)


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
            cache[name] = load_network(name) if bundled_weights(name).is_file() else stand_in_network(name)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def exporters(networks, scene_dirs):
    """name -> Exporter with fast test options (shared fp32 ONNX, calibration table, QDQ graphs)."""
    from edgemef.export.pipeline import Exporter, ExportOptions

    cache = {}

    def get(name: str):
        if name not in cache:
            opts = ExportOptions(calib_dir=scene_dirs["calib"], calib_crop=160, calib_method="percentile",
                                 parity_dir=scene_dirs["parity"], parity_pairs=2, parity_max_side=256,
                                 latency=False, threads=1)
            cache[name] = Exporter(networks(name), opts)
        return cache[name]

    return get
