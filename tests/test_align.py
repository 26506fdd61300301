"""Bracket alignment on real mefb-dev pairs with known synthetic homographies, fallbacks, masks."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edgemef.align import STAGES, AlignResult, Limits, align_brackets, check_homography, corner_shift
from edgemef.errors import EdgemefError
from edgemef.io import load_image
from tests.conftest import mefb_pairs


def pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(under, over) of one mefb-dev scene at native size."""
    files = dict(mefb_pairs())[name]
    return load_image(files[0]).image, load_image(files[1]).image


def shake(w: int, h: int, scale=1.03, degrees=2.0, tx=12.0, ty=-8.0, px=1e-5) -> np.ndarray:
    """A camera-shake homography about the image centre."""
    a = math.radians(degrees)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    rs = np.array([[scale * math.cos(a), -scale * math.sin(a), 0], [scale * math.sin(a), scale * math.cos(a), 0], [px, 0, 1]])
    hom = np.array([[1, 0, cx + tx], [0, 1, cy + ty], [0, 0, 1]]) @ rs @ np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    return hom / hom[2, 2]


def corner_error(est: np.ndarray, truth: np.ndarray, w: int, h: int) -> float:
    c = np.array([[[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]], np.float64)
    return float(np.linalg.norm(cv2.perspectiveTransform(c, est)[0] - cv2.perspectiveTransform(c, truth)[0], axis=1).max())


def warp(img: np.ndarray, hom: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.warpPerspective(img, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def test_recovers_known_homography_on_real_pair(mefb_dir):
    under, over = pair("uk_01")  # 816x612: features on a 320-px copy, refinement on a 640-px copy
    h, w = under.shape[:2]
    hom = shake(w, h)
    res = align_brackets([under, warp(over, hom)], 0)
    assert isinstance(res, AlignResult) and res.reference == 0
    assert res.warped == [False, True] and res.messages == []
    err = corner_error(res.homographies[1], np.linalg.inv(hom), w, h)
    assert err < 2.0, f"worst corner error {err:.2f} px"
    assert np.array_equal(res.homographies[0], np.eye(3)) and res.homographies[1].dtype == np.float64
    assert set(res.timings) == set(STAGES) and all(v >= 0 for v in res.timings.values())
    for im in res.images:
        assert im.shape == under.shape and im.dtype == np.float32
    assert res.images[0] is not None and np.array_equal(res.images[0], under)
    # the aligned over frame now matches the original over frame where it has real pixels
    diff = np.abs(res.images[1] - over).mean(axis=2)[res.masks[1]]
    assert np.median(diff) < 0.02


def test_already_aligned_frames_give_identity(mefb_dir):
    under, _ = pair("Landscape")
    brighter = np.clip(under * 2.5, 0, 1).astype(np.float32)  # same pixels, another exposure
    res = align_brackets([under, brighter], 1)
    assert res.warped == [False, False] and res.messages == []
    assert all(np.array_equal(hm, np.eye(3)) for hm in res.homographies)
    assert np.array_equal(res.images[0], under) and all(m.all() for m in res.masks)


def test_featureless_frames_fall_back_without_raising():
    frames = [np.full((90, 120, 3), v, np.float32) for v in (0.2, 0.7)]
    res = align_brackets(frames, 0)
    assert res.warped == [False, False]
    assert np.array_equal(res.homographies[1], np.eye(3))
    assert len(res.messages) == 1 and res.messages[0].startswith("frame 1: only 0 feature matches")
    assert "not warped" in res.messages[0]
    assert np.array_equal(res.images[1], frames[1]) and res.masks[1].all()


@pytest.mark.parametrize("shape", [(6, 9, 3), (40, 2000, 3)])
def test_odd_sizes_and_noise_fall_back_without_raising(shape):
    rng = np.random.default_rng(1)
    frames = [rng.random(shape, dtype=np.float32) * s for s in (0.3, 1.0)]  # independent noise: nothing matches
    res = align_brackets(frames, 1)
    assert res.warped == [False, False] and np.array_equal(res.homographies[0], np.eye(3))
    assert len(res.messages) == 1 and res.messages[0].startswith("frame 0:")


def test_unrelated_images_fall_back_without_raising(mefb_dir):
    a, _ = pair("Landscape")
    _, b = pair("Church")
    b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    res = align_brackets([a, b], 0)
    assert res.warped == [False, False]
    assert np.array_equal(res.homographies[1], np.eye(3))
    assert len(res.messages) == 1 and res.messages[0].startswith("frame 1:") and "not warped" in res.messages[0]


@pytest.mark.parametrize("reference", [1, 2])
def test_three_frames_any_reference(mefb_dir, reference):
    under, over = pair("Knossos7")
    h, w = under.shape[:2]
    h_mid = shake(w, h, scale=0.98, degrees=-1.5, tx=-10, ty=6, px=0)
    h_over = shake(w, h)
    mid = warp(np.clip(under * 2.2, 0, 1).astype(np.float32), h_mid)
    frames = [under, mid, warp(over, h_over)]
    res = align_brackets(frames, reference)
    # truth: frame coordinates -> scene (under) coordinates -> reference-frame coordinates
    to_scene = [np.eye(3), np.linalg.inv(h_mid), np.linalg.inv(h_over)]
    scene_to_ref = np.linalg.inv(to_scene[reference])
    assert res.reference == reference and not res.warped[reference]
    for i in range(3):
        if i != reference:
            assert res.warped[i], res.messages
            err = corner_error(res.homographies[i], scene_to_ref @ to_scene[i], w, h)
            assert err < 2.0, f"frame {i}: worst corner error {err:.2f} px"
    assert res.masks[reference].all()


def test_mask_marks_out_of_frame_pixels_and_fill_is_not_black(mefb_dir):
    under, over = pair("Landscape")
    h, w = under.shape[:2]
    shift = 24
    # moving[x] = over[x + shift]: the moving frame is the scene seen 24 px further right
    moving = cv2.warpAffine(over, np.float64([[1, 0, -shift], [0, 1, 0]]), (w, h), borderMode=cv2.BORDER_REFLECT101)
    res = align_brackets([under, moving], 0)
    assert res.warped[1]
    hom = res.homographies[1]
    assert corner_error(hom, np.float64([[1, 0, shift], [0, 1, 0], [0, 0, 1]]), w, h) < 1.0
    mask = res.masks[1]
    assert mask.dtype == bool and mask.shape == (h, w) and res.masks[0].all()
    assert not mask[:, : shift - 2].any()  # reference columns 0..23 have no source in the moving frame
    assert mask[:, shift + 2 :].all()
    out = res.images[1]
    # real pixels reproduce the over frame; filled ones come from the reference re-exposed like it
    assert np.abs(out - over)[:, shift + 2 :].mean() < 0.02
    filled, truth = out[:, : shift - 2], over[:, : shift - 2]
    assert filled.mean() > 0.2, "filled border is black"
    assert abs(filled.mean() - truth.mean()) < 0.08
    assert np.abs(filled - truth).mean() < 0.15


def test_input_errors_and_single_frame():
    img = np.zeros((40, 60, 3), np.float32)
    with pytest.raises(EdgemefError, match="reference index 2"):
        align_brackets([img, img], 2)
    with pytest.raises(EdgemefError, match="share one"):
        align_brackets([img, np.zeros((40, 61, 3), np.float32)], 0)
    with pytest.raises(EdgemefError):
        align_brackets([], 0)
    res = align_brackets([img], 0)
    assert res.warped == [False] and res.images[0] is img and res.masks[0].all()


def test_implausible_homographies_are_named():
    w, h = 640, 480
    ok = shake(w, h)
    assert check_homography(ok, w, h) is None
    assert "flips" in check_homography(np.diag([-1.0, 1, 1]), w, h)
    assert "scale" in check_homography(np.diag([1.5, 1.5, 1]), w, h)
    assert "shear" in check_homography(np.array([[1, 0.4, 0], [0, 1, 0], [0, 0, 1.0]]), w, h)
    assert "perspective" in check_homography(np.array([[1, 0, 0], [0, 1, 0], [5e-4, 0, 1.0]]), w, h)
    assert "shift" in check_homography(np.array([[1, 0, 300], [0, 1, 0], [0, 0, 1.0]]), w, h)
    assert "degenerate" in check_homography(np.full((3, 3), np.nan), w, h)
    assert check_homography(np.array([[1, 0, 300], [0, 1, 0], [0, 0, 1.0]]), w, h, Limits(max_shift=0.5)) is None
    assert corner_shift(np.array([[1, 0, 3], [0, 1, 4], [0, 0, 1.0]]), w, h) == pytest.approx(5.0)


def test_fusion_calls_alignment(mefb_dir):
    from edgemef.fusion import fuse

    under, over = pair("Landscape")
    h, w = under.shape[:2]
    hom = shake(w, h, scale=1.0, degrees=1.0, tx=8, ty=5, px=0)
    res = fuse([under, warp(over, hom)], method="mertens", align=True, reference="under")
    assert res.homographies is not None and len(res.homographies) == 2
    assert corner_error(res.homographies[1], np.linalg.inv(hom), w, h) < 2.0
    assert res.image.shape == under.shape and "align" in res.timings
