"""The camera-loop benchmark runs the real loop on a video it records and reports the ratio."""
from __future__ import annotations

import re

from click.testing import CliRunner

from edgemef.benchmarks.camera_loop import main


def test_camera_benchmark_reports_throughput_against_the_slowest_stage():
    res = CliRunner().invoke(main, ["--size", "192x128", "--count", "6", "--method", "average"])
    assert res.exit_code == 0, res.output
    assert "6 pairs captured, 6 fused, 0 dropped" in res.output
    ratio = float(re.search(r"capacity = ([0-9.]+)", res.output).group(1))
    fps = float(re.search(r"pipelined ([0-9.]+) fps", res.output).group(1))
    assert ratio > 0 and fps > 0


def test_camera_benchmark_rejects_a_bad_size_in_one_line():
    res = CliRunner().invoke(main, ["--size", "1280by720"])
    assert res.exit_code == 2
    assert "--size must be WxH (e.g. 1280x720), got '1280by720'" in res.output
    assert "Traceback" not in res.output
