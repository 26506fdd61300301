"""Fixtures for the runtime tests: a real DenseFuse exported from torch, real mefb-dev brackets."""
from __future__ import annotations

import numpy as np
import pytest

from edgemef.io import load_brackets
from edgemef.manifest import METADATA_KEY, Manifest
from tests.conftest import mefb_pairs


@pytest.fixture(scope="session")
def real_pair(mefb_dir) -> list[np.ndarray]:
    """A real under/over pair (AmikeusBeaverDam, 536x356), darkest first."""
    _, files = mefb_pairs()[0]
    return [b.image for b in load_brackets(files)]


@pytest.fixture(scope="session")
def densefuse(tmp_path_factory):
    """(torch model, .onnx path, .safetensors path, manifest) of a randomly initialised DenseFuse.

    The last conv is rescaled so the output spans a realistic range (mean ~0.5, std ~0.2), which
    makes parity and seam checks meaningful. The ONNX file has dynamic H/W, opset 18, weights
    inside, and the manifest in its metadata_props; the safetensors file carries it in its header.
    """
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("safetensors")
    from safetensors.torch import save_file

    from edgemef.models import create_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = create_model("densefuse").eval()
    probe = torch.rand(1, 2, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(probe)
        last = model.decoder[-1][0]
        a = 0.2 / float(y.std())
        last.weight.mul_(a)
        last.bias.mul_(a).add_(0.5 - a * float(y.mean()))
    d = tmp_path_factory.mktemp("densefuse")
    manifest = Manifest(model="densefuse", format="onnx")
    onnx_path = d / "densefuse.onnx"
    torch.onnx.export(model, (torch.rand(1, 2, 32, 48),), str(onnx_path), input_names=["brackets"],
                      output_names=["fused"], opset_version=18, dynamo=False,
                      dynamic_axes={"brackets": {2: "h", 3: "w"}, "fused": {2: "h", 3: "w"}})
    proto = onnx.load(str(onnx_path))
    onnx.helper.set_model_props(proto, {METADATA_KEY: manifest.to_json()})
    onnx.save(proto, str(onnx_path))
    st_path = d / "densefuse.safetensors"
    torch_manifest = Manifest(model="densefuse", format="torch")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(st_path),
              metadata={METADATA_KEY: torch_manifest.to_json()})
    return model, onnx_path, st_path, manifest


@pytest.fixture(scope="session")
def torch_infer(densefuse):
    """(1, 2, H, W) numpy -> (1, 1, H, W) numpy through the torch model."""
    import torch

    model = densefuse[0]

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(np.ascontiguousarray(x))).numpy()

    return run


@pytest.fixture(scope="session")
def small_pair(real_pair) -> list[np.ndarray]:
    """The real pair at half size (268x178), aligned already (a tripod pair)."""
    import cv2

    h, w = real_pair[0].shape[:2]
    return [cv2.resize(im, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for im in real_pair]


@pytest.fixture(scope="session")
def network_artifacts(tmp_path_factory, mefb_dir):
    """name -> (Network, .onnx path) for 'twophase' and 'sthdr': the export tests' stand-in networks
    (small configs) exported by edgemef.export (legacy exporter: seconds, not a minute), manifest inside."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import torch

    from edgemef.export.onnx_export import save_onnx, torch_to_onnx
    from tests.export.conftest import TEST_CONFIGS, stand_in_network

    torch.set_num_threads(1)
    cache = {}
    folder = tmp_path_factory.mktemp("networks")

    def get(name: str):
        if name not in cache:
            net = stand_in_network(name, **TEST_CONFIGS[name])
            path = save_onnx(torch_to_onnx(net, exporter="torchscript"), folder / f"{name}.onnx", net.manifest)
            cache[name] = (net, path)
        return cache[name]

    return get
