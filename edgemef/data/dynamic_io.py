"""Writing dynamic sets and dynamic test sets to disk, reading them back, contact sheets.

Layout of one synthesised dynamic set (``edgemef synth OUT --dynamic``)::

    <index>/under.png, over.png      under with the inserted objects; over untouched (reference)
    <index>/ref/label.png, ev0.png   the static set's label and EV0 (no objects)
    <index>/ref/under_static.png     the under frame before insertion
    <index>/ref/mask.png             M_ogt (255 = marked)
    <index>/ref/alpha.png            the inserted objects' alpha
    <index>/boxes.json               the boxes, placements, fitted brightness maps, noise
    <index>/meta.json                seeds, exposure times, mask parameters, file names

Dynamic test sets (``--dynamic-test``) use the static layout of :func:`edgemef.data.writer.write_set`
under ``test_dynamic/<index>/`` and ``test_static/<index>/``, plus ``motion.json`` (object
positions per frame) and, in the dynamic one, ``ref/alpha_under.png``, ``ref/alpha_over.png``.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from edgemef.data.dynamic import Box, DynamicSet, Insertion
from edgemef.data.brightness import GainGamma
from edgemef.data.dynamic_testset import MotionPair
from edgemef.data.writer import GENERATOR, write_set
from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes, load_image, save_image

YELLOW, RED, GREEN, CYAN = (1.0, 0.9, 0.1), (1.0, 0.15, 0.1), (0.1, 1.0, 0.2), (0.1, 0.9, 1.0)


def _json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def _grey(img2d: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(img2d, np.float32)[..., None], 3, axis=2)


def write_dynamic_set(folder: Path, d: DynamicSet, index: int | None = None, sequence_seed: int | None = None,
                      dynamic_seed: int | None = None) -> Path:
    """Write one :class:`DynamicSet` into ``folder`` (created) in the layout above."""
    ref = folder / "ref"
    ref.mkdir(parents=True, exist_ok=True)
    save_image(folder / "under.png", d.under)
    save_image(folder / "over.png", d.over)
    save_image(ref / "label.png", d.label)
    save_image(ref / "ev0.png", d.ev0)
    save_image(ref / "under_static.png", d.under_static)
    save_image(ref / "mask.png", _grey(d.mask), gray=True)
    save_image(ref / "alpha.png", _grey(d.alpha), gray=True)
    _json(folder / "boxes.json", [i.as_dict() for i in d.insertions])
    t_u, t_0, t_o = d.exposure_times
    _json(folder / "meta.json", {
        "generator": GENERATOR, "kind": "dynamic", "seed": d.seed, "dynamic_seed": dynamic_seed,
        "index": index, "sequence_seed": sequence_seed, "size": list(d.under.shape[:2]),
        "exposure_times": {"under": t_u, "ev0": t_0, "over": t_o}, "reference": "over",
        "mask": d.params, "boxes": len(d.insertions),
        "files": {"under": "under.png", "over": "over.png", "label": "ref/label.png", "ev0": "ref/ev0.png",
                  "under_static": "ref/under_static.png", "mask": "ref/mask.png", "alpha": "ref/alpha.png",
                  "boxes": "boxes.json"}})
    return folder


def read_dynamic_set(folder: str | Path) -> DynamicSet:
    """Load a set written by :func:`write_dynamic_set` (images from 8-bit PNG)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        boxes = json.loads((folder / "boxes.json").read_text())
    except (OSError, ValueError) as e:
        raise EdgemefError(f"{folder}: not a dynamic set ({e})") from None
    img = {k: load_image(folder / v).image for k, v in meta["files"].items() if k != "boxes"}
    ins = [Insertion(Box(**{k: b["box"][k] for k in ("x", "y", "w", "h", "marked")}), tuple(b["placed"]),
                     GainGamma(tuple(b["gain"]), tuple(b["gamma"])), b["noise"], b["level"]) for b in boxes]
    t = meta["exposure_times"]
    return DynamicSet(img["under"], img["over"], img["ev0"], img["label"], img["under_static"],
                      img["mask"][..., 0] > 0.5, img["alpha"][..., 0], ins,
                      (t["under"], t["ev0"], t["over"]), int(meta["seed"]), meta.get("mask", {}))


