"""The live fusion loop: capture -> align -> fuse -> output, each stage in its own thread.

Stages hand pairs on through bounded queues, so the loop runs as fast as its slowest stage, not
at the sum of the stages. Drop policy (``drop_policy``), stated once: only the capture stage ever
drops. With ``drop-oldest`` it throws away the oldest waiting pair when the align queue is full,
because a live camera should show fresh frames rather than fall behind; with ``block`` it waits,
so no frame is lost (the right thing for files). ``auto`` picks ``drop-oldest`` for live sources
and ``block`` otherwise. Every later stage blocks, so work once started is never thrown away.

Whatever ends the loop (end of stream, a frame or time limit, Ctrl-C, a failing or stalled
camera), the source is closed and every sink is closed, so what was written stays valid.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgemef.camera.exposure import Pairer
from edgemef.camera.frames import FrameChecker
from edgemef.camera.sinks import Sink, StopRequested, VideoSink
from edgemef.camera.sources import FrameSource
from edgemef.camera.status import LoopStats, Summary
from edgemef.errors import EdgemefError
from edgemef.fusion import FuseFn, get_method, pick_reference
from edgemef.io import to_float_rgb

DROP_POLICIES = ("auto", "drop-oldest", "block")
AlignFn = Callable[[list[np.ndarray], int], list[np.ndarray]]
_END = object()
_POLL = 0.05


class CameraError(EdgemefError):
    """The loop ended with an error; ``summary`` holds what it had done until then."""

    def __init__(self, message: str, summary: Summary):
        super().__init__(message)
        self.summary = summary


@dataclass
class LoopConfig:
    """How the loop runs.

    Attributes:
        method: a registered fusion method name or a fusion callable (frames darkest first).
        align: True for :func:`edgemef.align.align_brackets`, False for none, or a callable
            ``fn(images, reference) -> images``.
        reference: 'under', 'over' or 'auto' (see :func:`edgemef.fusion.pick_reference`).
        frames: stop after this many fused pairs (None: no limit).
        duration: stop after this many seconds (None: no limit).
        drop_policy: 'auto', 'drop-oldest' or 'block' (see the module docstring).
        queue_size: pairs each queue between two stages holds.
        status_every: seconds between status lines on stderr (0: none).
        max_constant: all-constant frames in a row that count as a dead camera.
    """

    method: str | FuseFn = "mertens"
    align: bool | AlignFn = True
    reference: str = "auto"
    frames: int | None = None
    duration: float | None = None
    drop_policy: str = "auto"
    queue_size: int = 2
    status_every: float = 0.0
    max_constant: int = 6


def _align_brackets(images: list[np.ndarray], reference: int) -> list[np.ndarray]:
    from edgemef.align import align_brackets

    return align_brackets(images, reference).images


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Loop:
    def __init__(self, source: FrameSource, sinks: list[Sink], cfg: LoopConfig, log: Callable[[str], None]):
        if cfg.drop_policy not in DROP_POLICIES:
            raise EdgemefError(f"unknown drop policy '{cfg.drop_policy}' (use {', '.join(DROP_POLICIES)})")
        self.source, self.sinks, self.cfg, self.log = source, sinks, cfg, log
        self.fuse_fn = get_method(cfg.method) if isinstance(cfg.method, str) else cfg.method
        self.align_fn = _align_brackets if cfg.align is True else (cfg.align or None)
        policy = cfg.drop_policy
        self.drop = policy == "drop-oldest" or (policy == "auto" and source.live)
        self.queues = [queue.Queue(maxsize=max(1, cfg.queue_size)) for _ in range(3)]
        self.stats = LoopStats()
        self.stop = threading.Event()
        self.reason = ""
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def finish(self, reason: str, error: BaseException | None = None) -> None:
        """Record why the loop ends (the first reason wins) and tell every stage to stop."""
        with self._lock:
            if not self.reason:
                self.reason, self.error = reason, error
        self.stop.set()

    def put(self, q: queue.Queue, item, may_drop: bool = False) -> None:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=_POLL) if not may_drop else q.put_nowait(item)
                return
            except queue.Full:
                if may_drop:
                    try:
                        q.get_nowait()
                        self.stats.count("dropped")
                    except queue.Empty:
                        pass

    def get(self, q: queue.Queue):
        while not self.stop.is_set():
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                pass
        return _END

    def stage(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run():
            try:
                fn()
            except StopRequested as e:
                self.finish(str(e))
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                self.finish("error", e)

        return run

    def capture(self) -> None:
        checker = FrameChecker(self.source.name, self.cfg.max_constant)
        pairer = Pairer(self.source.labeled)
        seen: dict[str, int] = {}
        try:
            start = time.perf_counter()
            while not self.stop.is_set():
                frame = self.source.read()
                pairs = pairer.push(checker.check(frame)) if frame is not None else pairer.finish()
                for line in pairer.notes + [f"warning: {w}" for w in pairer.warnings]:
                    self.log(f"camera: {line}")
                pairer.notes.clear()
                pairer.warnings.clear()
                self.stats.reject({k: v - seen.get(k, 0) for k, v in pairer.rejected.items()})
                seen = dict(pairer.rejected)
                for pair in pairs:
                    self.stats.record("capture", time.perf_counter() - start)
                    self.stats.count("captured")
                    self.put(self.queues[0], pair, may_drop=self.drop)
                    start = time.perf_counter()
                if frame is None:
                    self.put(self.queues[0], _END)
                    return
        finally:
            self.source.close()

    def align(self) -> None:
        while (pair := self.get(self.queues[0])) is not _END:
            t = time.perf_counter()
            images = [to_float_rgb(f.image, self.source.name)[0] for f in pair]
            if self.align_fn is not None:
                images = self.align_fn(images, pick_reference(images, self.cfg.reference))
            self.stats.record("align", time.perf_counter() - t)
            self.put(self.queues[1], images)
        self.put(self.queues[1], _END)

    def fuse(self) -> None:
        while (images := self.get(self.queues[1])) is not _END:
            t = time.perf_counter()
            fused = self.fuse_fn(images)
            self.stats.record("fuse", time.perf_counter() - t)
            self.put(self.queues[2], fused)
        self.put(self.queues[2], _END)

    def output(self) -> None:
        while (fused := self.get(self.queues[2])) is not _END:
            t = time.perf_counter()
            for sink in self.sinks:
                if isinstance(sink, VideoSink) and sink.fps <= 0:  # pairs per second of the source
                    sink.fps = self.source.fps / 2 if self.source.fps else 15.0
                sink.write(fused)
            self.stats.record("output", time.perf_counter() - t)
            self.stats.count("fused")
            if self.cfg.frames and self.stats.fused >= self.cfg.frames:
                self.finish("frame limit")
        if not self.stop.is_set():
            self.finish("end of stream")

    def run(self) -> Summary:
        threads = [threading.Thread(target=self.stage(fn), name=f"edgemef-{fn.__name__}", daemon=True)
                   for fn in (self.capture, self.align, self.fuse, self.output)]
        self.source.open()
        self.stats = LoopStats()
        for t in threads:
            t.start()
        next_status = time.perf_counter() + self.cfg.status_every
        try:
            while any(t.is_alive() for t in threads):
                threads[-1].join(_POLL)
                now = time.perf_counter()
                if self.cfg.status_every > 0 and now >= next_status:
                    self.log(self.stats.status_line())
                    next_status = now + self.cfg.status_every
                if self.cfg.duration and now - self.stats.start >= self.cfg.duration:
                    self.finish("duration")
        except KeyboardInterrupt:
            self.finish("Ctrl-C")
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=10.0)
            if threads[0].is_alive():  # stuck in a read past its timeout: close from here
                self.source.close()
            for sink in self.sinks:
                sink.close()
        summary = self.stats.summary(self.reason or "end of stream", str(self.error or ""))
        if self.error is not None:
            if isinstance(self.error, EdgemefError):
                raise CameraError(str(self.error), summary) from None
            raise self.error
        return summary


def run_camera(source: FrameSource, sinks: list[Sink], config: LoopConfig | None = None,
               log: Callable[[str], None] = _stderr) -> Summary:
    """Run the pipelined loop until the source ends, a limit is reached, Ctrl-C, or an error.

    Args:
        source: an unopened :class:`FrameSource`; the loop opens and closes it.
        sinks: where fused frames go; all are closed when the loop ends.
        config: :class:`LoopConfig` (defaults: Mertens, aligned, drop policy 'auto').
        log: receives status lines and warnings (default: stderr).

    Returns:
        :class:`Summary` of the run.

    Raises:
        CameraError: the source failed, stalled or returned garbage (carries the summary).
        EdgemefError: a bad configuration, found before any frame is read.
    """
    return _Loop(source, sinks, config or LoopConfig(), log).run()
