"""Tiled inference: coverage, tile sizes, and seamless blending with a real network on real images."""
import cv2
import numpy as np
import pytest

from edgemef.netio import prepare_input
from edgemef.runtimes import load
from edgemef.runtimes.tiling import choose_tile, run_tiled, tile_starts
from rt_helpers import psnr


@pytest.mark.parametrize("size, tile, overlap", [(100, 100, 8), (100, 40, 8), (257, 64, 16), (1000, 333, 64)])
def test_tiles_cover_everything_with_the_overlap(size, tile, overlap):
    starts = tile_starts(size, tile, overlap)
    assert starts[0] == 0 and starts[-1] + min(tile, size) == size
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))  # overlap at least as asked


def test_choose_tile_respects_budget_and_multiple():
    th, tw = choose_tile(3000, 4000, 1_000_000, multiple=16)
    assert th * tw <= 1_000_000 and th % 16 == 0 and tw % 16 == 0 and th * tw > 800_000
    assert choose_tile(100, 5000, 100_000) == (100, 1000)  # short and wide: width gets the budget
    assert choose_tile(3000, 4000, 10**6, 8, max_hw=(512, 512)) == (512, 512)


def blur(x):
    """A local 'network' (5x5 box filter, reflected borders): (1, C, H, W) -> (1, 1, H, W)."""
    return cv2.blur(x[0].mean(axis=0), (5, 5), borderType=cv2.BORDER_REFLECT_101)[None, None]


def test_tiling_is_exact_for_a_local_operator():
    x = np.random.default_rng(0).random((1, 2, 300, 420), dtype=np.float32)
    tiled = run_tiled(blur, x, (128, 160), overlap=32, margin=8)
    np.testing.assert_allclose(tiled, blur(x), atol=1e-5)


def seam_diff(a, b, starts_y, starts_x, th, tw):
    """Max |a - b| on the rows/columns where tiles begin or end."""
    rows = sorted({s for s in starts_y[1:]} | {s + th - 1 for s in starts_y[:-1]})
    cols = sorted({s for s in starts_x[1:]} | {s + tw - 1 for s in starts_x[:-1]})
    return max(np.abs(a[..., rows, :] - b[..., rows, :]).max(), np.abs(a[..., :, cols] - b[..., :, cols]).max())


def test_densefuse_tiled_matches_untiled_without_seams(real_pair, densefuse):
    _, onnx_path, _, manifest = densefuse
    crop = [im[:256, :384] for im in real_pair]
    whole = load(onnx_path, threads=1)
    tiled = load(onnx_path, threads=1, max_pixels=128 * 128, overlap=48)
    ref = whole.fuse(crop)
    out = tiled.fuse(crop)
    assert whole.last_tiles == 1 and tiled.last_tiles >= 6
    assert psnr(out, ref) > 50
    th, tw = tiled.tile_for(256, 384)
    sy, sx = tile_starts(256, th, 48), tile_starts(384, tw, 48)
    assert seam_diff(out.transpose(2, 0, 1), ref.transpose(2, 0, 1), sy, sx, th, tw) < 1 / 255
    # without overlap the same tiles do leave seams (the check above can fail)
    x, _ = prepare_input(crop, manifest)
    naive = np.zeros((1, 1, 256, 384), np.float32)
    for y0 in range(0, 256, th):
        for x0 in range(0, 384, tw):
            naive[..., y0:y0 + th, x0:x0 + tw] = whole.backend.infer(x[..., y0:y0 + th, x0:x0 + tw])
    y_ref = whole.backend.infer(x)
    rows, cols = list(range(th, 256, th)), list(range(tw, 384, tw))
    assert np.abs(naive - y_ref)[..., rows, :].max() > 5 / 255 or np.abs(naive - y_ref)[..., cols].max() > 5 / 255


def test_fixed_shape_graph_pads_small_and_tiles_large_images(tmp_path, real_pair):
    onnx = pytest.importorskip("onnx")
    from edgemef import color
    from edgemef.manifest import Manifest
    from rt_helpers import write_mean_onnx

    path = write_mean_onnx(tmp_path / "fixed.onnx", Manifest(model="mean", format="onnx"))
    proto = onnx.load(str(path))
    for t in (proto.graph.input[0], proto.graph.output[0]):
        dims = t.type.tensor_type.shape.dim
        dims[2].dim_value, dims[3].dim_value = 96, 128
    onnx.save(proto, str(path))
    rt = load(path, threads=1)
    assert rt.backend.fixed_hw == (96, 128)
    for crop in ([im[:50, :70] for im in real_pair], [im[:200, :300] for im in real_pair]):
        out = rt.fuse(crop)
        want = color.lab_to_rgb(np.mean([color.rgb_to_lab(im) for im in crop], axis=0))
        np.testing.assert_allclose(out, want, atol=1e-4)
    assert rt.last_tiles > 1
