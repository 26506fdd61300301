"""`edgemef fuse`: fuse 2-3 bracket files into one image."""
from __future__ import annotations

from pathlib import Path

import click

from edgemef.cli.camera import CAMERA_PARAMS, camera_options
from edgemef.fusion import METHODS
from edgemef.netio import TONEMAPS


def _method_help() -> str:
    return "Fusion method. " + "; ".join(f"'{m.name}': {m.summary}" for m in METHODS.values())


def format_timings(timings: dict[str, float]) -> str:
    """One line: each stage's time in ms and the total."""
    parts = [f"{k} {v * 1e3:.1f} ms" for k, v in timings.items()]
    return "timings: " + ", ".join(parts) + f" | total {sum(timings.values()) * 1e3:.1f} ms"


# camera options that only a sensor the loop controls takes (V4L2, Jetson), and --size, which a
# video file cannot honour either
SENSOR_OPTIONS = ("exposures", "camera_fps", "settle_frames")


def _refuse_unused_options(ctx: click.Context, camera: str | None, method: str, model) -> None:
    """An option given on the command line that this run would ignore is an error, not a no-op."""
    from edgemef.cli import option_given
    from edgemef.errors import EdgemefError
    from edgemef.runtimes.methods import is_network

    def given(name: str) -> bool:
        return option_given(name, ctx)

    def flag(name: str) -> str:
        return next(o for o in ctx.command.params if o.name == name).opts[-1]

    if model is not None and given("method"):
        raise EdgemefError("--model and --method are alternatives: give one (--model runs that artifact)")
    if model is None and not is_network(method):
        for name in ("threads", "backend"):
            if given(name):
                raise EdgemefError(f"--{name} applies to network methods; '{method}' is classical")
    if given("reference") and not ctx.params["align"]:
        raise EdgemefError("--reference applies when aligning (drop --no-align)")
    if camera is None:
        for name in CAMERA_PARAMS[1:]:
            if given(name):
                raise EdgemefError(f"{flag(name)} applies with --camera only")
        return
    from edgemef.camera.sources import source_kind

    if given("bit_depth"):
        raise EdgemefError("--bit-depth applies to still images; camera outputs are 8-bit")
    kind = source_kind(camera)
    unused = {"file": SENSOR_OPTIONS + ("size",), "gst": SENSOR_OPTIONS}.get(kind, ())
    for name in unused:
        if given(name):
            what = "a video file" if kind == "file" else "a gst: pipeline (set it in the pipeline)"
            raise EdgemefError(f"{flag(name)} applies to V4L2 and Jetson cameras, not {what}")


@click.command("fuse")
@click.argument("images", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the fused image (.png, .jpg, .tif, .bmp). Written atomically. "
                   "Required, except with --camera --display.")
@click.option("--method", "-m", default="mertens", show_default=True, help=_method_help())
@click.option("--align/--no-align", default=True, show_default=True,
              help="Register the brackets to the reference frame (AGC + SIFT + RANSAC homography) "
                   "before fusing. Turn off for tripod shots to save time.")
@click.option("--reference", type=click.Choice(["under", "over", "auto"]), default="auto", show_default=True,
              help="Frame the others are warped onto: the darkest, the brightest, or the one with "
                   "the most well-exposed pixels.")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default=None,
              help="Output bit depth (png/tif). Default: 16 when any input is 16-bit, else 8.")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fuse with this exported network artifact (.onnx, .ort, .xml, .engine/.plan, .safetensors) "
                   "instead of --method.")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads for network inference (default: the backend's choice).")
@click.option("--backend", type=click.Choice(["onnxruntime", "openvino", "tensorrt", "torch"]), default=None,
              help="Inference engine for network methods (default: from the artifact's suffix; "
                   "an .onnx file also runs on openvino).")
@click.option("--tonemap", type=click.Choice(list(TONEMAPS)), default=None,
              help="How an HDR network (sthdr) shows its radiance: 'reinhard', a global curve; 'mu-law', "
                   "flat, for comparisons; 'exposure-fusion', local: the radiance re-exposed at the "
                   "inputs' exposure ratios, in each input's own tone curve, and fused by Mertens; "
                   "'reference-fusion', the same with the reference input fused as captured (it is "
                   "the geometry the output lives in, so it adds no ghost). "
                   "Default: the artifact's own choice.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@camera_options
def fuse_cmd(images, output, method, align, reference, bit_depth, model, threads, backend, tonemap, quiet,
             **camera):
    """Fuse IMAGES (2 or 3 exposures of one scene, any order) into OUTPUT.

    Brackets are ordered by EXIF exposure time when present, else by brightness. The bundled
    networks take two exposures: given three, they fuse the darkest and the brightest and say so.
    Example:

        edgemef fuse under.jpg over.jpg -o fused.png
    """
    from edgemef.errors import EdgemefError
    from edgemef.fusion import fuse, get_method
    from edgemef.io import EIGHT_BIT_SUFFIXES, check_output_path, load_brackets, save_image

    _refuse_unused_options(click.get_current_context(), camera["camera"], method, model)
    if camera["camera"] is not None:  # live stream: edgemef/cli/camera.py
        from edgemef.cli.camera import run_camera_command

        return run_camera_command(images, output, method, align, reference, quiet, model=model, threads=threads,
                                  backend=backend, tonemap=tonemap, **camera)
    if output is None:
        raise click.UsageError("Missing option '-o' / '--output'.", ctx=click.get_current_context())
    if len(images) < 2 or len(images) > 3:
        raise EdgemefError(f"need 2 or 3 images, got {len(images)}")
    check_output_path(output)
    eight_bit = output.suffix.lower() in EIGHT_BIT_SUFFIXES
    if bit_depth == "16" and eight_bit:
        raise EdgemefError(f"{output}: a {output.suffix} file holds 8 bits; use .png or .tif for --bit-depth 16")
    from edgemef.runtimes.methods import choose_method

    method = choose_method(method, model, threads, backend, tonemap, progress=not quiet)
    brackets = load_brackets(list(images))
    result = fuse(brackets, method=method, align=align, reference=reference)
    depth = int(bit_depth) if bit_depth else max(16 if b.bit_depth == 16 else 8 for b in brackets)
    if depth == 16 and eight_bit:
        result.notes.append(f"the inputs are 16-bit but a {output.suffix} file holds 8 bits: wrote 8-bit")
    gray = all(b.gray for b in brackets)
    save_image(output, result.image, bit_depth=depth, gray=gray)
    if not quiet:
        h, w = result.image.shape[:2]
        click.echo(f"fused {len(brackets)} brackets ({w}x{h}, W x H) with {method} -> {output}")
        for note in result.notes:
            click.echo(f"note: {note}")
        click.echo(format_timings(result.timings))
        net = get_method(method)
        if hasattr(net, "last_timings"):  # a network method: say what ran and how long each stage took
            click.echo(f"network: {net.describe()}; " + format_timings(net.last_timings))
