"""Every command reads sizes through edgemef.sizes: model shapes HxW, camera frames WxH."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from edgemef.errors import EdgemefError
from edgemef.sizes import click_callback, parse_hw, parse_hw_list, parse_wh


def test_each_order_reads_its_own_way():
    assert parse_hw("720x1280") == (720, 1280)
    assert parse_wh("1280x720") == (1280, 720)
    assert parse_hw(" 64 X 96 ") == (64, 96)
    assert parse_hw_list("512x512, 720x1280,", "--latency") == [(512, 512), (720, 1280)]
    assert parse_hw_list("", "--latency") == []


@pytest.mark.parametrize("text", ["1280", "ax720", "720x", "720x1280x3", "-8x8", ""])
def test_malformed_sizes_name_the_option_and_its_order(text):
    with pytest.raises(EdgemefError, match=r"^--shape must be HxW \(e\.g\. 720x1280\)"):
        parse_hw(text)
    with pytest.raises(EdgemefError, match=r"^--size must be WxH \(e\.g\. 1280x720\)"):
        parse_wh(text)


def test_bounds_are_checked_on_both_sides():
    with pytest.raises(EdgemefError, match="each side must be >= 16 pixels"):
        parse_wh("1280x8")
    with pytest.raises(EdgemefError, match="each side must be 32..4096 pixels"):
        parse_hw("5000x256", "--size", minimum=32, maximum=4096)
    assert parse_hw("4096x32", "--size", minimum=32, maximum=4096) == (4096, 32)
    with pytest.raises(EdgemefError, match="^--latency 8x8"):
        parse_hw_list("512x512,8x8", "--latency")


def test_click_callback_gives_a_usage_error_and_passes_none_through():
    @click.command()
    @click.option("--size", default=None, callback=click_callback(parse_wh))
    def cmd(size):
        click.echo(repr(size))

    assert CliRunner().invoke(cmd, []).output.strip() == "None"
    assert CliRunner().invoke(cmd, ["--size", "640x480"]).output.strip() == "(640, 480)"
    bad = CliRunner().invoke(cmd, ["--size", "640"])
    assert bad.exit_code == 2 and "--size must be WxH" in bad.output


def test_synth_and_export_read_height_first(tmp_path):
    from edgemef.cli import cli

    res = CliRunner().invoke(cli, ["synth", str(tmp_path / "s"), "--size", "16x64"])
    assert res.exit_code == 2 and "each side must be 32..4096 pixels" in res.output
    res = CliRunner().invoke(cli, ["export", "--model", "densefuse", "--target", "onnx", "--shape", "720"])
    assert res.exit_code == 2 and "--shape must be HxW (e.g. 720x1280), got '720'" in res.output
