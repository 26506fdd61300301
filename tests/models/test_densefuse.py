"""DenseFuse: the published size and the shapes it takes and returns."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgemef.models import MODELS, create_model  # noqa: E402


def test_parameter_count_is_the_published_74193():
    model = create_model("densefuse")
    assert sum(p.numel() for p in model.parameters()) == 74_193


def test_registry_entry():
    spec = MODELS["densefuse"]
    assert spec.colour_space == "lab-l" and spec.output == "ldr"


@pytest.mark.parametrize("n", [2, 3])
def test_shapes(n):
    model = create_model("densefuse").eval()
    with torch.no_grad():
        y = model(torch.rand(2, n, 24, 40))
    assert y.shape == (2, 1, 24, 40)
    assert torch.isfinite(y).all()


def test_three_exposures_scale_features_like_two():
    """With N identical frames the fused feature sum is scaled by 2/N, so N=2 and N=3 agree."""
    model = create_model("densefuse").eval()
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        y2, y3 = model(x.repeat(1, 2, 1, 1)), model(x.repeat(1, 3, 1, 1))
    torch.testing.assert_close(y2, y3, rtol=1e-5, atol=1e-5)


def test_rejects_a_single_exposure():
    with pytest.raises(ValueError, match="N>=2"):
        create_model("densefuse")(torch.rand(1, 1, 8, 8))
