"""Showing HDR radiance (torch-free): the classical merge, the 'exposure-fusion' and
'reference-fusion' tone maps, and the display-ceiling benchmark, on real mefb-dev brackets."""
from __future__ import annotations

import numpy as np
import pytest

from edgemef.errors import EdgemefError
from edgemef.fusion import fuse_mertens
from edgemef.hdr import ExposureRatios, estimate_exposure_ratios, merge_radiance
from edgemef.manifest import Manifest
from edgemef.metrics import score
from edgemef.netio import finish_output, prepare_input, reexpose, tonemap


def render(radiance: np.ndarray, times) -> list[np.ndarray]:
    """Frames of a power-law (gamma 2.2) camera, clipped, exposure times relative to the last."""
    return [np.clip(radiance * t, 0, 1) ** (1 / 2.2) for t in times]


def test_merge_recovers_radiance_where_a_frame_sees_it_and_never_blacks_out_clipped_white():
    rng = np.random.default_rng(0)
    radiance = np.exp(rng.uniform(np.log(0.02), np.log(12.0), (32, 48, 3))).astype(np.float32)
    radiance[:4] = 100.0  # white in both frames
    times = [1 / 8, 1.0]
    frames = render(radiance, times)
    merged = merge_radiance(frames, ExposureRatios(np.array(times), 1, False, "test"))
    seen = (radiance[4:] < 7.9)  # inside the darker frame's range: recovered exactly
    np.testing.assert_allclose(merged[4:][seen], radiance[4:][seen], rtol=2e-3)
    np.testing.assert_allclose(merged[:4], 8.0, rtol=1e-5)  # clipped in both: the least it can be
    est = merge_radiance(frames)  # estimated ratios: the same up to the estimate
    assert np.median(np.abs(est[4:] / radiance[4:] - 1)) < 0.05


def test_reexposing_consistent_radiance_gives_the_frames_back_and_fusion_tonemaps_them(real_pair):
    under, over = [np.clip(im, 0, 1) for im in real_pair]
    r = estimate_exposure_ratios([under, over]).ratios
    # radiance that IS the under frame wherever the over frame is clipped, the over frame elsewhere
    radiance = np.where(over >= 0.999, under ** 2.2 / r[0], over ** 2.2).astype(np.float32)
    back = reexpose(radiance, [1.0])[0]
    np.testing.assert_allclose(back, over, atol=1e-5)
    out = tonemap(radiance, "exposure-fusion", ratios=r)
    np.testing.assert_allclose(out, fuse_mertens(reexpose(radiance, sorted(r))), atol=1e-6)
    assert out.shape == under.shape and 0 <= out.min() and out.max() <= 1


def test_exposure_fusion_beats_the_global_curve_on_mef_ssim_for_real_radiance(real_pair):
    """The reason the operator exists: a real pair merged classically scores higher on MEF-SSIM
    (local structure against the frames) shown by exposure fusion than by the global curve."""
    ratios = estimate_exposure_ratios(real_pair)
    radiance = merge_radiance(real_pair, ratios)
    fused = score(tonemap(radiance, "exposure-fusion", ratios=ratios.ratios), real_pair, names=["mef_ssim"])
    curve = score(tonemap(radiance, "reinhard"), real_pair, names=["mef_ssim"])
    assert fused["mef_ssim"] > curve["mef_ssim"] + 0.01


def test_exposure_fusion_needs_rgb_and_two_positive_ratios():
    hdr = np.ones((8, 8, 3), np.float32)
    with pytest.raises(EdgemefError, match=r"\(H, W, 3\)"):
        tonemap(hdr[..., 0], "exposure-fusion")
    with pytest.raises(EdgemefError, match="two or more positive"):
        tonemap(hdr, "exposure-fusion", ratios=[1.0])
    without = tonemap(hdr * 4, "exposure-fusion")  # no ratios: re-exposed at 1 / white and 1
    assert without.shape == hdr.shape


