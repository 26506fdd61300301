"""Alternating exposures: the schedule a camera is driven with, and the checks that pair frames.

A requested exposure is never trusted. A device that can report one (V4L2) has the value read back
after each grab and compared with the request; every pair is then checked by brightness: the long
frame must be clearly brighter than the short one. Frames that fail are dropped and the stream is
re-paired from the next frame, with a counted warning. Sources that cannot set exposures (a video
file, a GStreamer pipeline) are expected to alternate; which parity holds the short frames is
detected from the brightness of the first frames.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from edgemef.camera.frames import Frame
from edgemef.errors import EdgemefError

MAX_WARNINGS_PER_REASON = 3


@dataclass
class ExposureSchedule:
    """Alternates short and long exposures, short first.

    Attributes:
        short: the short exposure, in the device's units.
        long: the long exposure, in the same units.
        settle: frames to discard after each change (the sensor applies a new exposure a frame or
            two late; UVC cameras typically need 1-2).
    """

    short: float
    long: float
    settle: int = 0
    _step: int = 0

    def __post_init__(self):
        if not 0 < self.short < self.long:
            raise EdgemefError(f"exposures must satisfy 0 < short < long, got {self.short} and {self.long}")
        if self.settle < 0:
            raise EdgemefError(f"settle frames must be >= 0, got {self.settle}")

    def next(self) -> tuple[str, float]:
        """The next (label, value): ('short', s), ('long', l), ('short', s), ..."""
        label = "short" if self._step % 2 == 0 else "long"
        self._step += 1
        return label, self.short if label == "short" else self.long


def parse_exposures(text: str) -> tuple[float, float]:
    """'SHORT,LONG' in microseconds -> (short, long), validated."""
    try:
        short, long = (float(v) for v in text.split(","))
    except ValueError:
        raise EdgemefError(f"--exposures wants SHORT,LONG in microseconds (e.g. 2000,16000), got '{text}'") from None
    ExposureSchedule(short, long)
    return short, long


def exposure_matches(requested: float | None, reported: float | None, rel_tol: float = 0.05,
                     abs_tol: float = 1.0) -> bool:
    """Whether a read-back exposure equals the request (True when either is unknown)."""
    if requested is None or reported is None:
        return True
    return abs(reported - requested) <= max(abs_tol, rel_tol * abs(requested))


def brighter_enough(short_luma: float, long_luma: float, min_ratio: float = 1.1, min_delta: float = 0.03) -> bool:
    """Whether a frame of mean luma ``long_luma`` can be the long exposure after ``short_luma``.

    Both a relative and an absolute gap are required: sensor noise between two frames of one
    exposure moves the mean by far less than 3% of the range.
    """
    return long_luma - short_luma >= min_delta and long_luma >= short_luma * min_ratio


def detect_parity(lumas: list[float], min_ratio: float = 1.1, min_delta: float = 0.03) -> int:
    """Which parity (0: even frames, 1: odd frames) holds the short exposures of an alternating stream.

    Raises:
        EdgemefError: the frames do not alternate dark/bright.
    """
    scores = []
    for parity in (0, 1):
        pairs = [(lumas[k], lumas[k + 1]) for k in range(parity, len(lumas) - 1, 2)]
        ok = sum(brighter_enough(a, b, min_ratio, min_delta) for a, b in pairs)
        scores.append((ok / len(pairs) if pairs else 0.0, parity))
    best, parity = max(scores)
    if best < 0.6 or best == min(scores)[0]:
        shown = " ".join(f"{v:.3f}" for v in lumas)
        raise EdgemefError(
            f"source does not alternate short and long exposures (mean luma of the first {len(lumas)} frames: "
            f"{shown}); record it as short/long/short/long..."
        )
    return parity


class Pairer:
    """Turns a stream of frames into (short, long) pairs, dropping frames that fail the checks.

    Args:
        labeled: frames carry the exposure the source asked for (``Frame.label``); otherwise the
            stream is assumed to alternate and its parity is detected from the first ``probe``
            frames.
        probe: frames used for parity detection (unlabeled streams).
        min_ratio, min_delta: the brightness gap a pair must show (:func:`brighter_enough`).
        rel_tol, abs_tol: tolerance of the exposure read-back (:func:`exposure_matches`).
        max_unpaired: frames in a row without a pair before the stream counts as broken (a camera
            that ignores the requested exposures, or a stream that stopped alternating).

    Attributes:
        rejected: frames dropped so far, by reason.
        warnings: messages to show (at most a few per reason); the caller empties the list.
        notes: one-off remarks (the detected parity).
    """

    def __init__(self, labeled: bool, probe: int = 6, min_ratio: float = 1.1, min_delta: float = 0.03,
                 rel_tol: float = 0.05, abs_tol: float = 1.0, max_unpaired: int = 30):
        self.labeled = labeled
        self.max_unpaired = max_unpaired
        self._unpaired = 0
        self._last_drop = ""
        self.probe = max(2, probe)
        self.gap = (min_ratio, min_delta)
        self.tol = (rel_tol, abs_tol)
        self.parity: int | None = None
        self.rejected: Counter = Counter()
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self._probe: list[Frame] = []
        self._pending: Frame | None = None

    def push(self, frame: Frame) -> list[tuple[Frame, Frame]]:
        """Feed one frame; return the pairs (short, long) it completes.

        Raises:
            EdgemefError: ``max_unpaired`` frames in a row gave no pair, or the stream does not
                alternate at all.
        """
        if self.labeled:
            pairs = self._push_labeled(frame)
        elif self.parity is None:
            self._probe.append(frame)
            return self._detect() if len(self._probe) >= self.probe else []
        else:
            pairs = self._push_alternating(frame)
        self._unpaired = 0 if pairs else self._unpaired + 1
        if self._unpaired > self.max_unpaired:
            last = f"; last: frame {self._last_drop}" if self._last_drop else ""
            raise EdgemefError(f"no valid short/long pair in the last {self._unpaired} frames "
                               f"(exposures not applied as requested?){last}")
        return pairs

    def finish(self) -> list[tuple[Frame, Frame]]:
        """End of stream: pair what the parity probe still holds; count a leftover frame."""
        out = self._detect() if not self.labeled and self.parity is None and len(self._probe) >= 2 else []
        if self._pending is not None:
            self._drop(self._pending, "unpaired", "no partner before the end of the stream")
            self._pending = None
        return out

    def _drop(self, frame: Frame, reason: str, why: str) -> None:
        self.rejected[reason] += 1
        self._last_drop = f"{frame.index}: {why}"
        if self.rejected[reason] <= MAX_WARNINGS_PER_REASON:
            more = " (further ones are only counted)" if self.rejected[reason] == MAX_WARNINGS_PER_REASON else ""
            self.warnings.append(f"dropped frame {frame.index}: {why}; re-pairing{more}")

    def _detect(self) -> list[tuple[Frame, Frame]]:
        frames, self._probe = self._probe, []
        self.parity = detect_parity([f.brightness() for f in frames], *self.gap)
        self.notes.append(f"{'even' if self.parity == 0 else 'odd'} frames are the short exposures "
                          f"(detected from the brightness of frames {frames[0].index}-{frames[-1].index})")
        if self.parity == 1:
            self.rejected["before first short frame"] += 1
        out = []
        for f in frames[self.parity:]:
            out += self._push_alternating(f)
        return out

    def _push_alternating(self, frame: Frame) -> list[tuple[Frame, Frame]]:
        short = self._pending
        if short is None:
            self._pending = frame
            return []
        if brighter_enough(short.brightness(), frame.brightness(), *self.gap):
            self._pending = None
            return [(short, frame)]
        self._drop(short, "alternation", f"frame {frame.index} (luma {frame.brightness():.3f}) is not brighter "
                                         f"than it (luma {short.brightness():.3f})")
        self._pending = frame
        return []

    def _push_labeled(self, frame: Frame) -> list[tuple[Frame, Frame]]:
        if not exposure_matches(frame.requested, frame.reported, *self.tol):
            self._drop(frame, "exposure read-back", f"asked for {frame.label} exposure {frame.requested:g}, "
                                                    f"device reports {frame.reported:g}")
            return []
        if frame.label == "short":
            if self._pending is not None:
                self._drop(self._pending, "unpaired", "its long partner was rejected")
            self._pending = frame
            return []
        short, self._pending = self._pending, None
        if short is None:
            self._drop(frame, "unpaired", "its short partner was rejected")
            return []
        if brighter_enough(short.brightness(), frame.brightness(), *self.gap):
            return [(short, frame)]
        why = (f"long frame {frame.index} (luma {frame.brightness():.3f}) is not brighter than short frame "
               f"{short.index} (luma {short.brightness():.3f}): exposure not applied yet")
        self._drop(short, "brightness", why)
        self.rejected["brightness"] += 1
        return []
