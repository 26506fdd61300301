"""The bundled sample brackets (rendered by the project's own renderer; see assets/samples/README.md)."""
from __future__ import annotations

from pathlib import Path

from edgemef.errors import EdgemefError

SAMPLES_DIR = Path(__file__).resolve().parent / "assets" / "samples"


def sample_sets() -> list[tuple[str, list[Path]]]:
    """(name, image paths) for each bundled sample scene."""
    from edgemef.io import find_bracket_sets

    if not SAMPLES_DIR.is_dir():
        raise EdgemefError(f"bundled samples missing at {SAMPLES_DIR} (broken install?)")
    return find_bracket_sets(SAMPLES_DIR)
