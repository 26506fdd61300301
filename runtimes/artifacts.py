"""Reading an artifact's manifest without loading an inference engine (stdlib + numpy only).

Where the manifest lives, per format:

* ``.onnx``: ``metadata_props['edgemef.manifest']``, read by scanning the protobuf's top level
  (no ``onnx`` package, no session);
* ``.xml`` (OpenVINO IR): ``rt_info`` ``<edgemef><manifest value=...>`` or ``<edgemef_manifest>``;
* ``.safetensors``: header ``__metadata__['edgemef.manifest']``;
* ``.engine`` / ``.plan`` / ``.ort``: ``<artifact>.json`` (or the same stem with ``.json``) beside it;
  any format falls back to that JSON when the file itself holds no manifest.
"""
from __future__ import annotations

import json
import mmap
import os
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

from edgemef.errors import EdgemefError
from edgemef.manifest import METADATA_KEY, Manifest

SUFFIX_FORMATS = {".onnx": "onnx", ".ort": "ort", ".xml": "openvino", ".engine": "tensorrt",
                  ".plan": "tensorrt", ".safetensors": "safetensors"}


def artifact_format(path: str | os.PathLike) -> str:
    """'onnx', 'ort', 'openvino', 'tensorrt' or 'safetensors' from the suffix; checks the file exists."""
    p = Path(path)
    fmt = SUFFIX_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise EdgemefError(f"{p}: unsupported artifact type '{p.suffix}' (use {', '.join(SUFFIX_FORMATS)})")
    if not p.is_file():
        raise EdgemefError(f"{p}: no such file")
    return fmt


def _varint(buf, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _fields(buf, start: int = 0, end: int | None = None):
    """Yield (field_number, wire_type, value_or_(start, end)) over one protobuf message."""
    pos, end = start, len(buf) if end is None else end
    while pos < end:
        tag, pos = _varint(buf, pos)
        num, wt = tag >> 3, tag & 7
        if num == 0:
            raise ValueError("field number 0")
        if wt == 0:
            value, pos = _varint(buf, pos)
            yield num, wt, value
        elif wt == 1 or wt == 5:
            pos += 8 if wt == 1 else 4
            yield num, wt, None
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > end:
                raise ValueError("length runs past the end")
            yield num, wt, (pos, pos + n)
            pos += n
        else:
            raise ValueError(f"unsupported wire type {wt}")
    if pos != end:
        raise ValueError("message runs past the end")


def onnx_metadata(path: str | os.PathLike) -> dict[str, str]:
    """ONNX ``metadata_props`` as a dict, after checking the file looks like an ONNX model."""
    p = Path(path)
    if p.stat().st_size == 0:
        raise EdgemefError(f"{p}: not a valid ONNX model (empty file)")
    with open(p, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        props: dict[str, str] = {}
        seen: set[int] = set()
        try:
            for num, wt, val in _fields(buf):
                seen.add(num)
                if num == 14 and wt == 2:  # ModelProto.metadata_props: StringStringEntryProto
                    entry = {k: bytes(buf[v[0]:v[1]]).decode("utf-8") for k, w, v in _fields(buf, *val) if w == 2}
                    props[entry.get(1, "")] = entry.get(2, "")
        except (ValueError, UnicodeDecodeError) as e:
            raise EdgemefError(f"{p}: not a valid ONNX model (corrupt protobuf: {e})") from None
    if 1 not in seen or 7 not in seen:  # ir_version and graph
        raise EdgemefError(f"{p}: not a valid ONNX model (no ir_version or graph)")
    return props


def safetensors_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors header."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > 100_000_000 or n > p.stat().st_size:
                raise ValueError("header length out of range")
            header = json.loads(f.read(n))
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise EdgemefError(f"{p}: not a valid safetensors file ({e})") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def openvino_rt_manifest(path: str | os.PathLike) -> str | None:
    """The manifest JSON stored in an OpenVINO IR's ``rt_info``, or None.

    Layers carry ``rt_info`` blocks of their own (fp16-compressed IRs have one per layer), so every
    block is searched, not just the first.
    """
    p = Path(path)
    try:
        for _, el in ET.iterparse(p, events=("end",)):
            if el.tag == "rt_info":
                for name in ("edgemef/manifest", "edgemef_manifest"):
                    node = el.find(name)
                    if node is not None and node.get("value"):
                        return node.get("value")
    except ET.ParseError as e:
        raise EdgemefError(f"{p}: not a valid OpenVINO IR ({e})") from None
    return None


def sidecar_json(path: str | os.PathLike) -> Path | None:
    """``<artifact>.json`` or ``<stem>.json`` beside the artifact, if either exists."""
    p = Path(path)
    for cand in (p.with_name(p.name + ".json"), p.with_suffix(".json")):
        if cand.is_file():
            return cand
    return None


def read_manifest(artifact: str | os.PathLike) -> Manifest:
    """The :class:`Manifest` of an artifact (any supported format), without loading an engine.

    Raises:
        EdgemefError: missing or corrupt file, unknown suffix, or no manifest anywhere.
    """
    p = Path(artifact)
    fmt = artifact_format(p)
    text = None
    where = "a manifest JSON beside it"
    if fmt == "onnx":
        text = onnx_metadata(p).get(METADATA_KEY)
        where = f"ONNX metadata '{METADATA_KEY}' or " + where
    elif fmt == "safetensors":
        text = safetensors_metadata(p).get(METADATA_KEY)
        where = f"safetensors metadata '{METADATA_KEY}' or " + where
    elif fmt == "openvino":
        text = openvino_rt_manifest(p)
        where = "rt_info edgemef/manifest or " + where
    if text is None:
        side = sidecar_json(p)
        if side is not None:
            text = side.read_text(encoding="utf-8")
    if text is None:
        raise EdgemefError(f"{p}: no edgemef manifest (looked for {where}: {p.name}.json)")
    try:
        return Manifest.from_json(text)
    except EdgemefError as e:
        raise EdgemefError(f"{p}: {e}") from None
