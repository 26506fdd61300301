"""The two-phase and STHDR networks through the torch-free runtime: an exported artifact loaded
with edgemef.runtimes.load fuses real mefb-dev brackets (downscaled) through the full path, the
same as the PyTorch model; STHDR gets its exposure ratios (EXIF or estimated), the same in every tile."""
from __future__ import annotations

import numpy as np
import pytest

from edgemef.errors import EdgemefError
from edgemef.netio import finish_output, prepare_input
from edgemef.runtimes import load
from edgemef.runtimes.tiling import tile_starts
from rt_helpers import psnr, requires_backend

pytest.importorskip("torch")
pytest.importorskip("onnx")


def torch_fuse(net, frames, exposure_times=None):
    """The PyTorch reference through the same netio calls (ratios included)."""
    import torch

    m = net.manifest
    x, ctx = prepare_input(frames, m, exposure_times)
    extra = [torch.from_numpy(ctx.extra[e["name"]]) for e in m.extra_inputs]
    with torch.inference_mode():
        y = net.module(torch.from_numpy(x), *extra).numpy()
    return finish_output(y, ctx, m), y, ctx


@pytest.mark.parametrize("name", ["twophase", "sthdr"])
def test_artifact_fuses_real_brackets_like_pytorch(name, network_artifacts, small_pair):
    net, path = network_artifacts(name)
    rt = load(path, threads=1)
    assert rt.manifest.model == name and [e["name"] for e in rt.manifest.extra_inputs] == (
        ["exposure_ratios"] if name == "sthdr" else [])
    out = rt.fuse(small_pair)
    ref, _, ctx = torch_fuse(net, small_pair)
    assert out.shape == small_pair[0].shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert psnr(out, ref) > 60
    assert np.std(out) > 0.005  # an image, not a constant (untrained stand-in weights: low contrast)
    if name == "sthdr":  # no EXIF in these files: ratios estimated, and the runtime says so
        assert rt.last_info["ratios_estimated"] is True
        assert rt.last_info["exposure_ratios"] == pytest.approx(ctx.extra["exposure_ratios"][0].tolist(), rel=1e-5)
        assert any("estimated from the images" in n for n in rt.last_notes)
        radiance = rt.fuse(small_pair, display=False)
        assert radiance.shape == out.shape and radiance.max() > 0
    else:
        assert rt.last_notes == [] and "exposure_ratios" not in rt.last_info


def test_sthdr_uses_exif_exposure_times_when_every_frame_has_one(network_artifacts, small_pair):
    from edgemef.io import Bracket

    net, path = network_artifacts("sthdr")
    rt = load(path, threads=1)
    brackets = [Bracket(small_pair[0], exposure_time=1 / 400), Bracket(small_pair[1], exposure_time=1 / 25)]
    out = rt.fuse(brackets)
    assert rt.last_info["exposure_ratios"] == pytest.approx([0.0625, 1.0])
    assert rt.last_info["ratios_estimated"] is False and rt.last_notes == []
    ref, _, _ = torch_fuse(net, small_pair, exposure_times=[1 / 400, 1 / 25])
    assert psnr(out, ref) > 60
    # other ratios give another image: the input really reaches the network
    assert psnr(rt.fuse(small_pair, exposure_times=[1 / 50, 1 / 25]), out) < 40


def test_sthdr_needs_its_ratio_input(network_artifacts, small_pair):
    _, path = network_artifacts("sthdr")
    rt = load(path, threads=1)
    x, _ = prepare_input(small_pair, rt.manifest)
    with pytest.raises(EdgemefError, match="needs its input 'exposure_ratios'"):
        rt.infer(x)
    with pytest.raises(EdgemefError, match=r"must have shape \[1, 2\]"):
        rt.infer(x, {"exposure_ratios": np.ones((1, 3), np.float32)})


