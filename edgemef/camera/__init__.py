"""Live cameras: alternating-exposure capture, the pipelined capture/align/fuse/output loop, sinks.

Torch-free (numpy + OpenCV + stdlib; GStreamer sources run ``gst-launch-1.0``). Entry points:
:func:`open_source` (SOURCE syntax in :mod:`edgemef.camera.sources`), :func:`make_sinks` and
:func:`run_camera`; ``edgemef fuse --camera SOURCE`` wires them together.
"""
from edgemef.camera.exposure import ExposureSchedule, Pairer
from edgemef.camera.frames import Frame, FrameChecker
from edgemef.camera.pipeline import DROP_POLICIES, CameraError, LoopConfig, run_camera
from edgemef.camera.sinks import ImageSequenceSink, Sink, VideoSink, WindowSink, make_sinks
from edgemef.camera.sources import FrameSource, SourceOptions, VideoFileSource, open_source
from edgemef.camera.status import Summary

__all__ = [
    "CameraError", "DROP_POLICIES", "ExposureSchedule", "Frame", "FrameChecker", "FrameSource", "ImageSequenceSink",
    "LoopConfig", "Pairer", "Sink", "SourceOptions", "Summary", "VideoFileSource", "VideoSink", "WindowSink",
    "make_sinks", "open_source", "run_camera",
]
