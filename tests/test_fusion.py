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


def test_the_library_takes_the_arrays_a_user_has(mefb_dir, tmp_path):
    """uint8/uint16, grey and RGBA arrays and file paths fuse like the float frames they stand
    for; arrays that are not images get one clear error, not a wrong picture."""
    import edgemef
    from edgemef.io import as_image, load_image

    _, files = mefb_pairs()[3]
    floats = [load_image(f).image for f in files]
    want = fuse(floats, align=False).image
    as8 = [np.round(f * 255).astype(np.uint8) for f in floats]
    got = fuse(as8, align=False).image
    assert np.abs(got - want).mean() < 0.01  # 8-bit rounding only (it was 0.46: saturated)
    as16 = [np.round(f * 65535).astype(np.uint16) for f in floats]
    assert np.abs(fuse(as16, align=False).image - want).mean() < 1e-3
    assert np.array_equal(fuse([str(f) for f in files], align=False).image, want)
    grey = [f.mean(axis=2) for f in floats]
    assert fuse(grey, align=False).image.shape == want.shape
    rgba = [np.concatenate([f, np.ones_like(f[..., :1])], axis=2) for f in floats]
    assert np.array_equal(fuse(rgba, align=False).image, want)
    net = edgemef.load(edgemef.runtimes.methods.WEIGHTS_DIR / "densefuse.onnx", threads=1)
    small = [f[:64, :96] for f in floats]
    assert np.abs(net.fuse([np.round(f * 255).astype(np.uint8) for f in small]) - net.fuse(small)).mean() < 0.01
    cases = [
        ([f * 255 for f in floats], "must lie in [0, 1], got 0..162 (divide 8-bit values by 255)"),
        (floats[0], "takes a list of 2-3 images, got one array"),
        ([np.zeros((0, 0, 3)), np.zeros((0, 0, 3))], "empty image"),
        ([floats[0][..., :2], floats[1][..., :2]], "expected an (H, W, 3) RGB image"),
        ([floats[0], "b.png"], "got the path 'b.png'"),
        ([floats[0], floats[1][:100]], "image sizes differ: frame 0 512x384, frame 1 512x100"),
        ([floats[0][:1, :1], floats[1][:1, :1]], None),  # mertens takes a 1x1 frame
    ]
    for arg, message in cases:
        if message is None:
            fuse(arg, align=False)
            continue
        with pytest.raises(EdgemefError) as e:
            fuse(arg, align=False)
        assert message in str(e.value), (message, str(e.value))
    with pytest.raises(EdgemefError, match="at least 2x2"):
        net.fuse([f[:1, :5] for f in floats])
    with pytest.raises(EdgemefError, match="align must be True or False"):
        fuse(floats, align="no")
    # save_image takes the result itself, and 8-bit arrays as what they are
    res = fuse(as8, align=False)
    edgemef.save_image(tmp_path / "r.png", res)
    edgemef.save_image(tmp_path / "u8.png", as8[0])
    assert np.abs(load_image(tmp_path / "u8.png").image - floats[0]).max() < 1 / 255 + 1e-6
    assert np.array_equal(as_image(as8[0]), as8[0] / np.float32(255))
