"""`edgemef fuse --camera SOURCE`: the camera options of the fuse command and what they run.

Importing this module costs only click; the camera loop is imported when ``--camera`` is used.
"""
from __future__ import annotations

import click

DROP_POLICIES = ("auto", "drop-oldest", "block")  # mirrors edgemef.camera.pipeline.DROP_POLICIES

_OPTIONS = [
    click.option("--camera", metavar="SOURCE", default=None,
                 help="Fuse a live stream instead of IMAGES: /dev/videoN or v4l2:N (V4L2, manual alternating "
                      "exposures), jetson:N (CSI sensor via nvarguscamerasrc), gst:PIPELINE (any GStreamer "
                      "pipeline delivering alternating exposures) or a video file of alternating "
                      "short/long frames. -o is then a video (.mp4/.avi/.mkv) or a numbered image "
                      "pattern such as 'out/fused_%05d.png'."),
    click.option("--frames", type=click.IntRange(min=1), default=None,
                 help="With --camera: stop after this many fused frames."),
    click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="With --camera: stop after this many seconds."),
    click.option("--display", is_flag=True,
                 help="With --camera: show the fused frames in a window ('q' or Esc stops). Needs a GUI "
                      "build of OpenCV and a display."),
    click.option("--drop-policy", type=click.Choice(DROP_POLICIES), default="auto", show_default=True,
                 help="With --camera: when fusion falls behind, 'drop-oldest' discards the oldest waiting pair "
                      "(fresh frames first), 'block' makes capture wait (no frame lost); 'auto' drops for "
                      "live cameras and blocks for files."),
    click.option("--status-every", type=click.FloatRange(min=0), default=2.0, show_default=True,
                 help="With --camera: seconds between status lines (fps, per-stage ms) on stderr; 0 for none."),
    click.option("--exposures", metavar="SHORT,LONG", default="2000,16000", show_default=True,
                 help="With a V4L2 or Jetson camera: the short and long exposure times in microseconds."),
    click.option("--size", metavar="WxH", default=None,
                 help="With --camera: capture size (V4L2/Jetson; Jetson default 1920x1080), or the size "
                      "GStreamer frames are scaled to."),
    click.option("--fps", "camera_fps", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="With a V4L2 or Jetson camera: the frame rate to ask for."),
    click.option("--settle-frames", type=click.IntRange(min=0), default=1, show_default=True,
                 help="With a V4L2 or Jetson camera: frames discarded after each exposure change."),
    click.option("--stall-timeout", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
                 help="With --camera: seconds without a frame before the camera counts as stalled."),
]
CAMERA_PARAMS = ("camera", "frames", "duration", "display", "drop_policy", "status_every", "exposures", "size",
                 "camera_fps", "settle_frames", "stall_timeout")


def camera_options(fn):
    """Decorator adding the ``--camera`` options to a click command."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def run_camera_command(images, output, method, align, reference, quiet, camera, frames, duration, display,
                       drop_policy, status_every, exposures, size, camera_fps, settle_frames, stall_timeout,
                       model=None, threads=None, backend=None, tonemap=None) -> None:
    """Run the camera loop for ``edgemef fuse --camera`` and print its summary on stdout.

    ``model``, ``threads``, ``backend`` and ``tonemap`` are fuse's network options, applied as ``fuse``
    applies them.

    Raises:
        EdgemefError: bad options, a failing/stalled camera, or nothing fused.
    """
    from edgemef.camera.exposure import parse_exposures
    from edgemef.camera.pipeline import CameraError, LoopConfig, run_camera
    from edgemef.camera.sinks import make_sinks
    from edgemef.camera.sources import SourceOptions, open_source
    from edgemef.errors import EdgemefError
    from edgemef.fusion import get_method
    from edgemef.sizes import parse_wh

    if images:
        raise EdgemefError("--camera takes no IMAGES (-o names the output video or image pattern)")
    options = SourceOptions(size=parse_wh(size, "--size") if size else None, fps=camera_fps,
                            exposures=parse_exposures(exposures), settle=settle_frames, timeout=stall_timeout)
    sinks = make_sinks(output, display)
    if model is not None or threads is not None or backend is not None or tonemap is not None:
        from edgemef.runtimes.methods import choose_method

        method = choose_method(method, model, threads, backend, tonemap)
    fuse_fn = get_method(method)  # build (and fail) before the camera starts
    source = open_source(camera, options)
    config = LoopConfig(method=fuse_fn, align=align, reference=reference, frames=frames, duration=duration,
                        drop_policy=drop_policy, status_every=0.0 if quiet else status_every)

    def log(line: str) -> None:
        if not quiet or "warning" in line:
            click.echo(line, err=True)

    try:
        summary = run_camera(source, sinks, config, log)
    except CameraError as e:
        if e.summary.captured:  # a source that gave nothing needs no summary before its error
            _echo_summary(e.summary.lines(), sinks, quiet)
        raise EdgemefError(str(e)) from None
    _echo_summary(summary.lines(), sinks, quiet)
    if summary.stopped_by == "Ctrl-C":
        click.get_current_context().exit(130)
    if summary.fused == 0:
        raise EdgemefError(f"{camera}: no pair was fused before the {summary.stopped_by}")


def _echo_summary(lines: list[str], sinks, quiet: bool) -> None:
    if quiet:
        return
    for line in lines:
        click.echo(line)
    for sink in sinks:
        if sink.written:
            click.echo(f"wrote {sink.written} fused frame{'s' * (sink.written != 1)} to {sink.name}")