def test_sthdr_tiles_get_the_same_ratios_and_blend_without_seams(network_artifacts, small_pair):
    """Tiled vs untiled on a real pair. STHDR is not a local operator (instance norms and global
    context pool over the whole input), so tiles differ from the whole image by more than float
    rounding; the blending must still leave no seam: the difference is no larger on the tile
    boundaries than inside the tiles, and every tile was run with the one set of ratios."""
    _, path = network_artifacts("sthdr")
    whole = load(path, threads=1)
    tiled = load(path, threads=1, max_pixels=96 * 96, overlap=48)
    seen = []
    infer = tiled.backend.infer
    tiled.backend.infer = lambda x, extra=None: (seen.append(dict(extra)), infer(x, extra))[1]
    ref = whole.fuse(small_pair)
    out = tiled.fuse(small_pair)
    assert whole.last_tiles == 1 and tiled.last_tiles == len(seen) >= 4
    first = seen[0]["exposure_ratios"]
    assert all(np.array_equal(s["exposure_ratios"], first) for s in seen)
    np.testing.assert_array_equal(first, np.float32(tiled.last_info["exposure_ratios"])[None])
    assert psnr(out, ref) > 25
    h, w = tiled.padded_size(*small_pair[0].shape[:2])
    th, tw = tiled.tile_for(h, w)
    diff = np.abs(out - ref).mean(axis=2)
    grad = np.abs(np.diff(diff, axis=1))  # a seam is a jump in the difference across a tile edge
    cols = sorted({s + tw - 1 for s in tile_starts(w, tw, 48)[:-1]} | set(tile_starts(w, tw, 48)[1:]))
    cols = [c for c in cols if c < grad.shape[1]]
    inner = np.delete(grad, cols, axis=1)
    assert grad[:, cols].mean() < 3 * inner.mean() + 1e-3


@requires_backend("openvino")
@pytest.mark.parametrize("name", ["twophase", "sthdr"])
def test_openvino_reads_the_artifact_with_both_inputs(name, network_artifacts, small_pair):
    net, path = network_artifacts(name)
    rt = load(path, backend="openvino", threads=1)
    ref, _, _ = torch_fuse(net, small_pair)
    assert psnr(rt.fuse(small_pair), ref) > 60


@requires_backend("torch")
def test_torch_reference_backend_feeds_the_ratios(network_artifacts, small_pair, tmp_path):
    from safetensors.torch import save_file

    from edgemef.manifest import METADATA_KEY

    net, _ = network_artifacts("sthdr")
    m = type(net.manifest).from_json(net.manifest.to_json())
    m.format = "torch"
    st = tmp_path / "sthdr.safetensors"
    save_file({k: v.contiguous() for k, v in net.module.state_dict().items()}, str(st),
              metadata={METADATA_KEY: m.to_json()})
    rt = load(st, threads=1)
    ref, _, _ = torch_fuse(net, small_pair)
    assert psnr(rt.fuse(small_pair), ref) > 80


def test_tonemap_option_changes_how_sthdr_radiance_is_shown_and_is_refused_for_ldr_networks(
        network_artifacts, small_pair):
    from edgemef.netio import tonemap

    _, path = network_artifacts("sthdr")
    assert load(path).manifest.extra["tonemap"] == "reference-fusion"  # the export's default
    rt = load(path, threads=1, tonemap="reinhard")
    out = rt.fuse(small_pair)
    radiance = rt.fuse(small_pair, display=False)
    np.testing.assert_allclose(out, tonemap(radiance, "reinhard"), atol=1e-5)
    default = load(path, threads=1).fuse(small_pair)
    ratios = rt.last_info["exposure_ratios"]
    np.testing.assert_allclose(default, tonemap(radiance, "reference-fusion", ratios=ratios, frames=small_pair),
                               atol=1e-5)  # the reference as captured, the rest in the frames' own tone curves
    assert np.abs(out - default).mean() > 1e-3
    with pytest.raises(EdgemefError, match="unknown tone-mapping"):
        load(path, tonemap="drago")
    _, ldr = network_artifacts("twophase")
    with pytest.raises(EdgemefError, match="applies to HDR networks"):
        load(ldr, tonemap="reinhard")
