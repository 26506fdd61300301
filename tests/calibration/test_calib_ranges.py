"""Activation ranges (MinMax, percentile, entropy) and the digested calibration table."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx")

from edgemef.calibration.data import CalibrationSet  # noqa: E402
from edgemef.calibration.ranges import (CalibrationTable, activation_ranges, calibrate,  # noqa: E402
                                        entropy_threshold, graph_digest)
from edgemef.errors import EdgemefError  # noqa: E402
from tests.calibration.tiny import inputs, run, tiny_model  # noqa: E402


def test_minmax_is_exact_on_input_relu_and_output():
    model, xs = tiny_model(), inputs()
    r = activation_ranges(model, xs, "minmax")
    assert set(r) == {"x", "c1", "r1", "y"}
    assert r["x"] == [min(float(x.min()) for x in xs), max(float(x.max()) for x in xs)]
    ys = [run(model, x) for x in xs]
    assert r["y"][0] == pytest.approx(min(float(y.min()) for y in ys), abs=1e-6)
    assert r["y"][1] == pytest.approx(max(float(y.max()) for y in ys), abs=1e-6)
    assert r["r1"][0] == 0.0 and r["c1"][0] < 0.0 < r["c1"][1] and r["r1"][1] == r["c1"][1]


def test_percentile_and_entropy_clip_outliers_but_keep_input_and_output():
    model, xs = tiny_model(), inputs(n=8, size=128)
    xs[0][0, :, 5, 5] = 60.0  # one wild pixel: < 0.01 % of each intermediate tensor's values
    mm = activation_ranges(model, xs, "minmax")
    for method in ("percentile", "entropy"):
        r = activation_ranges(model, xs, method)
        assert r["x"] == mm["x"] and r["y"] == mm["y"]  # bounded input and the output are never clipped
        assert r["r1"][1] < 0.5 * mm["r1"][1], method  # the spike no longer sets the range
        assert r["r1"][0] == 0.0


def test_entropy_threshold_on_known_distributions():
    rng = np.random.default_rng(0)
    gauss = np.abs(np.concatenate([rng.standard_normal(200_000), np.full(20, 50.0)]))
    h, edges = np.histogram(gauss, bins=2048, range=(0, 50))
    t = entropy_threshold(h, edges)
    assert 2.0 < t < 15.0  # clips the outliers, keeps the Gaussian body
    uniform = rng.random(200_000)
    h, edges = np.histogram(uniform, bins=2048, range=(0, 1))
    assert entropy_threshold(h, edges) > 0.9  # nothing worth clipping


def test_bad_method_and_no_inputs():
    with pytest.raises(EdgemefError, match="unknown calibration method 'kl'"):
        activation_ranges(tiny_model(), inputs(1), "kl")
    with pytest.raises(EdgemefError, match="no calibration inputs"):
        activation_ranges(tiny_model(), [], "minmax")


def _table(method="minmax"):
    data = CalibrationSet(inputs(3), ["a", "b", "c"], ["test"])
    return calibrate(tiny_model(), data, "tiny", method)


def test_table_roundtrip_digest_and_graph_check(tmp_path):
    t = _table("percentile")
    path = t.save(tmp_path / "t.calib.json")
    back = CalibrationTable.load(path)
    assert back == t and back.digest == t.digest and len(t.digest) == 16
    rec = t.record("t.calib.json")
    assert rec["method"] == "percentile" and rec["samples"] == 3 and rec["table"] == "t.calib.json"
    t.check_graph(tiny_model())
    with pytest.raises(EdgemefError, match="recalibrate"):
        t.check_graph(tiny_model(seed=1))  # other weights, other graph digest
    assert graph_digest(tiny_model()) != graph_digest(tiny_model(seed=1))


def test_edited_or_foreign_table_is_refused(tmp_path):
    path = _table().save(tmp_path / "t.calib.json")
    body = json.loads(path.read_text())
    body["ranges"]["r1"][1] *= 0.5
    path.write_text(json.dumps(body))
    with pytest.raises(EdgemefError, match="digest mismatch"):
        CalibrationTable.load(path)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(EdgemefError, match="not an edgemef calibration table"):
        CalibrationTable.load(other)
    with pytest.raises(EdgemefError, match="cannot read"):
        CalibrationTable.load(tmp_path / "missing.json")
