"""Writing bracket sets to disk (the `edgemef synth` layout) and reading them back.

Layout of one set folder::

    <index>/under.png, over.png      the brackets (the only images at this level)
    <index>/ref/ev0.png, label.png   co-target and fused reference
    <index>/ref/radiance.exr|.npy    linear radiance (EXR when OpenCV can write it)
    <index>/meta.json                seeds, exposure times, file names
"""
from __future__ import annotations

import functools
import io
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from edgemef.data.brackets import BracketSet
from edgemef.errors import EdgemefError
from edgemef.io import atomic_write_bytes, load_image, save_image

GENERATOR = "edgemef synth"


@functools.lru_cache(maxsize=1)
def _exr_ok() -> bool:
    try:
        ok, _ = cv2.imencode(".exr", np.zeros((2, 2, 3), np.float32))
        return bool(ok)
    except cv2.error:
        return False


def prepare_out(out: Path, overwrite: bool) -> None:
    """Create ``out``; refuse a non-empty one unless ``overwrite`` (then drop old synth sets)."""
    if out.exists() and not out.is_dir():
        raise EdgemefError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise EdgemefError(f"{out}: not empty (use --overwrite to write into it)")
        for d in out.iterdir():
            meta = d / "meta.json"
            if d.is_dir() and meta.is_file():
                try:
                    ours = json.loads(meta.read_text()).get("generator") == GENERATOR
                except (OSError, ValueError):
                    ours = False
                if ours:
                    shutil.rmtree(d)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EdgemefError(f"{out}: cannot create ({e.strerror})") from None


def write_set(folder: Path, s: BracketSet, index: int | None = None, sequence_seed: int | None = None) -> Path:
    """Write one :class:`BracketSet` into ``folder`` (created) in the layout above."""
    ref = folder / "ref"
    ref.mkdir(parents=True, exist_ok=True)
    save_image(folder / "under.png", s.under)
    save_image(folder / "over.png", s.over)
    save_image(ref / "ev0.png", s.ev0)
    save_image(ref / "label.png", s.label)
    rgb = s.radiance.astype(np.float32)
    if _exr_ok():
        ok, buf = cv2.imencode(".exr", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        rad_name, data = "radiance.exr", buf.tobytes()
    else:
        bio = io.BytesIO()
        np.save(bio, rgb)
        rad_name, data = "radiance.npy", bio.getvalue()
    atomic_write_bytes(ref / rad_name, data)
    t_under, t_ev0, t_over = s.exposure_times
    meta = {
        "generator": GENERATOR,
        "seed": s.seed,
        "index": index,
        "sequence_seed": sequence_seed,
        "size": list(s.under.shape[:2]),
        "exposure_times": {"under": t_under, "ev0": t_ev0, "over": t_over},
        "ev_gap": s.ev_gap,
        "files": {"under": "under.png", "over": "over.png", "ev0": "ref/ev0.png",
                  "label": "ref/label.png", "radiance": f"ref/{rad_name}"},
        "radiance": "linear RGB, relative units (median luminance 1)",
    }
    atomic_write_bytes(folder / "meta.json", (json.dumps(meta, indent=2) + "\n").encode())
    return folder


def read_set(folder: str | Path) -> BracketSet:
    """Load a set written by :func:`write_set` (images from 8-bit PNG)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError) as e:
        raise EdgemefError(f"{folder}: no readable meta.json ({e})") from None
    f = meta["files"]
    rad_path = folder / f["radiance"]
    if rad_path.suffix == ".npy":
        radiance = np.load(rad_path).astype(np.float32)
    else:
        raw = cv2.imread(str(rad_path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise EdgemefError(f"{rad_path}: cannot read")
        radiance = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB).astype(np.float32)
    t = meta["exposure_times"]
    return BracketSet(
        under=load_image(folder / f["under"]).image, over=load_image(folder / f["over"]).image,
        ev0=load_image(folder / f["ev0"]).image, radiance=radiance,
        label=load_image(folder / f["label"]).image,
        exposure_times=(float(t["under"]), float(t["ev0"]), float(t["over"])), seed=int(meta["seed"]))


def write_contact_sheet(path: Path, sets: list[BracketSet]) -> Path:
    """Save rows of under | over | ev0 | label."""
    from edgemef.data.contact import contact_sheet

    return save_image(path, contact_sheet(sets))
