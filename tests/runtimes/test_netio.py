"""edgemef.netio: network input/output conventions on real brackets (torch-free)."""
import numpy as np
import pytest

from edgemef import color
from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest
from edgemef.netio import finish_output, pad_image, prepare_input, tonemap


def lab_manifest(**kw) -> Manifest:
    return Manifest(model="densefuse", format="onnx", **kw)


def test_prepare_input_is_stacked_l_over_100(real_pair):
    x, ctx = prepare_input(real_pair, lab_manifest())
    h, w = real_pair[0].shape[:2]
    assert x.shape == (1, 2, h, w) and x.dtype == np.float32 and x.flags.c_contiguous
    for i, im in enumerate(real_pair):
        np.testing.assert_allclose(x[0, i], color.rgb_to_lab(im)[..., 0] / 100, atol=1e-6)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert x[0, 0].mean() < x[0, 1].mean()  # darkest first is kept
    assert (ctx.height, ctx.width, ctx.padded) == (h, w, (h, w))


def test_mean_l_round_trip_gives_the_lab_mean(real_pair):
    """Identity-like network: y = mean of the input L planes -> the Lab mean of the brackets."""
    m = lab_manifest(chroma="mean")
    x, ctx = prepare_input(real_pair, m)
    out = finish_output(x.mean(axis=1, keepdims=True), ctx, m)
    labs = [color.rgb_to_lab(im) for im in real_pair]
    want = color.lab_to_rgb(np.mean(labs, axis=0))
    assert out.shape == real_pair[0].shape and out.dtype == np.float32
    np.testing.assert_allclose(out, want, atol=2e-5)
    # and it is not simply one of the inputs
    assert min(np.abs(out - im).mean() for im in real_pair) > 0.02


def test_padding_to_multiple_and_back(real_pair):
    crop = [im[:37, :53] for im in real_pair]
    m = lab_manifest(pad_multiple=8)
    x, ctx = prepare_input(crop, m)
    assert x.shape == (1, 2, 40, 56) and ctx.padded == (40, 56)
    np.testing.assert_array_equal(x[..., 37, :], x[..., 35, :])  # reflection, no repeated edge
    np.testing.assert_array_equal(x[..., :, 53], x[..., :, 51])
    x1, ctx1 = prepare_input(crop, lab_manifest())
    np.testing.assert_array_equal(x[..., :37, :53], x1)
    out = finish_output(x.mean(axis=1, keepdims=True), ctx, m)
    ref = finish_output(x1.mean(axis=1, keepdims=True), ctx1, lab_manifest())
    assert out.shape == (37, 53, 3)
    np.testing.assert_array_equal(out, ref)


def test_fixed_shape_pads_up_and_tiny_images_still_pad():
    x = np.random.default_rng(0).random((1, 2, 3, 5), dtype=np.float32)
    p = pad_image(x, 16, 16)  # pad larger than the image: edge mode, no crash
    assert p.shape == (1, 2, 16, 16)
    np.testing.assert_array_equal(p[..., :3, :5], x)
    ims = [np.full((20, 30, 3), v, np.float32) for v in (0.2, 0.7)]
    x, ctx = prepare_input(ims, lab_manifest(shape=[32, 48], pad_multiple=16))
    assert x.shape == (1, 2, 32, 48) and ctx.padded == (32, 48)


def test_saturation_chroma_keeps_colour(real_pair):
    x, ctx = prepare_input(real_pair, lab_manifest())
    y = x.mean(axis=1, keepdims=True)
    mean = finish_output(y, ctx, lab_manifest(chroma="mean"))
    sat = finish_output(y, ctx, lab_manifest(chroma="saturation"))
    chroma = lambda im: np.hypot(*color.rgb_to_lab(im)[..., 1:].transpose(2, 0, 1)).mean()
    assert chroma(sat) > chroma(mean) * 1.02
    np.testing.assert_allclose(color.rgb_to_lab(sat)[..., 0], color.rgb_to_lab(mean)[..., 0], atol=0.5)


def test_rgb_models_and_input_range(real_pair):
    m = Manifest(model="x", format="onnx", colour_space="rgb", input_range=(-1.0, 1.0))
    x, ctx = prepare_input(real_pair, m)
    assert x.shape == (1, 6) + real_pair[0].shape[:2]
    assert x.min() >= -1.0 and x.min() < -0.9
    np.testing.assert_allclose(x[0, 3:6].transpose(1, 2, 0), real_pair[1] * 2 - 1, atol=1e-6)
    out = finish_output(x[:, 3:6], ctx, m)  # "network" returning the bright frame
    np.testing.assert_allclose(out, real_pair[1], atol=1e-6)


def test_hdr_tone_curve_is_the_reference_exposure_below_its_white_and_compresses_above():
    v = np.array([0.0, 0.01, 0.1, 0.5, 1.0], np.float32)
    # nothing above the reference's white: white point 1, extended Reinhard is the identity, so
    # the display value is the reference frame's own (gamma 2.2 inverted)
    np.testing.assert_allclose(tonemap(v, "reinhard"), v ** (1 / 2.2), atol=1e-6)
    hdr = np.array([0.0, 0.01, 0.1, 1.0, 4.0, 16.0], np.float32)
    t = tonemap(hdr, "reinhard", white=16.0)
    assert t[0] == 0 and abs(t[-1] - 1) < 1e-6 and np.all(np.diff(t) > 0)
    assert 0.6 < t[3] < 0.8  # the reference's white is no longer clipped white: highlights have room
    assert tonemap(np.array([0.5, 1e6], np.float32), "reinhard", white=16.0)[1] == 1.0  # past the white point: clipped
    mu = tonemap(hdr, "mu-law", white=16.0)
    assert abs(mu[-1] - 1) < 1e-6 and np.all(np.diff(mu) > 0)
    with pytest.raises(EdgemefError, match="unknown tone-mapping"):
        tonemap(hdr, "drago")


