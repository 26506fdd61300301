"""Per-module int8 sensitivity: grouping by weight names, one group quantized at a time, figures
that match an independent QDQ run, a planted bad range found, and the command."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx")

from edgemef.calibration.data import CalibrationSet  # noqa: E402
from edgemef.calibration.qdq import emit_qdq  # noqa: E402
from edgemef.calibration.ranges import CalibrationTable, calibrate  # noqa: E402
from edgemef.calibration.sensitivity import ALL, PSNR_CAP_DB, main, module_groups, sensitivity  # noqa: E402
from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.manifest import Manifest  # noqa: E402
from tests.calibration.tiny import inputs, run, tiny_model  # noqa: E402

NAMES = {"w1": "enc.first.weight", "b1": "enc.first.bias", "w2": "dec.last.weight", "b2": "dec.last.bias"}


def named_model(names=NAMES):
    """The tiny Conv-Relu-Conv graph with module-path initializer names (as the dynamo exporter writes)."""
    model = tiny_model()
    for init in model.graph.initializer:
        init.name = names[init.name]
    for node in model.graph.node:
        node.input[:] = [names.get(i, i) for i in node.input]
    for i, node in enumerate(model.graph.node):
        node.name = f"n{i}"
    return model


def widened(table, factor: float = 500.0):
    """The table with the second conv's input range widened ``factor`` times (a planted bad range)."""
    ranges = dict(table.ranges)
    ranges["r1"] = [ranges["r1"][0], ranges["r1"][1] * factor]
    return CalibrationTable(table.model, table.method, table.graph_digest, ranges, table.samples)


def manifest():
    return Manifest.from_json(json.dumps({"model": "tiny", "format": "onnx", "exposures": 2, "colour_space": "lab-l"}))


@pytest.fixture(scope="module")
def setup():
    model = named_model()
    xs = inputs(4, 32)
    table = calibrate(model, CalibrationSet(xs, [], []), "tiny", "minmax")
    return model, table, [{"x": x} for x in xs]


def test_groups_follow_the_weights_module_path():
    model = named_model()
    assert module_groups(model) == {"enc.first": ["n0"], "dec.last": ["n2"]}
    assert module_groups(model, depth=1) == {"enc": ["n0"], "dec": ["n2"]}
    assert set(module_groups(tiny_model())) == {"(unnamed)"}  # initializers not named by module
    with pytest.raises(EdgemefError, match="depth"):
        module_groups(model, depth=0)


def test_each_row_is_an_independent_qdq_run(setup):
    model, table, feeds = setup
    rows = sensitivity(model, table, "ort-cpu", [], feeds, manifest(), threads=1)
    assert rows[0]["group"] == ALL and rows[0]["quantized"] == 2
    assert [r["psnr_db_min"] for r in rows[1:]] == sorted(r["psnr_db_min"] for r in rows[1:])  # worst first
    every = [n.name for n in model.graph.node]
    members = {"enc.first": {"n0", "n1"}, "dec.last": {"n2"}}  # the Relu goes with the conv it follows
    for r in rows[1:]:
        q = emit_qdq(model, table, "ort-cpu", keep_float=[n for n in every if n not in members[r["group"]]])
        ps = [10 * np.log10(1 / np.mean((np.clip(run(q, f["x"]), 0, 1) - np.clip(run(model, f["x"]), 0, 1)) ** 2))
              for f in feeds]
        assert r["psnr_db_min"] == pytest.approx(min(ps), abs=0.02)
        assert r["psnr_db_mean"] == pytest.approx(np.mean(ps), abs=0.02)
        assert 20 < r["psnr_db_min"] < PSNR_CAP_DB


def test_a_group_kept_fp32_is_exact(setup):
    model, table, feeds = setup
    rows = {r["group"]: r for r in sensitivity(model, table, "ort-cpu", ["n0"], feeds, manifest(), threads=1)}
    assert rows["enc.first"]["quantized"] == 0 and rows["enc.first"]["psnr_db_min"] == PSNR_CAP_DB
    assert rows["dec.last"]["psnr_db_min"] < PSNR_CAP_DB


