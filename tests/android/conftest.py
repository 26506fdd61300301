"""Fixtures for the Android demo: the JVM core (android_demo/core) compiled with javac, and one
DenseFuse ort-mobile export written into an assets folder by ``edgemef export --android-assets``.

Java tests skip, saying why, without a JDK (javac + java) or, for the JUnit run, without Debian's
``junit4`` package (setup.sh installs it); the export needs the ``train`` extra (torch, onnx).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, mefb_pairs

DEMO = REPO / "android_demo"
CORE = DEMO / "core" / "src"
JUNIT_JARS = (Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar"))
SAMPLES = REPO / "edgemef" / "assets" / "samples"
SCENES = ("arch_view", "night_street")  # under.png + over.png each (window_room has the same kind)


def sample_pair(scene: str) -> list[Path]:
    return [SAMPLES / scene / "under.png", SAMPLES / scene / "over.png"]


def _javac(out: Path, sources: list[Path], classpath: list[Path]) -> None:
    cmd = [shutil.which("javac"), "--release", "11", "-encoding", "UTF-8", "-Xlint:all", "-d", str(out)]
    if classpath:
        cmd += ["-cp", ":".join(map(str, classpath))]
    r = subprocess.run(cmd + [str(s) for s in sources], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"javac failed:\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="session")
def jdk():
    """(javac, java) paths; skips without a JDK."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if not javac or not java:
        pytest.skip("no JDK here (javac/java not on PATH): install one, e.g. Debian's default-jdk-headless")
    return javac, java


@pytest.fixture(scope="session")
def core_classes(jdk, tmp_path_factory) -> Path:
    """The core and the cross-check entry point (test sources minus the JUnit tests), compiled."""
    out = tmp_path_factory.mktemp("core-classes")
    main = sorted((CORE / "main" / "java").rglob("*.java"))
    tools = [p for p in sorted((CORE / "test" / "java").rglob("*.java")) if not p.name.endswith("Test.java")]
    _javac(out, main + tools, [])
    return out


@pytest.fixture(scope="session")
def junit_classpath(core_classes, tmp_path_factory) -> list[Path]:
    """Classpath with the compiled JUnit tests; skips without Debian's junit4 (+ hamcrest) jars."""
    missing = [str(j) for j in JUNIT_JARS if not j.is_file()]
    if missing:
        pytest.skip(f"JUnit 4 not installed ({', '.join(missing)} missing): apt-get install junit4 (setup.sh does)")
    out = tmp_path_factory.mktemp("core-tests")
    tests = sorted((CORE / "test" / "java").rglob("*Test.java"))
    _javac(out, tests, [core_classes, *JUNIT_JARS])
    return [out, core_classes, *JUNIT_JARS]


def run_java(classpath, *args, timeout: int = 120) -> subprocess.CompletedProcess:
    cp = ":".join(str(p) for p in (classpath if isinstance(classpath, (list, tuple)) else [classpath]))
    return subprocess.run([shutil.which("java"), "-Xss4m", "-cp", cp, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def _weights(tmp: Path) -> list[str]:
    """CLI arguments naming DenseFuse weights: none for the bundled checkpoint, else a saved test network
    (the export tests' stand-in, fitted on mefb-dev, or a seeded random one without mefb-dev)."""
    from edgemef.export.source import bundled_weights

    if bundled_weights("densefuse").is_file():
        return []
    import torch
    from safetensors.torch import save_file

    from edgemef.export.source import from_module
    from edgemef.manifest import METADATA_KEY
    from edgemef.models import create_model

    if mefb_pairs():
        from tests.export.conftest import stand_in_network

        net = stand_in_network("densefuse")
    else:
        torch.manual_seed(0)
        net = from_module("densefuse", create_model("densefuse").eval())
    m = net.manifest
    m.format = "torch"
    path = tmp / "densefuse.safetensors"
    save_file({k: v.contiguous() for k, v in net.module.state_dict().items()}, str(path),
              metadata={METADATA_KEY: m.to_json()})
    return ["--weights", str(path)]


@pytest.fixture(scope="session")
def android_export(tmp_path_factory):
    """One `edgemef export --target ort-mobile --android-assets DIR`: {'assets', 'artifact', 'output'}."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from click.testing import CliRunner

    from edgemef.cli import cli

    tmp = tmp_path_factory.mktemp("android-export")
    assets = tmp / "app" / "src" / "main" / "assets"  # does not exist yet: the flag creates it
    artifact = tmp / "densefuse-ort-mobile-fp32.ort"
    r = CliRunner().invoke(cli, ["export", "--model", "densefuse", *_weights(tmp), "--target", "ort-mobile",
                                 "--parity-count", "1", "--threads", "2", "--no-latency", "-o", str(artifact),
                                 "--android-assets", str(assets)])
    assert r.exit_code == 0, r.output
    return {"assets": assets, "artifact": artifact, "output": r.stdout}