def test_hdr_output_is_tone_mapped_for_display(real_pair):
    """An 'hdr' network returning radiance: finish_output tone-maps it (display) or hands it back;
    here by the global curve, which shows the reference frame's own radiance as that frame."""
    m = Manifest(model="sthdr", format="onnx", colour_space="rgb", output="hdr", pad_multiple=16,
                 extra_inputs=[{"name": "exposure_ratios", "kind": "exposure_ratios", "shape": [1, 2],
                                "reference": 1}], extra={"tonemap": "reinhard"})
    crop = [im[:100, :140] for im in real_pair]
    x, ctx = prepare_input(crop, m)
    assert x.shape == (1, 6, 112, 144) and ctx.extra["exposure_ratios"].shape == (1, 2)
    over = x[:, 3:6] ** np.float32(2.2)  # the reference frame's radiance
    np.testing.assert_allclose(finish_output(over, ctx, m), np.clip(crop[1], 0, 1), atol=2e-4)
    brighter = over * 8  # radiance up to 8: compressed into [0, 1], order kept
    out = finish_output(brighter, ctx, m)
    assert out.shape == (100, 140, 3) and 0 <= out.min() and out.max() <= 1
    assert np.corrcoef(out.ravel(), crop[1].ravel())[0, 1] > 0.95
    radiance = finish_output(brighter, ctx, m, display=False)
    np.testing.assert_allclose(radiance, brighter[0, :, :100, :140].transpose(1, 2, 0))


def test_exposure_ratios_from_exif_times_or_estimated(real_pair):
    from edgemef.io import Bracket

    m = Manifest(model="sthdr", format="onnx", colour_space="rgb", output="hdr", pad_multiple=16,
                 extra_inputs=[{"name": "exposure_ratios", "kind": "exposure_ratios", "shape": [1, 2],
                                "reference": 1}])
    _, ctx = prepare_input(real_pair, m, exposure_times=[1 / 500, 1 / 125])
    np.testing.assert_allclose(ctx.extra["exposure_ratios"], [[0.25, 1.0]])
    assert not ctx.ratios.estimated and not ctx.notes
    _, ctx = prepare_input([Bracket(real_pair[0], exposure_time=0.01), Bracket(real_pair[1], exposure_time=0.08)], m)
    np.testing.assert_allclose(ctx.extra["exposure_ratios"], [[0.125, 1.0]])
    _, ctx = prepare_input([Bracket(real_pair[0], exposure_time=0.01), Bracket(real_pair[1])], m)  # one unknown
    assert ctx.ratios.estimated and ctx.extra["exposure_ratios"][0, 0] < 1 and ctx.extra["exposure_ratios"][0, 1] == 1
    assert len(ctx.notes) == 1 and "estimated from the images" in ctx.notes[0]
    _, ctx = prepare_input(real_pair, lab_manifest())  # single-input networks get no further inputs
    assert ctx.extra == {} and ctx.ratios is None
    with pytest.raises(EdgemefError, match="2 exposure times for 3 images|got 1 exposure times"):
        prepare_input(real_pair, m, exposure_times=[0.01])


def test_manifest_round_trips_extra_inputs():
    m = Manifest(model="sthdr", format="onnx", extra_inputs=[{"name": "exposure_ratios", "kind": "exposure_ratios",
                                                                "shape": [1, 2]}])
    back = Manifest.from_json(m.to_json())
    assert back.input_names == ["brackets", "exposure_ratios"] and back.extra_input("exposure_ratios")["shape"] == [1, 2]
    assert Manifest.from_json(Manifest(model="d", format="onnx").to_json()).extra_inputs == []
    with pytest.raises(EdgemefError, match="lacks 'name' or 'shape'"):
        Manifest(model="x", format="onnx", extra_inputs=[{"kind": "exposure_ratios"}])


@pytest.mark.parametrize("case, msg", [
    ("count", "fuses 2 exposures, got 3"),
    ("out_shape", "expected (1, 1, H, W)"),
    ("space", "unsupported colour space"),
    ("chroma", "unknown chroma mode"),
])
def test_errors_are_one_liners(case, msg):
    ims = [np.full((8, 8, 3), v, np.float32) for v in (0.1, 0.5, 0.9)]
    with pytest.raises(EdgemefError, match=msg.replace("(", r"\(").replace(")", r"\)")) as e:
        if case == "count":
            prepare_input(ims, lab_manifest())
        elif case == "space":
            prepare_input(ims[:2], lab_manifest(colour_space="ycbcr"))
        else:
            x, ctx = prepare_input(ims[:2], lab_manifest())
            y = x if case == "out_shape" else x[:, :1]
            finish_output(y, ctx, lab_manifest(chroma="max" if case == "chroma" else "mean"))
    assert "\n" not in str(e.value)
