"""Calibration data: real brackets go through exactly the runtime's preprocessing; bad folders fail."""
from __future__ import annotations

import numpy as np
import pytest

from edgemef.calibration.data import SmallCalibrationSetWarning, calibration_set, runtime_images
from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest
from edgemef.netio import prepare_input
from tests.conftest import mefb_pairs

MANIFEST = Manifest(model="densefuse", format="onnx")


def _link(tmp_path, names):
    root = tmp_path / "sets"
    root.mkdir()
    pairs = dict(mefb_pairs())
    for n in names:
        (root / n).symlink_to(pairs[n][0].parent, target_is_directory=True)
    return root


def test_real_inputs_equal_the_runtime_preprocessing(mefb_dir, tmp_path):
    root = _link(tmp_path, ["Door"])
    with pytest.warns(SmallCalibrationSetWarning, match="only 1 inputs"):
        cs = calibration_set(MANIFEST, calib_dir=root, crop=None)
    frames = runtime_images(sorted((root / "Door").iterdir()))
    x, _ = prepare_input(frames, MANIFEST)
    assert len(cs) == 1 and cs.names == ["Door#0"] and cs.sources == ["dir:sets"]
    np.testing.assert_array_equal(cs.inputs[0], x)
    assert x.shape == (1, 2, *frames[0].shape[:2])


def test_crops_are_deterministic_and_full_resolution(mefb_dir, tmp_path):
    root = _link(tmp_path, ["Door", "Igloo"])
    with pytest.warns(SmallCalibrationSetWarning):
        a = calibration_set(MANIFEST, calib_dir=root, crop=96, crops_per_set=3, seed=1)
        b = calibration_set(MANIFEST, calib_dir=root, crop=96, crops_per_set=3, seed=1)
    assert len(a) == 6 and all(x.shape == (1, 2, 96, 96) for x in a.inputs)
    assert a.digest() == b.digest()
    assert all(0.0 <= x.min() and x.max() <= 1.0 for x in a.inputs)  # CIELAB L / 100


def test_synthetic_only(tmp_path):
    with pytest.warns(SmallCalibrationSetWarning):
        cs = calibration_set(MANIFEST, bundled=False, synthetic=2, synthetic_size=(48, 64))
    assert cs.names == ["synthetic-0", "synthetic-1"] and cs.inputs[0].shape == (1, 2, 48, 64)
    assert cs.sources == ["synthetic:2@48x64"]
    assert not np.array_equal(cs.inputs[0], cs.inputs[1])


def test_empty_unreadable_and_mismatched_folders_are_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EdgemefError, match="no bracket sets"):
        calibration_set(MANIFEST, calib_dir=empty)
    bad = tmp_path / "bad" / "scene"
    bad.mkdir(parents=True)
    (bad / "a.png").write_bytes(b"garbage")
    (bad / "b.png").write_bytes(b"garbage")
    with pytest.raises(EdgemefError, match="no usable calibration brackets.*cannot decode"):
        calibration_set(MANIFEST, calib_dir=bad.parent)
    three = tmp_path / "three" / "scene"
    three.mkdir(parents=True)
    for i, v in enumerate((0.2, 0.5, 0.8)):
        from edgemef.io import save_image

        save_image(three / f"f{i}.png", np.full((16, 16, 3), v, np.float32))
    with pytest.raises(EdgemefError, match="3 images, model 'densefuse' fuses 2"):
        calibration_set(MANIFEST, calib_dir=three.parent)
