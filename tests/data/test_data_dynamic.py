"""Dynamic-scene synthesis: M_ogt mask, boxes, brightness-mapped insertion, shift, figures,
cut-outs, the moving-object test set and `edgemef synth --dynamic / --dynamic-test`."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edgemef.cli import cli
from edgemef.data import item_seed, render_bracket_set
from edgemef.data.brightness import GainGamma, fit_gain_gamma
from edgemef.data.dynamic import (Box, find_boxes, insert_object, ogt_mask, render_dynamic_set, shift_crop,
                                  size_range, synthesize_dynamic, draw_shift)
from edgemef.data.dynamic_io import read_dynamic_set
from edgemef.data.dynamic_testset import render_motion_pair, test_seed
from edgemef.data.silhouettes import CutoutSource, FigureSource, load_cutouts, random_spec, render_figure
from edgemef.errors import EdgemefError
from edgemef.io import find_bracket_sets, load_image


# -- mask ------------------------------------------------------------------------------------
def _pair(*diffs, base=0.2):
    """gt is flat ``base`` grey; over = gt + diff per pixel (one pixel per diff)."""
    gt = np.full((1, len(diffs), 3), base, np.float32)
    return gt + np.array(diffs, np.float32)[None], gt


def test_mask_distance_rule_is_rgb_l2_on_unit_floats():
    over, gt = _pair((0.6, 0, 0), (0.4, 0, 0), (0.3, 0.3, 0.3), (0.28, 0.28, 0.28), (0, 0, 0))
    # 0.6 > 0.5; 0.4 (= 102 8-bit levels) is not; the L2 of (0.3,)*3 is 0.52 > 0.5, of 0.28s 0.485
    assert ogt_mask(over, gt).ravel().tolist() == [True, False, True, False, False]
    assert ogt_mask(over, gt, epsilon=0.35).ravel().tolist() == [True, True, True, True, False]


def test_mask_grey_rule_is_8bit_and_strict():
    levels = np.array([244, 245, 246, 255], np.float32) / 255
    over = np.repeat(levels[None, :, None], 3, axis=2)
    gt = over.copy()  # no difference: only the grey rule can mark
    assert ogt_mask(over, gt).ravel().tolist() == [False, False, True, True]
    assert ogt_mask(over, gt, tau=250).ravel().tolist() == [False, False, False, True]
    assert not ogt_mask(over, gt, tau=255).any()
    with pytest.raises(ValueError):
        ogt_mask(over[..., 0], gt[..., 0])


# -- boxes -----------------------------------------------------------------------------------
def _check_boxes(mask, boxes, ratio=(0.1, 0.3), rho=0.5):
    H, W = mask.shape
    (hlo, hhi), (wlo, whi) = size_range(H), size_range(W)
    for b in boxes:
        assert hlo <= b.h <= hhi and wlo <= b.w <= whi
        assert 0 <= b.x and b.x + b.w <= W and 0 <= b.y and b.y + b.h <= H
        assert b.marked == int(mask[b.slices].sum())
        assert ratio[0] <= b.ratio <= ratio[1]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
            ys, xs = np.zeros(mask.shape, bool), np.zeros(mask.shape, bool)
            ys[a.slices] = True
            xs[b.slices] = True
            assert not (ys & xs).any()
    assert sum(b.marked for b in boxes) <= rho * mask.sum() + 1e-9


def test_size_range_is_a_third_to_a_half():
    assert size_range(96) == (32, 48) and size_range(100) == (34, 50) and size_range(64) == (22, 32)


def test_boxes_on_uniform_density_mask():
    mask = np.zeros((96, 120), bool)
    mask[:, ::4] = True  # every box has a share of ~0.25
    boxes = find_boxes(mask, 3)
    assert boxes and all(0.2 <= b.ratio <= 0.3 for b in boxes)
    _check_boxes(mask, boxes)
    assert find_boxes(mask, 3, ratio=(0.3, 0.5)) == []     # ratio range respected
    assert find_boxes(mask, 3, ratio=(0.05, 0.2)) == []
    assert find_boxes(mask, 3) == boxes                     # deterministic given the seed
    assert any(find_boxes(mask, s) != boxes for s in range(4, 10))


def test_boxes_rho_max_caps_the_covered_marked_pixels():
    mask = np.zeros((96, 96), bool)
    mask[38:58, 38:58] = True  # 400 marked pixels; a box holding all of it has a share 0.17..0.39
    for rho in (0.3, 0.5, 1.0):
        for seed in range(5):
            boxes = find_boxes(mask, seed, rho_max=rho)
            _check_boxes(mask, boxes, rho=rho)
    assert any(find_boxes(mask, s, rho_max=0.5) for s in range(5))
    assert any(b.marked > 200 for s in range(5) for b in find_boxes(mask, s, rho_max=1.0))
    assert find_boxes(mask, 0, rho_max=0.0) == []
    assert find_boxes(np.zeros((64, 64), bool), 0) == []


def test_boxes_on_random_blob_masks_meet_every_constraint():
    rng = np.random.default_rng(0)
    for k in range(6):
        h, w = int(rng.integers(60, 140)), int(rng.integers(60, 140))
        n = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 6)
        mask = n > np.quantile(n, rng.uniform(0.3, 0.9))
        boxes = find_boxes(mask, k, max_boxes=None)
        _check_boxes(mask, boxes)
        assert len(find_boxes(mask, k, max_boxes=1)) <= 1
    with pytest.raises(ValueError):
        find_boxes(mask, 0, ratio=(0.4, 0.2))


# -- brightness transform and insertion ------------------------------------------------------
def _gt(h=60, w=80, seed=0):
    n = cv2.GaussianBlur(np.random.default_rng(seed).random((h, w, 3)).astype(np.float32), (0, 0), 3)
    n = (n - n.min()) / (n.max() - n.min())
    return (0.05 + 0.9 * n).astype(np.float32)


GAIN, GAMMA = (0.55, 0.7, 0.4), (1.6, 1.3, 2.0)


def test_fit_recovers_a_known_gain_and_gamma():
    gt = _gt()
    under = np.round(GainGamma(GAIN, GAMMA).apply(gt) * 255) / 255
    t = fit_gain_gamma(gt, under)
    assert np.allclose(t.gain, GAIN, rtol=0.05) and np.allclose(t.gamma, GAMMA, rtol=0.05)


def test_inserted_object_takes_the_box_gain_and_gamma():
    gt = _gt()
    truth = GainGamma(GAIN, GAMMA)
    under = np.round(truth.apply(gt) * 255) / 255
    rng = np.random.default_rng(1)
    fg = rng.uniform(0.15, 0.9, (20, 12, 3)).astype(np.float32)
    alpha = np.ones((20, 12), np.float32)
    box = Box(10, 5, 40, 30, 0)
    out, a, ins = insert_object(under, gt, box, fg, alpha, 2, level=None, noise=False, blur=0)
    x, y, w, h = ins.placed
    assert box.x <= x and x + w <= box.x + box.w and box.y <= y and y + h <= box.y + box.h
    assert np.abs(out[y:y + h, x:x + w] - truth.apply(fg)).max() <= 2.5 / 255
    assert a.sum() == alpha.sum() and ins.noise == 0.0
    outside = a == 0
    assert np.array_equal(out[outside], under[outside])  # nothing else touched
    assert np.abs(out * 255 - np.round(out * 255)).max() < 1e-3  # 8-bit grid, like the renderer


def test_insertion_measures_and_adds_the_frame_noise():
    gt = _gt(80, 100, 3)
    clean = GainGamma((0.8, 0.8, 0.8), (1.2, 1.2, 1.2)).apply(gt)
    under = np.clip(clean + np.random.default_rng(4).normal(0, 0.02, clean.shape), 0, 1).astype(np.float32)
    fg, alpha = np.full((30, 20, 3), 0.5, np.float32), np.ones((30, 20), np.float32)
    out, _, ins = insert_object(under, gt, Box(0, 0, 100, 80, 0), fg, alpha, 5, level=None, blur=0)
    assert 0.014 < ins.noise < 0.027
    x, y, w, h = ins.placed
    patch = out[y:y + h, x:x + w]
    assert abs(patch.std() - 0.02) < 0.006 and abs(patch.mean() - 0.8 * 0.5 ** 1.2) < 0.01


def test_synthesis_leaves_over_and_label_untouched_byte_for_byte():
    bs = next(b for b in (render_bracket_set(item_seed(11, i), (72, 96)) for i in range(20))
              if find_boxes(ogt_mask(b.over, b.label), 0))
    over, label, under = bs.over.tobytes(), bs.label.tobytes(), bs.under.tobytes()
    d = synthesize_dynamic(bs, 0)
    assert d.boxes and d.insertions
    assert bs.over.tobytes() == over and bs.label.tobytes() == label and bs.under.tobytes() == under
    assert d.over.tobytes() == over and d.label.tobytes() == label and d.under_static.tobytes() == under
    assert np.array_equal(d.mask, ogt_mask(bs.over, bs.label))
    changed = np.any(d.under != bs.under, axis=-1)
    assert changed.any() and not changed[d.alpha == 0].any()
    _check_boxes(d.mask, d.boxes)
    for ins in d.insertions:
        x, y, w, h = ins.placed
        assert ins.box.x <= x and x + w <= ins.box.x + ins.box.w
    again = synthesize_dynamic(bs, 0)
    assert again.under.tobytes() == d.under.tobytes()


# -- shift -----------------------------------------------------------------------------------
def test_shift_crop_moves_content_and_repeats_edges():
    crop = np.arange(12 * 10, dtype=np.float32).reshape(12, 10)
    assert shift_crop(crop, 0, prob=0.0) is crop
    for seed in range(20):
        dy, dx = draw_shift(seed, 1.0, 3)
        out = shift_crop(crop, seed, prob=1.0, max_shift=3)
        assert (dy, dx) != (0, 0) and max(abs(dy), abs(dx)) <= 3 and out.shape == crop.shape
        ys, xs = np.arange(12), np.arange(10)
        want = crop[np.clip(ys - dy, 0, 11)][:, np.clip(xs - dx, 0, 9)]
        assert np.array_equal(out, want)
    chw = np.stack([crop, crop + 1000])
    out = shift_crop(chw, 7, prob=1.0, max_shift=2, axes=(1, 2))
    assert np.array_equal(out[0], shift_crop(crop, 7, prob=1.0, max_shift=2)) and np.array_equal(out[1], out[0] + 1000)
    rng = np.random.default_rng(0)
    share = np.mean([draw_shift(rng, 0.3, 2) != (0, 0) for _ in range(2000)])
    assert 0.25 < share < 0.35


# -- figures and cut-outs --------------------------------------------------------------------
def test_figures_are_antialiased_non_empty_and_varied():
    figs = [render_figure(random_spec(np.random.default_rng(s)), 90, phase=s) for s in range(6)]
    masks = []
    for f in figs:
        assert f.rgb.dtype == np.float32 and f.rgb.shape == f.alpha.shape + (3,)
        assert 0.0 <= f.alpha.min() and f.alpha.max() <= 1.0 and f.rgb.min() >= 0 and f.rgb.max() <= 1
        assert f.alpha.sum() > 300 and 80 <= f.alpha.shape[0] <= 100
        assert ((f.alpha > 0.05) & (f.alpha < 0.95)).sum() > 50  # soft edges
        masks.append(cv2.resize(f.alpha, (40, 90)) > 0.5)
        masks[-1] = (masks[-1], (f.rgb * f.alpha[..., None]).sum((0, 1)) / f.alpha.sum())
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            (a, ca), (b, cb) = masks[i], masks[j]
            assert (a & b).sum() / (a | b).sum() < 0.9 or np.abs(ca - cb).max() > 0.05
    walk = FigureSource().moving(np.random.default_rng(3), 60, 40, 3)
    assert len(walk) == 3 and all(f.alpha.shape[0] <= 60 and f.alpha.shape[1] <= 40 for f in walk)
    assert not np.array_equal(walk[0].alpha, walk[-1].alpha) or walk[0].alpha.shape != walk[-1].alpha.shape


def _rgba(path, h, w, depth=8):
    top = 255 if depth == 8 else 65535
    img = np.zeros((h, w, 4), np.uint8 if depth == 8 else np.uint16)
    img[..., :3] = top // 3
    img[2:h - 2, 3:w - 3, 3] = top
    cv2.imwrite(str(path), img)


def test_cutout_folder_loads_rgba_pngs(tmp_path):
    _rgba(tmp_path / "a.png", 30, 20)
    _rgba(tmp_path / "b.PNG", 40, 16, depth=16)
    (tmp_path / "notes.txt").write_text("ignored")
    figs = load_cutouts(tmp_path)
    assert [f.alpha.shape for f in figs] == [(26, 14), (36, 10)]  # cropped to the alpha
    assert all(f.alpha.max() == 1.0 and abs(f.rgb.mean() - 1 / 3) < 0.01 for f in figs)
    src = CutoutSource(tmp_path)
    f = src(np.random.default_rng(0), 18, 30)
    assert f.alpha.shape[0] <= 18 and f.alpha.shape[1] <= 30 and f.alpha.max() > 0.9


def test_cutout_folder_errors_are_clear(tmp_path):
    with pytest.raises(EdgemefError, match="not a directory"):
        load_cutouts(tmp_path / "missing")
    with pytest.raises(EdgemefError, match="no cut-outs found"):
        load_cutouts(tmp_path)
    cv2.imwrite(str(tmp_path / "rgb.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(EdgemefError, match="rgb.png: cut-out has no alpha channel"):
        load_cutouts(tmp_path)
    (tmp_path / "rgb.png").unlink()
    cv2.imwrite(str(tmp_path / "clear.png"), np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(EdgemefError, match="alpha is empty"):
        load_cutouts(tmp_path)
    (tmp_path / "clear.png").write_bytes(b"not a png")
    with pytest.raises(EdgemefError, match="cannot decode"):
        load_cutouts(tmp_path)


# -- the dynamic test set --------------------------------------------------------------------
def _centroid(a):
    ys, xs = np.nonzero(a > 0.5)
    return np.array([xs.mean(), ys.mean()])


def test_motion_pair_moves_objects_and_its_static_twin_does_not():
    p = render_motion_pair(test_seed(0, 1), (72, 96), n_objects=(1, 1))
    d, s = p.dynamic, p.static
    assert np.linalg.norm(_centroid(p.alpha["under"]) - _centroid(p.alpha["over"])) >= 3.0
    assert np.array_equal(p.static_alpha["under"], p.static_alpha["over"])
    assert np.array_equal(p.static_alpha["over"], p.alpha["over"])
    # same scene, camera, times and noise: the reference frame and the label are identical
    assert d.over.tobytes() == s.over.tobytes() and d.label.tobytes() == s.label.tobytes()
    assert d.exposure_times == s.exposure_times
    moved = (p.alpha["under"] > 0.5) & (p.alpha["over"] == 0)
    assert np.abs(d.under - s.under)[moved].mean() > np.abs(d.under - s.under)[~moved].mean()
    o = p.objects[0]
    assert (o["under"]["x"], o["under"]["y"]) != (o["over"]["x"], o["over"]["y"])
    again = render_motion_pair(test_seed(0, 1), (72, 96), n_objects=(1, 1))
    assert again.dynamic.under.tobytes() == d.under.tobytes()


def test_test_seeds_are_apart_from_training_seeds():
    train = {item_seed(s, i) for s in range(3) for i in range(500)}
    test = {test_seed(s, i) for s in range(3) for i in range(500)}
    assert not train & test and len(test) == 1500


# -- CLI -------------------------------------------------------------------------------------
def _run(*args):
    return CliRunner().invoke(cli, ["synth", *map(str, args)])


def test_synth_dynamic_writes_sets_and_contact_sheet(tmp_path):
    out = tmp_path / "dyn"
    r = _run(out, "--count", 2, "--seed", 3, "--size", "48x64", "--dynamic")
    assert r.exit_code == 0, r.output
    assert "wrote 2 dynamic sets (48x64" in r.output
    assert [n for n, _ in find_bracket_sets(out)] == ["0000", "0001"]
    for name in ("0000", "0001"):
        folder = out / name
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["kind"] == "dynamic" and meta["seed"] == item_seed(3, int(name))
        assert meta["mask"]["epsilon"] == 0.5 and meta["mask"]["tau"] == 245.0
        for rel in meta["files"].values():
            assert (folder / rel).is_file()
        assert isinstance(json.loads((folder / "boxes.json").read_text()), list)
    back = read_dynamic_set(out / "0001")
    fresh = render_dynamic_set(item_seed(3, 1), (48, 64), (2.0, 6.0))
    assert np.array_equal(back.under, fresh.under) and np.array_equal(back.over, fresh.over)
    assert np.array_equal(back.mask, fresh.mask) and back.boxes == fresh.boxes
    sheet = load_image(out / "contact_sheet.png").image
    assert sheet.shape[1] == 5 * 200 + 4 * 4 and sheet.shape[0] > 2 * 150


def test_synth_dynamic_test_with_cutouts(tmp_path):
    cut = tmp_path / "people"
    cut.mkdir()
    _rgba(cut / "p1.png", 40, 16)
    _rgba(cut / "p2.png", 36, 20)
    out = tmp_path / "t"
    r = _run(out, "-n", 2, "--size", "48x64", "--dynamic-test", "--cutouts", cut, "-q")
    assert r.exit_code == 0, r.output
    assert not list(out.glob("0000")) and (out / "test_contact_sheet.png").is_file()
    for kind in ("dynamic", "static"):
        assert [n for n, _ in find_bracket_sets(out / f"test_{kind}")] == ["0000", "0001"]
        motion = json.loads((out / f"test_{kind}" / "0000" / "motion.json").read_text())
        assert motion["kind"] == kind and motion["seed"] == test_seed(0, 0)
    assert (out / "test_dynamic" / "0000" / "ref" / "alpha_under.png").is_file()
    assert load_image(out / "test_dynamic/0001/over.png").image.tobytes() == \
        load_image(out / "test_static/0001/over.png").image.tobytes()


@pytest.mark.parametrize("extra, message", [
    (["--dynamic", "--cutouts", "EMPTY"], "no cut-outs found"),
    (["--dynamic-test", "--cutouts", "MISSING"], "not a directory"),
    (["--cutouts", "EMPTY"], "--cutouts needs --dynamic or --dynamic-test"),
    (["--mask-tau", "100"], "--mask-tau needs --dynamic or --dynamic-test"),
    (["--mask-epsilon", "0.3"], "--mask-epsilon needs --dynamic or --dynamic-test"),
])
def test_synth_dynamic_bad_input_is_one_line_exit_2(tmp_path, extra, message):
    (tmp_path / "EMPTY").mkdir()
    args = [str(tmp_path / a) if a in ("EMPTY", "MISSING") else a for a in extra]
    r = _run(tmp_path / "o", "-n", 1, "--size", "40x40", *args)
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgemef: error:") and message in lines[0]
    assert not (tmp_path / "o").exists()


def test_synth_help_lists_dynamic_options():
    r = _run("--help")
    assert r.exit_code == 0
    for opt in ("--dynamic", "--dynamic-test", "--cutouts", "--mask-epsilon", "--mask-tau"):
        assert opt in r.output
