"""Shared fixtures: real brackets from ../shared/data/mefb-dev when present."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEFB = Path(os.environ.get("EDGEMEF_MEFB", REPO.parent / "shared" / "data" / "mefb-dev"))


def mefb_pairs() -> list[tuple[str, list[Path]]]:
    """(scene, [under, over]) for every mefb-dev scene, or [] when the data is absent."""
    if not MEFB.is_dir():
        return []
    out = []
    for d in sorted(p for p in MEFB.iterdir() if p.is_dir()):
        # Names vary in case (Farmhouse/FarmHouse_B.png, garage/Garage_A.jpg): match case-insensitively.
        files = sorted(p for p in d.iterdir() if p.stem.lower() in (f"{d.name.lower()}_a", f"{d.name.lower()}_b"))
        if len(files) == 2:
            out.append((d.name, files))
    return out


@pytest.fixture(scope="session")
def mefb_dir() -> Path:
    """The mefb-dev folder; tests needing it skip, saying why, when it is absent."""
    if not mefb_pairs():
        pytest.skip(f"real brackets not found at {MEFB} (set EDGEMEF_MEFB)")
    return MEFB