def test_a_planted_bad_range_is_ranked_worst(setup):
    """Widen the range of the second conv's input 500x: that group must come first and lose dB."""
    model, table, feeds = setup
    good = {r["group"]: r for r in sensitivity(model, table, "ort-cpu", [], feeds, manifest(), threads=1)}
    bad = widened(table)
    rows = sensitivity(model, bad, "ort-cpu", [], feeds, manifest(), threads=1)
    assert rows[1]["group"] == "dec.last"
    assert rows[1]["psnr_db_min"] < good["dec.last"]["psnr_db_min"] - 20
    assert rows[0]["psnr_db_min"] < good[ALL]["psnr_db_min"] - 20


def test_command_prints_the_table_and_writes_json(tmp_path, capsys, mefb_dir):
    pytest.importorskip("torch")
    calib = tmp_path / "calib"
    calib.mkdir()
    for name in ("Door", "House"):
        if not (mefb_dir / name).is_dir():
            pytest.skip(f"mefb-dev lacks {name}")
        (calib / name).symlink_to(mefb_dir / name)
    out = tmp_path / "sens.json"
    png = tmp_path / "sens.png"
    rc = main(["--model", "densefuse", "--calib", str(calib), "--probes", "2", "--threads", "1", "--json", str(out),
               "--plot", str(png), "-q"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "densefuse int8 (ort-cpu QDQ" in text and ALL in text and "encoder" in text
    data = json.loads(out.read_text())
    assert data["model"] == "densefuse" and data["rows"][0]["group"] == ALL
    assert all(np.isfinite(r["psnr_db_min"]) for r in data["rows"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_bad_model_is_one_line(capsys):
    assert main(["--model", "nosuchnet", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edgemef: error:")


def _scoped(model):
    """Record module scopes on the tiny graph's nodes as torch.onnx's dynamo exporter does."""
    from onnx import StringStringEntryProto

    scopes = {"n0": "['', 'enc', 'enc.first', 'conv2d']", "n1": "['', 'enc', 'enc.act', 'relu']",
              "n2": "['', 'dec', 'dec.last', 'conv2d_1']"}
    for node in model.graph.node:
        node.metadata_props.append(StringStringEntryProto(key="pkg.torch.onnx.name_scopes", value=scopes[node.name]))
    return model


def test_group_nodes_take_every_node_of_a_module_where_scopes_are_recorded():
    from edgemef.calibration.sensitivity import group_nodes

    assert group_nodes(_scoped(named_model()), depth=1) == {"enc": ["n0", "n1"], "dec": ["n2"]}
    # 'enc.act' holds no compute op: its Relu goes with the op it follows
    assert group_nodes(_scoped(named_model())) == {"enc.first": ["n0", "n1"], "dec.last": ["n2"]}


def test_group_nodes_without_scopes_follow_the_producer():
    from edgemef.calibration.sensitivity import group_nodes

    assert group_nodes(named_model()) == {"enc.first": ["n0", "n1"], "dec.last": ["n2"]}  # the Relu after n0


def test_fallback_keeps_the_culprit_fp32_and_stops_there(setup):
    """With a planted bad range, the fallback keeps exactly that group fp32 and then clears the aim."""
    from edgemef.calibration.sensitivity import fallback

    model, table, feeds = setup
    bad = widened(table)
    fb = fallback(model, bad, "ort-cpu", [], feeds, manifest(), 40.0, threads=1)
    assert fb["groups"] == ["dec.last"] and fb["reached"]
    assert set(fb["nodes"]) == {"n2"} and fb["nodes"]["n2"] == "fallback: dec.last"
    assert (fb["compute_ops"], fb["compute_ops_int8"]) == (2, 1)
    first, last = fb["steps"][0], fb["steps"][-1]
    assert first["kept_fp32"] == [] and first["psnr_db_min"] < 40 <= last["psnr_db_min"]


def test_fallback_keeps_nothing_when_int8_already_clears_the_aim_and_says_when_it_cannot(setup):
    from edgemef.calibration.sensitivity import fallback

    model, table, feeds = setup
    easy = fallback(model, table, "ort-cpu", [], feeds, manifest(), 10.0, threads=1)
    assert easy["groups"] == [] and easy["reached"] and easy["compute_ops_int8"] == 2 and len(easy["steps"]) == 1
    hard = fallback(model, table, "ort-cpu", [], feeds, manifest(), 500.0, threads=1)
    assert sorted(hard["groups"]) == ["dec.last", "enc.first"] and not hard["reached"]
    assert hard["compute_ops_int8"] == 0


def test_fallback_hands_back_to_int8_the_blocks_of_a_kept_group_that_hold_the_aim():
    """Both convs in one group: with the second's range planted bad, the group goes fp32 whole,
    then the refinement requantizes the first conv (the aim holds) and keeps the second fp32."""
    from edgemef.calibration.sensitivity import fallback

    model = named_model({"w1": "net.body.first.conv.weight", "b1": "net.body.first.conv.bias",
                         "w2": "net.body.last.conv.weight", "b2": "net.body.last.conv.bias"})
    xs = inputs(4, 32)
    feeds = [{"x": x} for x in xs]
    table = calibrate(model, CalibrationSet(xs, [], []), "tiny", "minmax")
    bad = widened(table)
    fb = fallback(model, bad, "ort-cpu", [], feeds, manifest(), 40.0, threads=1)
    assert fb["groups"] == ["net.body"] and fb["reached"]
    assert fb["requantized"] == ["net.body.first.conv"]
    assert set(fb["nodes"]) == {"n2"} and (fb["compute_ops"], fb["compute_ops_int8"]) == (2, 1)
    whole, last = fb["steps"][1], fb["steps"][-1]
    assert whole["requantized"] == [] and last["requantized"] == ["net.body.first.conv"]
    assert 40.0 <= last["psnr_db_min"] <= whole["psnr_db_min"]
    # without the planted range both blocks hold a lower aim: nothing of the group stays fp32
    none = fallback(model, table, "ort-cpu", [], feeds, manifest(), 10.0, threads=1)
    assert none["groups"] == [] and none["requantized"] == []


@pytest.mark.parametrize("tonemap", ["reference-fusion", "exposure-fusion"])
def test_probe_display_of_hdr_output_matches_what_the_runtime_shows(tonemap):
    """The probes compare int8 with fp32 as the user sees them: an HDR output shown from its feed
    alone (the frames read back from the image input, the ratios from theirs) is the picture
    finish_output gives; 'reference-fusion' needs those frames (it failed without them, stop 25)."""
    from edgemef.calibration.sensitivity import display
    from edgemef.io import load_brackets
    from edgemef.netio import finish_output, prepare_input
    from tests.conftest import mefb_pairs

    _, files = mefb_pairs()[0]
    crop = [b.image[:96, :128] for b in load_brackets(files)]
    m = Manifest(model="sthdr", format="onnx", colour_space="rgb", output="hdr", pad_multiple=16,
                 extra_inputs=[{"name": "exposure_ratios", "kind": "exposure_ratios", "shape": [1, 2],
                                "reference": 1}], extra={"tonemap": tonemap})
    x, ctx = prepare_input(crop, m)
    y = x[:, 3:6] ** np.float32(2.2) * 3  # a 'network' output, in the input range like the network's
    feed = {m.input_name: x, **ctx.extra}
    shown = display(y, m, None, feed).transpose(1, 2, 0)
    np.testing.assert_allclose(shown, finish_output(y, ctx, m), atol=1e-5)
