"""Image loading, validation, ordering and atomic writes (real OpenCV/Pillow files)."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import Image

from edgemef.errors import EdgemefError
from edgemef.io import find_bracket_sets, load_brackets, load_image, order_brackets, save_image, Bracket


def _ramp(h=24, w=32, level=0.5):
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.clip(level * (0.5 + 0.5 * x) * np.concatenate([np.ones_like(y), 0.8 + 0.2 * y, 0.6 + 0.0 * y], -1), 0, 1)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".bmp"])
def test_roundtrip_8bit_formats(tmp_path, suffix):
    img = _ramp()
    path = save_image(tmp_path / f"a{suffix}", img)
    b = load_image(path)
    assert b.image.dtype == np.float32 and b.image.shape == (24, 32, 3)
    tol = 0.05 if suffix == ".jpg" else 1 / 255 + 1e-6
    assert np.abs(b.image - img).max() <= tol
    assert b.bit_depth == 8


def test_16bit_png_and_tif_keep_precision(tmp_path):
    img = _ramp()
    for suffix in (".png", ".tif"):
        path = save_image(tmp_path / f"a{suffix}", img, bit_depth=16)
        b = load_image(path)
        assert b.bit_depth == 16
        assert np.abs(b.image - img).max() < 1e-4


def test_gray_and_rgba(tmp_path):
    gray = (np.arange(24 * 32, dtype=np.uint32).reshape(24, 32) % 256).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    b = load_image(tmp_path / "g.png")
    assert b.gray and b.image.shape == (24, 32, 3)
    assert np.allclose(b.image[..., 0], b.image[..., 2]) and np.allclose(b.image[..., 0] * 255, gray)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 2] = 200  # red in BGRA
    rgba[..., 3] = 128
    cv2.imwrite(str(tmp_path / "r.png"), rgba)
    r = load_image(tmp_path / "r.png")
    assert not r.gray and np.allclose(r.image[0, 0], [200 / 255, 0, 0])


def test_exif_exposure_time_orders_brackets(tmp_path):
    # Brighter pixels but shorter exposure: EXIF must win over luminance.
    paths = []
    for name, level, t in [("a.jpg", 0.8, 1 / 500), ("b.jpg", 0.3, 1 / 30)]:
        im = Image.fromarray((_ramp(level=level) * 255).astype(np.uint8))
        exif = Image.Exif()
        exif.get_ifd(0x8769)[33434] = t
        im.save(tmp_path / name, exif=exif)
        paths.append(tmp_path / name)
    assert load_image(paths[0]).exposure_time == pytest.approx(1 / 500)
    ordered = load_brackets(paths[::-1])
    assert [os.path.basename(b.path) for b in ordered] == ["a.jpg", "b.jpg"]


def test_order_by_luminance_without_exif():
    dark, mid, bright = (Bracket(_ramp(level=v)) for v in (0.2, 0.5, 0.9))
    assert order_brackets([bright, dark, mid]) == [dark, mid, bright]


@pytest.mark.parametrize(
    "frames, message",
    [
        ([_ramp()], "need 2 or 3"),
        ([_ramp(level=v) for v in (0.1, 0.3, 0.5, 0.7)], "at most 3"),
        ([_ramp(), _ramp(h=20)], "sizes differ"),
        ([_ramp(), _ramp()], "same exposure"),
    ],
)
def test_bad_sets_are_refused(frames, message):
    with pytest.raises(EdgemefError, match=message):
        order_brackets([Bracket(f) for f in frames])


def test_missing_corrupt_and_unsupported_files(tmp_path):
    with pytest.raises(EdgemefError, match="no such file"):
        load_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(EdgemefError, match="cannot decode"):
        load_image(tmp_path / "bad.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(EdgemefError, match="cannot decode"):
        load_image(tmp_path / "empty.jpg")
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    with pytest.raises(EdgemefError, match="unsupported file type"):
        load_image(tmp_path / "x.gif")


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    save_image(target, _ramp())
    before = target.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(EdgemefError, match="cannot write"):
        save_image(target, _ramp(level=0.9))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp file left behind


def test_save_refuses_bad_destinations(tmp_path):
    with pytest.raises(EdgemefError, match="does not exist"):
        save_image(tmp_path / "missing" / "o.png", _ramp())
    with pytest.raises(EdgemefError, match="must end in"):
        save_image(tmp_path / "o.xyz", _ramp())


def test_find_bracket_sets_on_real_layout(mefb_dir):
    sets = find_bracket_sets(mefb_dir)
    assert len(sets) == 40 and all(len(files) == 2 for _, files in sets)


def test_real_pairs_load_under_first(mefb_dir):
    for _, files in find_bracket_sets(mefb_dir)[:5]:
        under, over = load_brackets(files)
        assert under.luminance < over.luminance


def test_written_files_get_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = save_image(tmp_path / "p.png", _ramp())
    finally:
        os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o644
