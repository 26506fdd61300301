"""`edgemef export --target ort-mobile --android-assets DIR`: the model and its manifest land in the
app's assets under the names the app loads, and they run; bad uses are one-line errors (exit 2)."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from edgemef.cli import cli
from edgemef.cli.export import ANDROID_MODEL
from tests.android.conftest import DEMO, REPO, sample_pair


def test_assets_hold_the_model_and_its_manifest(android_export):
    from edgemef.io import load_brackets
    from edgemef.manifest import Manifest
    from edgemef.runtimes import load

    assets, artifact = android_export["assets"], android_export["artifact"]
    assert sorted(p.name for p in assets.iterdir()) == [ANDROID_MODEL, f"{ANDROID_MODEL}.json"]
    assert (assets / ANDROID_MODEL).read_bytes() == artifact.read_bytes()
    m = Manifest.from_json((assets / f"{ANDROID_MODEL}.json").read_text())
    assert m.format == "ort-mobile" and m.model == "densefuse" and m.parity["passed"]
    assert f"android assets: {assets / ANDROID_MODEL}" in android_export["output"]
    fused = load(assets / ANDROID_MODEL, threads=1).fuse([b.image for b in load_brackets(sample_pair("night_street"))])
    assert fused.shape == (360, 480, 3)


def test_the_app_loads_the_names_the_exporter_writes():
    java = (DEMO / "app" / "src" / "main" / "java" / "com" / "edgemef" / "demo" / "ModelAssets.java").read_text()
    assert f'MODEL = "{ANDROID_MODEL}"' in java
    assert 'MANIFEST = MODEL + ".json"' in java


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_the_app_runtime_is_at_least_the_converter_version():
    """A .ort file needs an ONNX Runtime at least as new as the one that converted it."""
    gradle = (DEMO / "app" / "build.gradle.kts").read_text()
    app = re.search(r'com\.microsoft\.onnxruntime:onnxruntime-android:([0-9.]+)"', gradle)
    pinned = re.search(r"^onnxruntime==([0-9.]+)$", (REPO / "constraints.txt").read_text(), re.M)
    assert app and pinned
    assert _version(app.group(1)) >= _version(pinned.group(1)), (app.group(1), pinned.group(1))


@pytest.mark.parametrize("extra,message", [
    (["--target", "onnx"], "--android-assets applies to --target ort-mobile only"),
    (["--target", "ort-mobile", "--android-assets-file"], "not a directory"),
])
def test_bad_android_assets_are_one_line_errors(tmp_path, extra, message):
    target = tmp_path / "assets"
    if extra[-1] == "--android-assets-file":
        extra = extra[:-1]
        target.write_text("a file")
    r = CliRunner().invoke(cli, ["export", "--model", "densefuse", *extra, "--android-assets", str(target),
                                 "-o", str(tmp_path / f"m{'.onnx' if 'onnx' in extra else '.ort'}")])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgemef: error: ") and message in lines[0]
