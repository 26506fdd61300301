"""Image sizes on the command line: one parser per order, so every command reads them alike.

Two orders, each where its users expect it:

* **height x width** (``720x1280``) for model and tensor shapes: ``edgemef export --shape``,
  ``edgemef bench --shape``, ``edgemef synth --size``, latency tables. Tensors are laid out
  (N, C, H, W) and ONNX / TensorRT profiles read that way.
* **width x height** (``1280x720``) for camera and video frames: ``edgemef fuse --camera ... --size`` and
  the camera and alignment benchmarks, as V4L2, GStreamer caps and video files state them.

A malformed or out-of-range size raises :class:`~edgemef.errors.EdgemefError` with one line that
names the option and its order; :func:`click_callback` turns that into click's usage error.
"""
from __future__ import annotations

import re

from edgemef.errors import EdgemefError

_SIZE = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")
_EXAMPLE = {"HxW": "720x1280", "WxH": "1280x720"}


def _parse(text: str, order: str, option: str, minimum: int, maximum: int | None) -> tuple[int, int]:
    m = _SIZE.fullmatch(text or "")
    if not m:
        raise EdgemefError(f"{option} must be {order} (e.g. {_EXAMPLE[order]}), got '{text}'")
    a, b = int(m.group(1)), int(m.group(2))
    if min(a, b) < minimum or (maximum is not None and max(a, b) > maximum):
        bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise EdgemefError(f"{option} {a}x{b}: each side must be {bound} pixels")
    return a, b


def parse_hw(text: str, option: str = "--shape", minimum: int = 8,
             maximum: int | None = None) -> tuple[int, int]:
    """'720x1280' -> (720, 1280): height, width."""
    return _parse(text, "HxW", option, minimum, maximum)


def parse_wh(text: str, option: str = "--size", minimum: int = 16,
             maximum: int | None = None) -> tuple[int, int]:
    """'1280x720' -> (1280, 720): width, height."""
    return _parse(text, "WxH", option, minimum, maximum)


def parse_hw_list(text: str, option: str, minimum: int = 16) -> list[tuple[int, int]]:
    """'512x512,720x1280' -> [(512, 512), (720, 1280)] (H x W each); '' -> []."""
    return [parse_hw(p, option, minimum) for p in (s.strip() for s in text.split(",")) if p]


def click_callback(parse, **kwargs):
    """A click option callback that applies ``parse`` (None passes through) and reports a bad
    value as click's one-line usage error."""
    import click

    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            return parse(value, option=param.opts[0], **kwargs)
        except EdgemefError as e:
            raise click.BadParameter(str(e)) from None

    return callback
