"""One exception type for every user-facing failure.

The CLI turns an :class:`EdgemefError` into a one-line message and exit code 2; anything else is a
bug and keeps its traceback.
"""


class EdgemefError(Exception):
    """A problem with the user's input or environment, explained in one line."""
