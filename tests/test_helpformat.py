"""The argparse tools' --help names each default, and nothing where there is none to name."""
from __future__ import annotations

import argparse

from edgemef.helpformat import DefaultsFormatter


def test_defaults_shown_only_where_there_is_one():
    ap = argparse.ArgumentParser(prog="tool", formatter_class=DefaultsFormatter)
    ap.add_argument("--size", default="512x512", help="sizes")
    ap.add_argument("--limit", type=int, default=0, help="first N (0: all)")
    ap.add_argument("--json", default="", help="output file")
    ap.add_argument("--run", action="append", default=[], help="runs")
    ap.add_argument("--quiet", action="store_true", help="no bars")
    ap.add_argument("--out", default="runs/x", help="folder (default: %(default)s)")
    text = " ".join(ap.format_help().split())
    assert "sizes (default: 512x512)" in text
    assert "first N (0: all) (default: 0)" in text  # 0 is a value, not 'no default'
    assert "output file --run" in text and "runs --quiet" in text and "no bars --out" in text
    assert text.count("(default: runs/x)") == 1
