"""Alternating-exposure recordings for the camera tests, made from a real mefb-dev pair when present
(else a synthetic textured scene), with a small camera motion between frames."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgemef.io import load_image, to_uint
from tests.conftest import mefb_pairs

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = (320, 240)  # (width, height) of the generated frames

needs_gst = pytest.mark.skipif(shutil.which("gst-launch-1.0") is None,
                               reason="gst-launch-1.0 not installed (apt-get install gstreamer1.0-tools)")


def _scene_pair() -> tuple[np.ndarray, np.ndarray]:
    """(under, over) float RGB images of one scene, larger than SIZE so a window can move over them."""
    w, h = SIZE[0] + 40, SIZE[1] + 40
    pairs = mefb_pairs()
    if pairs:
        _, (a, b) = pairs[0]
        under, over = sorted((load_image(a).image, load_image(b).image), key=lambda im: float(im.mean()))
        return (cv2.resize(under, (w, h), interpolation=cv2.INTER_AREA),
                cv2.resize(over, (w, h), interpolation=cv2.INTER_AREA))
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.random((h // 8, w // 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    base = np.clip(base + 0.15 * rng.random((h, w, 3)).astype(np.float32), 0, 1)
    return np.clip(base * 0.25, 0, 1), np.clip(base * 2.0, 0, 1)


def alternating_frames(n_pairs: int) -> list[np.ndarray]:
    """uint8 BGR frames: even ones under-exposed, odd ones over-exposed, moving 1 px per frame."""
    under, over = _scene_pair()
    w, h = SIZE
    frames = []
    for i in range(2 * n_pairs):
        x, y = (i % 40), (i // 2) % 20
        img = (under if i % 2 == 0 else over)[y:y + h, x:x + w]
        frames.append(cv2.cvtColor(to_uint(img), cv2.COLOR_RGB2BGR))
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 20.0) -> Path:
    """Motion-JPEG .avi (near-lossless at OpenCV's default quality)."""
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert vw.isOpened()
    for f in frames:
        vw.write(f)
    vw.release()
    return path


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame OpenCV can decode from ``path``."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


@pytest.fixture(scope="session")
def alt_video(tmp_path_factory) -> Path:
    """An alternating-exposure recording of 12 pairs (24 frames)."""
    return write_video(tmp_path_factory.mktemp("camera") / "alt.avi", alternating_frames(12))