def test_reference_fusion_keeps_the_reference_frames_detail_that_a_smooth_radiance_lost(real_pair):
    """'reference-fusion' fuses the reference frame as captured and only the other exposures
    re-exposed: given a radiance that lost fine detail (blurred), it keeps the over frame's
    structure where 'exposure-fusion' shows the blur, and it needs the frames to do so."""
    import cv2

    ratios = estimate_exposure_ratios(real_pair)
    radiance = cv2.GaussianBlur(merge_radiance(real_pair, ratios), (0, 0), 2.0)
    shown = {t: tonemap(radiance, t, ratios=ratios.ratios, frames=real_pair)
             for t in ("reference-fusion", "exposure-fusion")}
    s = {t: score(im, real_pair, names=["mef_ssim", "qabf"]) for t, im in shown.items()}
    # measured 2026-12-04: MEF-SSIM 0.910 against 0.736, Q^AB/F 0.660 against 0.098
    assert s["reference-fusion"]["mef_ssim"] > s["exposure-fusion"]["mef_ssim"] + 0.05
    assert s["reference-fusion"]["qabf"] > s["exposure-fusion"]["qabf"] + 0.2
    with pytest.raises(EdgemefError, match="needs the input frames"):
        tonemap(radiance, "reference-fusion", ratios=ratios.ratios)


@pytest.mark.parametrize("ratios, kept", [([0.25, 1.0, 4.0], 1), ([1.0, 4.0, 16.0], 0)])
def test_reference_fusion_keeps_the_frame_whose_ratio_is_one(ratios, kept):
    """Three unrelated textures as frames and a smooth radiance: the fine structure of the output
    is the ratio-1 frame's alone."""
    import cv2

    rng = np.random.default_rng(3)
    frames = [cv2.GaussianBlur(rng.uniform(0.2, 0.8, (64, 64, 3)).astype(np.float32), (0, 0), 1.0)
              for _ in ratios]
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32) / 64
    radiance = np.repeat(((0.2 + 0.6 * xx) * (0.5 + 0.5 * yy))[..., None], 3, axis=2) / np.float32(max(ratios))
    out = tonemap(radiance, "reference-fusion", ratios=np.array(ratios), frames=frames)

    def detail(im):
        g = im.mean(axis=2)
        return (g - cv2.GaussianBlur(g, (0, 0), 3.0)).ravel()

    corr = [float(np.corrcoef(detail(out), detail(f))[0, 1]) for f in frames]
    assert corr[kept] > 0.8 and all(abs(c) < 0.2 for i, c in enumerate(corr) if i != kept), corr


def hdr_manifest(tonemap_name: str | None) -> Manifest:
    m = Manifest(model="sthdr", format="onnx", colour_space="rgb", output="hdr", pad_multiple=16,
                 extra_inputs=[{"name": "exposure_ratios", "kind": "exposure_ratios", "shape": [1, 2],
                                "reference": 1}])
    if tonemap_name:
        m.extra["tonemap"] = tonemap_name
    return m


def test_finish_output_shows_radiance_by_the_manifests_tonemap_at_the_inputs_ratios(real_pair):
    crop = [im[:96, :128] for im in real_pair]
    m = hdr_manifest("exposure-fusion")
    x, ctx = prepare_input(crop, m)
    radiance = x[:, 3:6] ** np.float32(2.2) * 6  # a 'network' output with highlights above 1
    out = finish_output(radiance, ctx, m)
    expect = tonemap(radiance[0].transpose(1, 2, 0), "exposure-fusion", ratios=ctx.ratios.ratios, frames=crop)
    np.testing.assert_allclose(out, expect, atol=1e-6)  # in the frames' own tone curves
    default = finish_output(radiance, ctx, hdr_manifest(None))
    expect = tonemap(radiance[0].transpose(1, 2, 0), "reference-fusion", ratios=ctx.ratios.ratios, frames=crop)
    np.testing.assert_allclose(default, expect, atol=1e-6)  # the default keeps the reference frame
    np.testing.assert_allclose(finish_output(radiance, ctx, hdr_manifest("reference-fusion")), default)
    assert np.abs(default - out).mean() > 1e-3
    curve = finish_output(radiance, ctx, hdr_manifest("reinhard"))
    assert np.abs(out - curve).mean() > 0.01  # a different picture from the global curve


def test_display_ceiling_benchmark_scores_every_tonemap_and_mertens(mefb_dir, tmp_path):
    import json

    from click.testing import CliRunner

    from edgemef.benchmarks.hdr_display import main

    out = tmp_path / "ceiling.json"
    res = CliRunner().invoke(main, ["--pairs", str(mefb_dir), "--limit", "2", "--max-side", "256",
                                    "--synthetic", "2", "--synthetic-size", "64", "--json", str(out)])
    assert res.exit_code == 0, res.output
    rec = json.loads(out.read_text())
    for part in ("synthetic", "pairs"):
        rows = rec[part]["rows"]
        assert len(rows) == 6 and all(0 < r["mef_ssim"] <= 1 for r in rows.values())
    assert "| classical merge, exposure-fusion |" in res.output
    bad = CliRunner().invoke(main, [])
    assert bad.exit_code != 0 and "nothing to score" in bad.output
