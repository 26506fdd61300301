"""``--help`` for the ``python -m edgemef...`` tools built on argparse: each option's default."""
from __future__ import annotations

import argparse


def _nothing_to_show(default) -> bool:
    """None, False, an empty string or list, or argparse's SUPPRESS (0 is a value: it shows)."""
    return default is None or default is False or default is argparse.SUPPRESS or default in ("", [])


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to an option's help, except where there is nothing to show
    or the help already names it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or _nothing_to_show(action.default):
            return text
        return super()._get_help_string(action)
