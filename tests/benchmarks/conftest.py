"""Fixtures for the benchmark tests: DenseFuse weights as a checkpoint file, real mefb-dev brackets.

The weights are the bundled checkpoint when it is shipped; until then the export tests' stand-in
(seeded random features, last convolution fitted to average the frames: meaningful images, so
PSNR and the int8 quality check mean something), saved as a .safetensors checkpoint.
"""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bench_weights(mefb_dir, tmp_path_factory) -> Path:
    """A DenseFuse .safetensors checkpoint that ``load_network`` reads."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pytest.importorskip("safetensors")
    import torch
    from safetensors.torch import save_file

    from edgemef.export.source import bundled_weights
    from edgemef.manifest import METADATA_KEY

    torch.set_num_threads(1)
    if bundled_weights("densefuse").is_file():
        return bundled_weights("densefuse")
    from tests.export.conftest import stand_in_network

    net = stand_in_network("densefuse")
    path = tmp_path_factory.mktemp("bench-weights") / "densefuse.safetensors"
    m = net.manifest
    m.format = "torch"
    save_file({k: v.contiguous() for k, v in net.module.state_dict().items()}, str(path),
              metadata={METADATA_KEY: m.to_json()})
    return path
