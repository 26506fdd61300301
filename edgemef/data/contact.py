"""Contact sheets: rows of under | over | EV0 | label for a quick visual check."""
from __future__ import annotations

import cv2
import numpy as np

from edgemef.data.brackets import BracketSet

COLUMNS = ("under", "over", "ev0", "label")


def contact_sheet(sets: list[BracketSet], width: int = 192, gap: int = 4) -> np.ndarray:
    """One float32 RGB image: a row per set, columns :data:`COLUMNS`, each cell ``width`` wide."""
    if not sets:
        raise ValueError("no sets")
    rows = []
    for s in sets:
        h, w = s.under.shape[:2]
        ch = max(1, round(h * width / w))
        cells = [cv2.resize(getattr(s, c), (width, ch), interpolation=cv2.INTER_AREA) for c in COLUMNS]
        row = np.ones((ch, len(cells) * (width + gap) - gap, 3), np.float32)
        for k, cell in enumerate(cells):
            row[:, k * (width + gap):k * (width + gap) + width] = cell
        rows.append(row)
    wmax = max(r.shape[1] for r in rows)
    out = np.ones((sum(r.shape[0] for r in rows) + gap * (len(rows) - 1), wmax, 3), np.float32)
    y = 0
    for r in rows:
        out[y:y + r.shape[0], :r.shape[1]] = r
        y += r.shape[0] + gap
    return out
