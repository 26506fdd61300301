"""The runtime side never imports torch (nor an engine until a model is loaded)."""
import subprocess
import sys

from edgemef.manifest import Manifest
from rt_helpers import write_mean_onnx


def run_python(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_imports_do_not_load_torch_or_engines():
    out = run_python(
        "import sys, edgemef, edgemef.runtimes, edgemef.netio, edgemef.runtimes.methods\n"
        "print(sorted(m for m in ('torch', 'onnxruntime', 'openvino', 'tensorrt', 'onnx') if m in sys.modules))")
    assert out.strip() == "[]"


def test_fuse_help_does_not_load_torch():
    out = run_python(
        "import sys\nfrom edgemef.cli import cli\n"
        "try:\n    cli.main(['fuse', '--help'], prog_name='edgemef')\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    assert "--model" in out and "--threads" in out and out.strip().endswith("NO-TORCH")


def test_fusing_with_an_onnx_artifact_does_not_load_torch(tmp_path, real_pair):
    path = write_mean_onnx(tmp_path / "mean.onnx", Manifest(model="mean", format="onnx"))
    out = run_python(
        "import sys, numpy as np\nimport edgemef\n"
        f"rt = edgemef.load({str(path)!r}, threads=1)\n"
        "ims = [np.full((40, 60, 3), v, np.float32) for v in (0.2, 0.8)]\n"
        "print(rt.fuse(ims).shape, 'torch' in sys.modules, 'onnxruntime' in sys.modules)")
    assert out.strip() == "(40, 60, 3) False True"
