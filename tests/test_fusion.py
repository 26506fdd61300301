"""The fusion API and its method registry, on real brackets."""
import numpy as np
import pytest

from edgemef import EdgemefError, fuse, load_brackets
from edgemef.fusion import METHODS, fuse_mertens, pick_reference, register_method
from tests.conftest import mefb_pairs


def _frames():
    rng = np.random.default_rng(1)
    base = rng.random((40, 50, 3)).astype(np.float32)
    return [np.clip(base * 0.3, 0, 1), np.clip(base * 1.8, 0, 1)]


def test_mertens_is_between_the_inputs_and_well_exposed(mefb_dir):
    _, files = mefb_pairs()[0]
    under, over = load_brackets(files)
    out = fuse_mertens([under.image, over.image])
    assert out.shape == under.image.shape and out.dtype == np.float32
    assert under.luminance < float(out.mean()) < over.luminance + 0.05
    assert out.min() >= 0 and out.max() <= 1


def test_fuse_orders_times_and_notes():
    dark, bright = _frames()
    res = fuse([bright, dark], method="average", align=False)
    assert np.allclose(res.image, (dark + bright) / 2, atol=1e-6)
    assert list(res.timings) == ["prepare", "fuse"] and all(t >= 0 for t in res.timings.values())


def test_unknown_method_and_reference():
    with pytest.raises(EdgemefError, match="unknown method"):
        fuse(_frames(), method="nope", align=False)
    with pytest.raises(EdgemefError, match="unknown reference"):
        pick_reference(_frames(), "middle")


def test_pick_reference():
    dark, bright = _frames()
    assert pick_reference([dark, bright], "under") == 0
    assert pick_reference([dark, bright], "over") == 1
    mid = np.full_like(dark, 0.5)
    assert pick_reference([np.zeros_like(dark), mid, np.ones_like(dark)], "auto") == 1


def test_registry_builds_once():
    calls = []

    def factory():
        calls.append(1)
        return lambda imgs: imgs[0]

    register_method("_probe", "test", factory)
    try:
        fuse(_frames(), method="_probe", align=False)
        fuse(_frames(), method="_probe", align=False)
        assert calls == [1]
    finally:
        METHODS.pop("_probe")


def test_network_methods_receive_the_ordered_exif_times_and_report_their_notes():
    """A runtime-like method (it has ``last_notes``) gets the brackets' exposure times, darkest
    first, so networks with exposure-ratio inputs use EXIF instead of estimating."""
    from edgemef.fusion import METHODS, register_method
    from edgemef.io import Bracket

    seen = {}

    class FakeRuntime:
        last_notes: list = []

        def __call__(self, images, exposure_times=None):
            seen["times"] = exposure_times
            self.last_notes = ["ratios from EXIF"]
            return images[-1]

    register_method("fake-net", "test only", FakeRuntime)
    try:
        dark = Bracket(np.full((8, 8, 3), 0.1, np.float32), "a.jpg", 1 / 100)
        bright = Bracket(np.full((8, 8, 3), 0.8, np.float32), "b.jpg", 1 / 10)
        res = fuse([bright, dark], method="fake-net", align=False)
        assert seen["times"] == [1 / 100, 1 / 10]
        assert "ratios from EXIF" in res.notes
    finally:
        METHODS.pop("fake-net", None)