def write_motion_pair(root: Path, name: str, p: MotionPair, index: int, sequence_seed: int) -> None:
    """Write a :class:`MotionPair` to ``root/test_dynamic/name`` and ``root/test_static/name``."""
    for kind, s in (("dynamic", p.dynamic), ("static", p.static)):
        folder = write_set(root / f"test_{kind}" / name, s, index=index, sequence_seed=sequence_seed)
        _json(folder / "motion.json", {
            "kind": kind, "seed": p.seed, "seed_stream": "edgemef.data.dynamic_testset.test_seed",
            "reference": "over", "label": "rendered from the over frame's geometry",
            "objects": p.objects if kind == "dynamic" else
            [{f: o["over"] for f in ("under", "ev0", "over")} for o in p.objects]})
        if kind == "dynamic":
            for f in ("under", "over"):
                save_image(folder / "ref" / f"alpha_{f}.png", _grey(p.alpha[f]), gray=True)


# -- contact sheets --------------------------------------------------------------------------
def _cell(img: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    k = width / w
    return cv2.resize(np.ascontiguousarray(img, np.float32), (width, max(1, round(h * k))), interpolation=cv2.INTER_AREA), k


def _rects(cell: np.ndarray, k: float, rects, color) -> np.ndarray:
    for x, y, w, h in rects:
        cv2.rectangle(cell, (int(x * k), int(y * k)), (int((x + w) * k) - 1, int((y + h) * k) - 1), color, 1)
    return cell


def _tint(base: np.ndarray, alpha: np.ndarray, color) -> np.ndarray:
    a = np.clip(alpha, 0, 1)[..., None] * 0.8
    return base * (1 - a) + np.array(color, np.float32) * a


def grid(rows: list[list[np.ndarray]], titles: list[str], gap: int = 4) -> np.ndarray:
    """Cells (same height per row) side by side, rows stacked, a title strip on top."""
    cw = rows[0][0].shape[1]
    width = len(titles) * (cw + gap) - gap
    head = np.full((18, width, 3), 255, np.uint8)  # putText draws on 8-bit images only
    for k, t in enumerate(titles):
        cv2.putText(head, t, (k * (cw + gap) + 2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    parts = [head.astype(np.float32) / np.float32(255.0)]
    for r in rows:
        row = np.ones((r[0].shape[0], width, 3), np.float32)
        for k, c in enumerate(r):
            row[:, k * (cw + gap):k * (cw + gap) + cw] = np.clip(c, 0, 1)
        parts += [np.ones((gap, width, 3), np.float32), row]
    return np.concatenate(parts, 0)


def dynamic_sheet(sets: list[DynamicSet], width: int = 200) -> np.ndarray:
    """Rows of: under before | under with objects, boxes in yellow | over | label |
    M_ogt (white) with boxes (yellow) and inserted alpha (red)."""
    if not sets:
        raise ValueError("no sets")
    rows = []
    for d in sets:
        boxes = [(b.x, b.y, b.w, b.h) for b in d.boxes]
        u0, k = _cell(d.under_static, width)
        u1 = _rects(_cell(d.under, width)[0], k, boxes, YELLOW)
        m = _rects(_tint(_cell(_grey(d.mask), width)[0] * 0.85, _cell(d.alpha, width)[0], RED), k, boxes, YELLOW)
        rows.append([u0, u1, _cell(d.over, width)[0], _cell(d.label, width)[0], m])
    return grid(rows, ["under (static)", "under + objects", "over (reference)", "label", "mask, boxes, alpha"])


def motion_sheet(pairs: list[MotionPair], width: int = 200) -> np.ndarray:
    """Rows of: dynamic under | dynamic over | label | static under | static over |
    where the objects are (label in grey, red: under frame, green: over frame)."""
    if not pairs:
        raise ValueError("no pairs")
    rows = []
    for p in pairs:
        d, s = p.dynamic, p.static
        grey = _grey(_cell(d.label, width)[0].mean(-1)) * 0.7
        where = _tint(_tint(grey, _cell(p.alpha["under"], width)[0], RED), _cell(p.alpha["over"], width)[0], GREEN)
        rows.append([_cell(d.under, width)[0], _cell(d.over, width)[0], _cell(d.label, width)[0],
                     _cell(s.under, width)[0], _cell(s.over, width)[0], where])
    return grid(rows, ["dynamic under", "dynamic over", "label (over geom.)", "static under", "static over",
                       "objects: under / over"])


def write_sheet(path: Path, image: np.ndarray) -> Path:
    """Save a contact sheet (PNG)."""
    return save_image(path, image)
