"""android_demo's platform-independent Java core, checked on the JVM and against the Python side.

* its JUnit 4 tests (BracketScheduler, FramePairer, YuvConverter, ColorSpace, ChromaMerge,
  ManifestParser, FusionPipeline);
* ColorSpace against edgemef.color on random colours (both directions and compose);
* YuvConverter against OpenCV's cvtColor on a synthetic NV21 / I420 frame (BT.601 limited range)
  and against cvtColor's full-range YCrCb conversion (what Camera2 YUV outputs use);
* the whole fusion path: Java reads a bundled sample pair and prepares the network input as the app
  does; the Python ONNX Runtime runs the exported .ort on exactly that input; Java composes the RGB
  result; it must match edgemef's own ``runtimes.load(...).fuse`` on the same pair to 1/255.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from tests.android.conftest import CORE, DEMO, SCENES, run_java, sample_pair

CROSS = "com.edgemef.core.CrossCheck"
ONE_LEVEL = 1.0 / 255.0


def java_ok(classpath, *args) -> str:
    r = run_java(classpath, CROSS, *args)
    assert r.returncode == 0, f"java {' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def f32(path, shape=None) -> np.ndarray:
    a = np.fromfile(path, dtype="<f4")
    return a.reshape(shape) if shape is not None else a


def test_junit_suite_of_the_core(junit_classpath):
    tests_dir = junit_classpath[0]
    names = sorted(str(p.relative_to(tests_dir).with_suffix("")).replace("/", ".")
                   for p in tests_dir.rglob("*Test.class") if "$" not in p.name)
    assert len(names) >= 7, names
    r = run_java(junit_classpath, "org.junit.runner.JUnitCore", *names)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    m = re.search(r"OK \((\d+) tests\)", r.stdout)
    assert m and int(m.group(1)) >= 30, r.stdout[-2000:]


def test_core_has_no_android_imports():
    for path in (CORE / "main" / "java").rglob("*.java"):
        text = path.read_text()
        assert not re.search(r"^import (android|androidx|ai\.onnxruntime|javax\.imageio)\.", text, re.M), path


def test_android_classes_compile_against_api_stubs(jdk, tmp_path):
    """No android.jar or ONNX Runtime jar can be had here: compile the app's classes against signature
    stubs transcribed from the API reference (tests/android/api_stubs/README.md says what that proves)."""
    import subprocess

    stubs = sorted((DEMO.parent / "tests" / "android" / "api_stubs").rglob("*.java"))
    app = sorted((DEMO / "app" / "src" / "main" / "java").rglob("*.java"))
    core = sorted((CORE / "main" / "java").rglob("*.java"))
    assert len(app) >= 6 and len(stubs) >= 40
    r = subprocess.run([jdk[0], "--release", "11", "-encoding", "UTF-8", "-Xlint:all", "-d", str(tmp_path),
                        *map(str, stubs + core + app)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "com" / "edgemef" / "demo" / "CameraBracketer.class").is_file()


def test_lab_conversion_matches_edgemef_color(core_classes, tmp_path):
    from edgemef import color

    rng = np.random.default_rng(7)
    rgb = rng.random((1, 20000, 3), dtype=np.float32)
    corners = [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.04045, 0.0031308, 0.04046],
               [0.5, 0.5, 0.5], [1e-4, 0.999, 0.2]]
    rgb[0, : len(corners)] = corners
    rgb.astype("<f4").tofile(tmp_path / "rgb.f32")
    java_ok(core_classes, "lab", tmp_path / "rgb.f32", tmp_path / "lab.f32")
    lab_j, lab_p = f32(tmp_path / "lab.f32", rgb.shape), color.rgb_to_lab(rgb)
    assert np.abs(lab_j - lab_p).max() < 1e-3  # L in [0, 100], a/b ~ +-128; measured ~7e-5

    lab = np.empty_like(rgb)
    lab[..., 0] = rng.random(rgb.shape[1]) * 100
    lab[..., 1:] = rng.uniform(-128, 127, (rgb.shape[1], 2))  # far out of gamut too: clipping must agree
    lab.astype("<f4").tofile(tmp_path / "lab_in.f32")
    java_ok(core_classes, "lab2rgb", tmp_path / "lab_in.f32", tmp_path / "back.f32")
    assert np.abs(f32(tmp_path / "back.f32", rgb.shape) - color.lab_to_rgb(lab)).max() < 1e-5

    fused_l = rng.uniform(-0.2, 1.2, rgb.shape[1]).astype(np.float32)  # clipped to [0, 1] on both sides
    ab = lab_p[0, :, 1:]
    fused_l.astype("<f4").tofile(tmp_path / "l.f32")
    np.ascontiguousarray(ab, "<f4").tofile(tmp_path / "ab.f32")
    java_ok(core_classes, "compose-lab", tmp_path / "l.f32", tmp_path / "ab.f32", tmp_path / "c.f32")
    ref = color.compose(fused_l[None], ab[None])
    assert np.abs(f32(tmp_path / "c.f32", ref.shape) - ref).max() < 1e-5


def _synthetic_yuv(w: int = 96, h: int = 64):
    import cv2

    rng = np.random.default_rng(3)
    bgr = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (0, 0), 2.0)
    bgr[:8, :8] = (255, 0, 0)  # saturated corners: clipping
    bgr[-8:, -8:] = (0, 0, 255)
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    y, u, v = i420[:h], i420[h: h + h // 4].reshape(h // 2, w // 2), i420[h + h // 4:].reshape(h // 2, w // 2)
    nv21 = np.concatenate([y, np.stack([v, u], -1).reshape(h // 2, w)])
    return i420, nv21, (y, u, v)


@pytest.mark.parametrize("layout", ["i420", "nv21"])
def test_yuv_limited_range_matches_opencv(core_classes, tmp_path, layout):
    import cv2

    i420, nv21, (y, _, _) = _synthetic_yuv()
    h, w = y.shape
    frame = i420 if layout == "i420" else nv21
    frame.tofile(tmp_path / "frame.yuv")
    java_ok(core_classes, "yuv", layout, "limited", w, h, tmp_path / "frame.yuv", tmp_path / "rgb.f32")
    code = cv2.COLOR_YUV2RGB_I420 if layout == "i420" else cv2.COLOR_YUV2RGB_NV21
    ref = cv2.cvtColor(frame, code).astype(np.float32) / 255.0
    diff = np.abs(f32(tmp_path / "rgb.f32", ref.shape) - ref).max()
    assert diff <= ONE_LEVEL, f"max |Java - OpenCV| = {diff * 255:.3f} / 255"  # measured 0.55 (OpenCV rounds to 8 bits)


def test_yuv_full_range_matches_opencv_ycrcb(core_classes, tmp_path):
    import cv2

    i420, _, (y, u, v) = _synthetic_yuv()
    h, w = y.shape
    i420.tofile(tmp_path / "frame.yuv")
    java_ok(core_classes, "yuv", "i420", "full", w, h, tmp_path / "frame.yuv", tmp_path / "rgb.f32")
    up = lambda c: np.repeat(np.repeat(c, 2, 0), 2, 1)  # noqa: E731  (2x2 replication, as the converter)
    ref = cv2.cvtColor(np.dstack([y, up(v), up(u)]), cv2.COLOR_YCrCb2RGB).astype(np.float32) / 255.0
    diff = np.abs(f32(tmp_path / "rgb.f32", ref.shape) - ref).max()
    assert diff <= ONE_LEVEL, f"max |Java - OpenCV| = {diff * 255:.3f} / 255"


def test_png_frames_load_as_edgemef_io_loads_them(core_classes, tmp_path):
    from edgemef.io import load_image

    for path in sample_pair("arch_view"):
        java_ok(core_classes, "png", path, tmp_path / "im.f32")
        ref = load_image(path).image
        assert np.array_equal(f32(tmp_path / "im.f32", ref.shape), ref)


@pytest.mark.parametrize("scene", SCENES)
def test_java_pipeline_with_python_onnxruntime_matches_edgemef_fuse(core_classes, android_export, tmp_path, scene):
    """Java prepare -> Python ORT on the .ort the app ships -> Java compose == edgemef's runtime, to 1/255."""
    import onnxruntime as ort

    from edgemef.io import load_brackets
    from edgemef.manifest import Manifest
    from edgemef.netio import prepare_input
    from edgemef.runtimes import load

    model = android_export["assets"] / "edgemef.ort"
    manifest_path = android_export["assets"] / "edgemef.ort.json"
    manifest = Manifest.from_json(manifest_path.read_text())
    files = sample_pair(scene)

    out = java_ok(core_classes, "prepare", manifest_path, tmp_path / "x.f32", *files)
    shape = [int(s) for s in out.split()[1:]]
    x = f32(tmp_path / "x.f32", shape)
    frames = [b.image for b in load_brackets(files)]
    x_py, _ = prepare_input(frames, manifest)
    assert x.shape == x_py.shape and np.abs(x - x_py).max() < 1e-5

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (y,) = session.run([manifest.output_name], {manifest.input_name: x})
    np.ascontiguousarray(y, "<f4").tofile(tmp_path / "y.f32")
    java_ok(core_classes, "compose", manifest_path, tmp_path / "y.f32", shape[2], shape[3], tmp_path / "rgb.f32",
            *files)
    fused_java = f32(tmp_path / "rgb.f32", (*frames[0].shape[:2], 3))

    fused_py = load(model, threads=2).fuse(frames)
    diff = np.abs(fused_java - fused_py).max(axis=(0, 1))
    assert (diff <= ONE_LEVEL).all(), f"{scene}: max |Java - Python| per channel = {diff * 255} / 255"
    assert fused_py.std() > 0.05  # a real image, not a flat one
