"""`edgemef export`: --help from the targets table, one-line errors (exit 2), and one full export."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from edgemef.cli import cli
from edgemef.errors import EdgemefError
from edgemef.export.targets import TARGETS


def run(*args):
    return CliRunner().invoke(cli, ["export", *args])


def test_help_lists_every_target_from_the_table():
    r = run("--help")
    assert r.exit_code == 0
    text = " ".join(r.output.split())  # undo click's line wrapping
    for t in TARGETS.values():
        assert f"{t.name} ({t.suffix}; {'/'.join(t.precisions)}" in text
    assert "--calib-method" in text and "--parity-pairs" in text


@pytest.mark.parametrize("args,message", [
    (["--target", "tflite"], "unknown target 'tflite' (choose from: onnx, openvino, tensorrt, ort-mobile)"),
    (["--target", "ort-mobile", "--precision", "fp16"], "target 'ort-mobile' supports --precision fp32/int8, not fp16"),
    (["--target", "onnx", "--precision", "int4"], "unknown precision 'int4'"),
    (["--target", "onnx", "--shape", "720x1280", "--dynamic"], "--shape and --dynamic exclude each other"),
    (["--target", "onnx", "--shape", "720"], "--shape must be HxW"),
    (["--target", "onnx", "--calib", "."], "--calib applies to --precision int8 only"),
    (["--target", "onnx", "--precision", "int8", "--calib-method", "kl"], "unknown --calib-method 'kl'"),
    (["--target", "openvino", "-o", "model.onnx"], "openvino artifacts must end in .xml"),
    (["--target", "onnx", "--int8-fallback"], "--int8-fallback applies to --precision int8 only"),
    (["--target", "onnx", "--calib-method", "entropy"], "--calib-method applies to --precision int8 only"),
    (["--target", "onnx", "--parity-pairs", "/nonexistent/pairs"], "not a directory"),
    (["--target", "openvino", "--precision", "fp16", "--calib-method", "minmax"],
     "--calib-method applies to --precision int8 only"),
])
def test_bad_arguments_are_one_line_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no -o: an export that wrongly ran would write its default name here
    r = run("--model", "densefuse", *args)
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgemef: error: ") and message in lines[0]


def test_missing_bundled_weights_ask_for_weights(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    import edgemef.export.source as source

    monkeypatch.setattr(source, "bundled_weights", lambda name: tmp_path / f"{name}.safetensors")
    r = run("--model", "densefuse", "--target", "onnx", "-o", str(tmp_path / "a.onnx"))
    assert r.exit_code == 2 and "pass --weights FILE" in r.output and len(r.output.strip().splitlines()) == 1


def test_unknown_model_and_empty_calibration_folder(tmp_path):
    pytest.importorskip("torch")
    r = run("--model", "unet9000", "--target", "onnx", "--weights", str(tmp_path / "w.safetensors"))
    assert r.exit_code == 2 and "unknown model 'unet9000' (registered: densefuse" in r.output


@pytest.fixture(scope="module")
def weights_file(networks, tmp_path_factory):
    """The test network saved as a shipped-style safetensors checkpoint (manifest in the metadata)."""
    from safetensors.torch import save_file

    from edgemef.manifest import METADATA_KEY

    net = networks("densefuse")
    path = tmp_path_factory.mktemp("w") / "densefuse.safetensors"
    m = net.manifest
    m.format = "torch"
    save_file({k: v.contiguous() for k, v in net.module.state_dict().items()}, str(path),
              metadata={METADATA_KEY: m.to_json()})
    return path


def test_empty_or_unreadable_calibration_folder_is_refused(weights_file, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("--model", "densefuse", "--weights", str(weights_file), "--target", "onnx", "--precision", "int8",
            "--calib", str(empty), "-o", str(tmp_path / "a.onnx"), "-q")
    assert r.exit_code == 2 and "no bracket sets" in r.output
    bad = tmp_path / "bad" / "scene"
    bad.mkdir(parents=True)
    (bad / "a.jpg").write_bytes(b"not a jpeg")
    (bad / "b.jpg").write_bytes(b"")
    r = run("--model", "densefuse", "--weights", str(weights_file), "--target", "onnx", "--precision", "int8",
            "--calib", str(bad.parent), "-o", str(tmp_path / "a.onnx"), "-q")
    assert r.exit_code == 2 and "no usable calibration brackets" in r.output and "cannot decode" in r.output
    assert not (tmp_path / "a.onnx").exists()


def test_full_int8_export_reusing_a_calibration_table(weights_file, exporters, scene_dirs, tmp_path):
    """The CLI exports the same weights to the same graph, so the session's saved table fits it."""
    table = exporters("densefuse").calibration().save(tmp_path / "ranges.calib.json")
    out = tmp_path / "df.openvino.xml"
    r = CliRunner().invoke(cli, ["export", "--model", "densefuse", "--weights", str(weights_file), "--target",
                                 "openvino", "--precision", "int8", "--calib", str(table),
                                 "--parity-pairs", str(scene_dirs["parity"]), "--parity-count", "1",
                                 "--threads", "1", "--no-latency", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and out.with_suffix(".bin").is_file()
    saved = tmp_path / "df.openvino.calib.json"
    assert saved.read_text() == table.read_text()  # the very table, recorded beside the artifact
    text = r.stdout
    assert f"exported densefuse -> {out} (openvino, int8" in text
    assert "calibration: percentile over" in text and "PSNR min" in text and "passed" in text
    assert "parity vs PyTorch on 1 pair(s) from parity via" in text  # the count asked for: no "of N asked"
    assert f"edgemef fuse --model {out} a.jpg b.jpg -o fused.png" in text
    from edgemef.cli import COMMANDS

    assert ("edgemef bench --model densefuse --targets openvino --precisions int8" in text) == ("bench" in COMMANDS)


def test_corrupt_calibration_table_is_refused(weights_file, tmp_path):
    bad = tmp_path / "t.calib.json"
    bad.write_text('{"format": "edgemef-calibration", "version": 1, "model": "densefuse", "method": "minmax", '
                   '"graph_digest": "x", "ranges": {"a": [0, 1]}, "samples": 1, "digest": "0000"}')
    r = run("--model", "densefuse", "--weights", str(weights_file), "--target", "onnx", "--precision", "int8",
            "--calib", str(bad), "-o", str(tmp_path / "a.onnx"))
    assert r.exit_code == 2 and "digest mismatch" in r.output


def test_int8_fallback_export_is_on_record(weights_file, exporters, scene_dirs, tmp_path):
    """--int8-fallback on a network that already clears the int8 aim keeps nothing extra fp32,
    says so in the summary, and records the probe figures in the manifest."""
    from edgemef.runtimes import read_manifest

    table = exporters("densefuse").calibration().save(tmp_path / "ranges.calib.json")
    out = tmp_path / "df.onnx"
    r = CliRunner().invoke(cli, ["export", "--model", "densefuse", "--weights", str(weights_file), "--target", "onnx",
                                 "--precision", "int8", "--calib", str(table), "--int8-fallback",
                                 "--parity-pairs", str(scene_dirs["parity"]), "--parity-count", "1",
                                 "--threads", "1", "--no-latency", "-o", str(out)])
    assert r.exit_code == 0, r.output
    fb = read_manifest(out).calibration["fallback"]
    # nothing kept beyond the structural rules (of which the output convolution is a compute op)
    assert fb["reached"] and fb["groups"] == [] and fb["compute_ops_int8"] == fb["compute_ops"] - 1 > 0
    assert fb["steps"][0]["psnr_db_min"] >= fb["target_db"] == 38.0
    assert "int8 fallback: kept fp32 none needed" in r.stdout and "mostly fp32" not in r.stdout


def test_a_fallback_that_leaves_little_int8_says_so():
    """A fallback that keeps most compute fp32 is not presented as an int8 artifact."""
    from edgemef.export.summary import fallback_line

    fb = {"groups": ["merge.stage1"], "requantized": [], "compute_ops": 153, "compute_ops_int8": 3, "target_db": 38.0,
          "steps": [{"psnr_db_min": 26.3}, {"psnr_db_min": 39.4}]}
    assert "3/153 compute ops int8 (mostly fp32: expect about fp32 speed" in fallback_line(fb)
    fb["compute_ops_int8"] = 77
    assert "mostly" not in fallback_line(fb)
    fb["requantized"] = ["merge.stage1.encoders.0", "merge.stage1.ups.1"]
    assert "kept fp32 merge.stage1 (2 of their blocks back in int8);" in fallback_line(fb)


def test_int8_fallback_that_leaves_no_int8_is_refused(exporters, monkeypatch, tmp_path):
    """An aim no int8 graph reaches keeps every group fp32: that is no int8 artifact, so refused."""
    import edgemef.export.pipeline as pipeline

    monkeypatch.setattr(pipeline, "FALLBACK_MARGIN_DB", 500.0)
    ex = exporters("densefuse").with_options(int8_fallback=True)
    with pytest.raises(EdgemefError, match=r"every module group had to stay fp32 .* no int8 compute is left; "
                                           r"export fp16 instead"):
        ex.export("onnx", "int8", tmp_path / "df.onnx")
    assert list(tmp_path.iterdir()) == []  # nothing written, no staging left
