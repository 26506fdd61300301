"""A V4L2 camera (``/dev/videoN``) with manual, alternating exposures, through OpenCV's V4L2 backend.

Auto-exposure is switched off (``CAP_PROP_AUTO_EXPOSURE`` = 1, V4L2_EXPOSURE_MANUAL, which OpenCV's
V4L2 backend passes through unchanged) and ``CAP_PROP_EXPOSURE`` (V4L2's exposure_time_absolute,
in units of 100 us) alternates between the short and the long value. After each grab the exposure
is read back from the driver and attached to the frame; the driver's value shows what it accepted
(clamped, quantised), not when the sensor applied it, so the loop also checks every pair's
brightness (:class:`edgemef.camera.exposure.Pairer`). Where OpenCV cannot set a control,
``v4l2-ctl`` (v4l-utils) is tried. Unverified without a camera: this machine has no /dev/video*.
"""
from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import cv2

from edgemef.camera.exposure import ExposureSchedule
from edgemef.camera.frames import Frame
from edgemef.camera.sources import FrameSource, SourceOptions
from edgemef.errors import EdgemefError

V4L2_EXPOSURE_MANUAL = 1
UNIT_US = 100.0  # V4L2_CID_EXPOSURE_ABSOLUTE counts 100 us steps
# control names: current kernels first, then the names used before Linux 5.x
CONTROL_NAMES = {"auto": ("auto_exposure", "exposure_auto"), "exposure": ("exposure_time_absolute", "exposure_absolute")}


def v4l2_ctl_commands(device: str, control: str, value: int) -> list[list[str]]:
    """``v4l2-ctl`` command lines that set ``control`` ('auto' or 'exposure'), one per control name."""
    return [["v4l2-ctl", "-d", device, f"--set-ctrl={name}={value}"] for name in CONTROL_NAMES[control]]


def exposure_units(microseconds: float) -> int:
    """Microseconds -> V4L2 exposure_time_absolute units (100 us), at least 1."""
    return max(1, round(microseconds / UNIT_US))


class V4L2Source(FrameSource):
    """Alternating short/long frames from a V4L2 camera, each labelled with the exposure asked for
    and the exposure the driver reports after the grab.

    Args:
        device: ``/dev/videoN``.
        options: size, fps, exposures (microseconds), settle frames and stall timeout.
    """

    live = True
    labeled = True

    def __init__(self, device: str, options: SourceOptions):
        self.device = device
        self.name = device
        self.options = options
        short, long = (exposure_units(us) for us in options.exposures)
        if short == long:
            raise EdgemefError(f"{device}: exposures {options.exposures} round to the same V4L2 value ({short} x 100 us)")
        self.schedule = ExposureSchedule(short, long, options.settle)
        self._cap: cv2.VideoCapture | None = None
        self._auto_before: float | None = None
        self._stuck = False
        self._index = 0

    def open(self) -> None:
        if not Path(self.device).exists():
            raise EdgemefError(f"{self.device}: no such camera device")
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not cap.isOpened():
            raise EdgemefError(f"{self.device}: OpenCV's V4L2 backend cannot open it (busy, or not a capture device)")
        self._cap = cap
        if self.options.size:
            w, h = self.options.size
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
            got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
            if got != (w, h):
                self.close()
                raise EdgemefError(f"{self.device}: asked for {w}x{h}, the camera offers {got[0]}x{got[1]}")
        if self.options.fps:
            cap.set(cv2.CAP_PROP_FPS, self.options.fps)
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps > 0 else None
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # fewer queued frames taken with a stale exposure
        self._auto_before = cap.get(cv2.CAP_PROP_AUTO_EXPOSURE)
        if not self._set("auto", cv2.CAP_PROP_AUTO_EXPOSURE, V4L2_EXPOSURE_MANUAL):
            self.close()
            raise EdgemefError(f"{self.device}: the camera refuses manual exposure (auto_exposure=1)")

    def _set(self, control: str, prop: int, value: float) -> bool:
        """Set a control through OpenCV, else through v4l2-ctl; True when the read-back matches."""
        if self._cap.set(prop, value) and self._cap.get(prop) == value:
            return True
        if shutil.which("v4l2-ctl"):
            for cmd in v4l2_ctl_commands(self.device, control, int(value)):
                if subprocess.run(cmd, capture_output=True, timeout=5).returncode == 0:
                    break
        return self._cap.get(prop) == value

    def _grab(self) -> None:
        """``cap.grab()`` with the stall timeout (the V4L2 backend can block much longer)."""
        done, box = threading.Event(), {}

        def run():
            try:
                box["ok"] = self._cap.grab()
            finally:
                done.set()

        threading.Thread(target=run, daemon=True).start()
        if not done.wait(self.options.timeout):
            self._stuck = True  # the grab still holds the device: close() must not release under it
            raise EdgemefError(f"{self.device}: no frame for {self.options.timeout:g} s (camera stalled)")
        if not box.get("ok"):
            raise EdgemefError(f"{self.device}: grab failed (camera disconnected?)")

    def read(self) -> Frame | None:
        if self._cap is None:
            raise EdgemefError(f"{self.device}: read before open")
        label, value = self.schedule.next()
        self._set("exposure", cv2.CAP_PROP_EXPOSURE, value)  # a refusal shows in the read-back below
        for _ in range(self.schedule.settle + 1):
            self._grab()
        reported = self._cap.get(cv2.CAP_PROP_EXPOSURE)
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            raise EdgemefError(f"{self.device}: frame {self._index} could not be decoded")
        frame = Frame(image, self._index, label=label, requested=value, reported=reported)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._cap is not None and not self._stuck:
            if self._auto_before is not None:
                self._cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, self._auto_before)  # leave the camera as found
            self._cap.release()
            self._cap = None
