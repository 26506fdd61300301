"""``--help`` for the ``python -m edgemef...`` tools built on argparse: each option's default."""
from __future__ import annotations

import argparse


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to an option's help, except where there is nothing to show
    (an empty, None or False default) or the help already names it."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if "%(default)" in text or d is None or d is False or d is argparse.SUPPRESS or (isinstance(d, (str, list))
                                                                                       and not d):
            return text
        return super()._get_help_string(action)
