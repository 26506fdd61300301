"""Loading the network to export: shipped weights, training checkpoints, and clear refusals."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from safetensors.torch import save_file  # noqa: E402

from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.export.source import load_network  # noqa: E402
from edgemef.manifest import METADATA_KEY, Manifest  # noqa: E402
from edgemef.models import create_model  # noqa: E402


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(3)
    return {k: v.contiguous() for k, v in create_model("densefuse").state_dict().items()}


def test_shipped_weights_carry_their_manifest(state, tmp_path):
    m = Manifest(model="densefuse", format="torch", chroma="saturation", pad_multiple=4)
    path = tmp_path / "w.safetensors"
    save_file(state, str(path), metadata={METADATA_KEY: m.to_json(), "edgemef.kind": "weights"})
    net = load_network("densefuse", path)
    assert (net.manifest.chroma, net.manifest.pad_multiple, net.in_channels) == ("saturation", 4, 2)
    assert torch.equal(net.module.state_dict()["decoder.3.0.weight"], state["decoder.3.0.weight"])
    assert len(net.weights_digest) == 16 and not net.module.training


def test_training_checkpoint_uses_its_model_tensors(state, tmp_path):
    tensors = {f"model/{k}": v for k, v in state.items()} | {"optim/0/exp_avg": torch.zeros(3)}
    path = tmp_path / "checkpoint.safetensors"
    save_file(tensors, str(path), metadata={"edgemef.kind": "checkpoint", "edgemef.step": "5"})
    net = load_network("densefuse", path)
    assert torch.equal(net.module.state_dict()["encoder.0.0.bias"], state["encoder.0.0.bias"])


def test_refusals(state, tmp_path):
    other = tmp_path / "other.safetensors"
    save_file(state, str(other), metadata={METADATA_KEY: Manifest(model="sthdr", format="torch").to_json()})
    with pytest.raises(EdgemefError, match="is a 'sthdr' network, not 'densefuse'"):
        load_network("densefuse", other)
    broken = tmp_path / "broken.safetensors"
    save_file({k: v for k, v in state.items() if "decoder" not in k}, str(broken))
    with pytest.raises(EdgemefError, match="weights do not fit 'densefuse'"):
        load_network("densefuse", broken)
    pt = tmp_path / "w.pt"
    pt.write_bytes(b"x")
    with pytest.raises(EdgemefError, match="must be a .safetensors checkpoint"):
        load_network("densefuse", pt)
    with pytest.raises(EdgemefError, match="no such weights file"):
        load_network("densefuse", tmp_path / "missing.safetensors")
