"""Counters and per-stage timings of the camera loop, the periodic status line and the summary.

Stage times are *service* times: the seconds a stage spends working on one pair, not waiting on
its queues. In a pipelined loop the throughput is bounded by the slowest stage's capacity
(1 / its median service time), not by the sum of the stages.
"""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

STAGES = ("capture", "align", "fuse", "output")


@dataclass
class Summary:
    """What the camera loop reports when it ends.

    Attributes:
        captured: pairs formed by the capture stage.
        fused: pairs fused and written.
        dropped: pairs thrown away by the drop policy (queue full).
        rejected: frames rejected by the exposure checks, by reason.
        elapsed: seconds from start to the end of the loop.
        fps: steady-state throughput: outputs per second between the first and last output.
        median_ms: median service time per stage in milliseconds.
        slowest: the stage with the largest median, or '' before any output.
        stopped_by: 'end of stream', 'frame limit', 'duration', 'Ctrl-C', 'error' or 'window closed'.
        error: the error message when the loop ended with one.
    """

    captured: int = 0
    fused: int = 0
    dropped: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    fps: float = 0.0
    median_ms: dict[str, float] = field(default_factory=dict)
    slowest: str = ""
    stopped_by: str = ""
    error: str = ""

    @property
    def capacity(self) -> float:
        """Pairs per second the slowest stage can sustain (1 / its median time)."""
        ms = self.median_ms.get(self.slowest, 0.0)
        return 1e3 / ms if ms > 0 else 0.0

    @property
    def sequential_fps(self) -> float:
        """Pairs per second if the stages ran one after another (1 / sum of medians)."""
        total = sum(self.median_ms.values())
        return 1e3 / total if total > 0 else 0.0

    def lines(self) -> list[str]:
        """The human-readable summary, a few lines."""
        rejected = sum(self.rejected.values())
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items()))
        out = [
            f"camera summary: {self.captured} pairs captured, {self.fused} fused, {self.dropped} dropped "
            f"(queue full), {rejected} frames rejected{f' ({why})' if why else ''}; stopped by {self.stopped_by}"
        ]
        measured = self.fused > 1  # a rate needs two outputs
        if self.median_ms:
            stages = ", ".join(f"{k} {v:.1f} ms" for k, v in self.median_ms.items())
            rate = (f"throughput {self.fps:.2f} fps" if measured
                    else f"throughput n/a ({self.fused} fused; a rate needs two)")
            out.append(f"{rate} over {self.elapsed:.1f} s; median per stage: {stages}")
        if self.slowest:
            share = ""
            if measured and self.capacity:
                pct = 100.0 * self.fps / self.capacity
                burst = " (above 100 %: a short run, whose queued pairs came out in a burst)" if pct > 105 else ""
                share = f"throughput is {pct:.0f}% of it{burst} "
            out.append(
                f"slowest stage: {self.slowest} ({self.median_ms[self.slowest]:.1f} ms, capacity "
                f"{self.capacity:.2f} fps); {share}"
                f"(stages run one after another: {self.sequential_fps:.2f} fps)"
            )
        return out


class LoopStats:
    """Thread-safe counters and stage timings shared by the loop's threads."""

    def __init__(self, window: int = 30):
        self._lock = threading.Lock()
        self._all: dict[str, list[float]] = {s: [] for s in STAGES}
        self._recent: dict[str, deque] = {s: deque(maxlen=window) for s in STAGES}
        self._outputs: deque = deque(maxlen=window)
        self.start = time.perf_counter()
        self.first_output: float | None = None
        self.last_output: float | None = None
        self.captured = 0
        self.fused = 0
        self.dropped = 0
        self.rejected: Counter = Counter()

    def record(self, stage: str, seconds: float) -> None:
        """One pair's service time in ``stage``."""
        with self._lock:
            self._all[stage].append(seconds)
            self._recent[stage].append(seconds)

    def count(self, what: str, n: int = 1) -> None:
        """Add to 'captured', 'fused' or 'dropped'; a fused pair also marks an output time."""
        with self._lock:
            setattr(self, what, getattr(self, what) + n)
            if what == "fused":
                now = time.perf_counter()
                self.first_output = self.first_output or now
                self.last_output = now
                self._outputs.append(now)

    def reject(self, reasons: dict[str, int]) -> None:
        """Frames the exposure checks threw away, by reason."""
        with self._lock:
            self.rejected.update({k: v for k, v in reasons.items() if v})

    def status_line(self) -> str:
        """One line: counts, recent fps and recent median time per stage."""
        with self._lock:
            t = time.perf_counter() - self.start
            outs = list(self._outputs)
            fps = (len(outs) - 1) / (outs[-1] - outs[0]) if len(outs) > 1 and outs[-1] > outs[0] else 0.0
            stages = ", ".join(
                f"{s} {np.median(v) * 1e3:.1f} ms" for s, v in self._recent.items() if len(v)
            )
            rejected = sum(self.rejected.values())
            return (
                f"camera: {t:6.1f} s | pairs {self.captured} captured, {self.fused} fused, {self.dropped} dropped, "
                f"{rejected} frames rejected | {fps:.2f} fps | {stages or 'waiting for frames'}"
            )

    def summary(self, stopped_by: str, error: str = "") -> Summary:
        """Freeze everything into a :class:`Summary`."""
        with self._lock:
            med = {s: float(np.median(v)) * 1e3 for s, v in self._all.items() if v}
            span = (self.last_output or 0.0) - (self.first_output or 0.0)
            fps = (self.fused - 1) / span if self.fused > 1 and span > 0 else 0.0
            return Summary(
                captured=self.captured, fused=self.fused, dropped=self.dropped, rejected=dict(self.rejected),
                elapsed=time.perf_counter() - self.start, fps=fps, median_ms=med,
                slowest=max(med, key=med.get) if med else "", stopped_by=stopped_by, error=error,
            )
