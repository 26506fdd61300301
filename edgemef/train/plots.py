"""Loss curves as PNG (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np

from edgemef.io import atomic_write_bytes

CURVES = ("loss", "co", "under", "over", "mef")


def smooth(values: list[float], window: int) -> np.ndarray:
    """Trailing moving average (shorter at the start)."""
    v = np.asarray(values, np.float64)
    if window <= 1 or v.size == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_losses(history: dict[str, list[float]], path: str | Path, title: str = "",
                curves: tuple[str, ...] = CURVES, ylabel: str = "MSE + alpha (1 - MS-SSIM)",
                marks: list[int] | tuple[int, ...] = ()) -> Path:
    """Plot the per-step loss curves in ``history`` (raw, faint; smoothed, bold) to a PNG.

    Args:
        curves: history keys to draw (missing ones are skipped).
        ylabel: y-axis label.
        marks: steps to mark with a vertical line (e.g. where a training phase starts).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    n = len(history.get("loss", []))
    window = max(1, n // 50)
    for name in curves:
        if name not in history or not history[name]:
            continue
        steps = np.arange(1, len(history[name]) + 1)
        line, = ax.plot(steps, smooth(history[name], window), lw=1.6, label=name)
        ax.plot(steps, history[name], lw=0.5, alpha=0.25, color=line.get_color())
    for m in marks:
        ax.axvline(m, color="k", lw=0.8, ls="--", alpha=0.6)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right")
    ax.set_title(textwrap.fill(title or "training loss", 80), fontsize=10)  # long run titles wrap, not clip
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path
