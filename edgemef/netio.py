"""Network pre/post-processing, the one place it lives (numpy + OpenCV only, torch-free).

Training, export parity checks and every runtime backend call these two functions, so a network
sees exactly the same input everywhere::

    x, ctx = prepare_input(images, manifest)   # (1, exposures * channels, Hp, Wp) float32
    y = backend.infer(x, ctx.extra)            # (1, channels, Hp, Wp) float32
    image = finish_output(y, ctx, manifest)    # (H, W, 3) RGB in [0, 1]

``ctx.extra`` holds the graph's further inputs by name (``Manifest.extra_inputs``): for STHDR the
exposure ratios ``(1, N)``, from the frames' EXIF exposure times when every frame has one, else
estimated from the pixels (:func:`edgemef.hdr.exposure_ratios`; ``ctx.notes`` then says so).
The same ratios go with every tile of a tiled image.

HDR outputs (``manifest.output == 'hdr'``: linear radiance, 1 = the reference frame's white) are
tone-mapped for display by :func:`tonemap`, as the manifest's ``extra['tonemap']`` says, by default
'reference-fusion': the reference frame as captured and the radiance re-exposed at the other
frames' exposure ratios, in each frame's own tone curve (:mod:`edgemef.tonecurve`), fused by
Mertens, a local operator ('exposure-fusion' re-exposes the reference too). 'reinhard' is
a global extended Reinhard curve whose white point is the image's 99.9th-percentile radiance (at
least 1), then the display gamma 1/2.2: with no radiance above the reference's white it is the
identity (the reference exposure), brighter radiance is compressed into the top of the range
instead of clipped. Shown by that global curve, even the
renderer's true radiance scores MEF-SSIM 0.907 against Mertens' 0.957 on the synthetic test sets,
0.947 by exposure fusion with a pure gamma, 0.954 in the frames' own tone curves, 0.956 with the
reference frame kept (``python -m edgemef.benchmarks.hdr_display``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgemef import color
from edgemef.errors import EdgemefError
from edgemef.hdr import DEFAULT_STEP, GAMMA, ExposureRatios, exposure_ratios
from edgemef.io import as_image
from edgemef.manifest import Manifest

COLOUR_SPACES = ("lab-l", "rgb")
CHROMA_MODES = ("mean", "saturation")
OUTPUT_KINDS = ("ldr", "hdr")
EXTRA_INPUT_KINDS = ("exposure_ratios",)
TONEMAPS = ("reinhard", "mu-law", "exposure-fusion", "reference-fusion")
LOCAL_TONEMAPS = ("exposure-fusion", "reference-fusion")  # re-expose and fuse by Mertens: RGB, the ratios
DEFAULT_TONEMAP = "reference-fusion"  # how HDR networks are shown unless their manifest says otherwise
WHITE_PERCENTILE = 99.9  # the tone curve's white point: this percentile of the radiance (at least 1)
HDR_MU = 5000.0  # mu-law tone mapping, as in Kalantari and Ramamoorthi 2017 and its successors


@dataclass
class NetContext:
    """What :func:`finish_output` needs besides the network output.

    Attributes:
        height: original image height H.
        width: original image width W.
        padded: (Hp, Wp) of the network input (H, W padded to ``pad_multiple`` / fixed shape).
        labs: per-frame (H, W, 3) CIELAB images for 'lab-l' models (chroma source), else [].
        extra: the graph's further inputs by name (``Manifest.extra_inputs``), e.g.
            ``{'exposure_ratios': (1, N) float32}``; {} for single-input networks. They are
            per image, not per pixel: every tile of a tiled image gets the same.
        ratios: the :class:`~edgemef.hdr.ExposureRatios` behind an 'exposure_ratios' input, else None.
        notes: remarks for the caller (e.g. that the exposure ratios were estimated).
        frames: for HDR networks, the (unpadded) input frames, darkest first: 'exposure-fusion'
            re-exposes the radiance in their own tone curves (:mod:`edgemef.tonecurve`); else [].
    """

    height: int
    width: int
    padded: tuple[int, int]
    labs: list[np.ndarray] = field(default_factory=list)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    ratios: ExposureRatios | None = None
    notes: list[str] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)


def _check_manifest(manifest: Manifest) -> None:
    if manifest.colour_space not in COLOUR_SPACES:
        raise EdgemefError(f"unsupported colour space '{manifest.colour_space}' in the artifact manifest "
                           f"(this edgemef knows {', '.join(COLOUR_SPACES)})")
    if manifest.output not in OUTPUT_KINDS:
        raise EdgemefError(f"unsupported output kind '{manifest.output}' in the artifact manifest")


def padded_size(height: int, width: int, manifest: Manifest) -> tuple[int, int]:
    """(Hp, Wp): H and W rounded up to ``pad_multiple`` (and, when that is > 1, to at least twice
    it: a multi-scale U-Net needs two cells at its coarsest level), and at least the fixed
    ``shape`` if any."""
    m = max(1, int(manifest.pad_multiple or 1))
    least = 2 * m if m > 1 else 1
    hp, wp = max(-(-height // m) * m, least), max(-(-width // m) * m, least)
    if manifest.shape:
        hp, wp = max(hp, int(manifest.shape[0])), max(wp, int(manifest.shape[1]))
    return hp, wp


def pad_image(x: np.ndarray, hp: int, wp: int) -> np.ndarray:
    """Pad (..., H, W) on the bottom/right to (..., hp, wp): reflection, edge where too small."""
    h, w = x.shape[-2:]
    if (h, w) == (hp, wp):
        return x
    lead = [(0, 0)] * (x.ndim - 2)
    pads = lead + [(0, hp - h), (0, wp - w)]
    mode = "reflect" if hp - h < h and wp - w < w else "symmetric" if hp - h <= h and wp - w <= w else "edge"
    return np.pad(x, pads, mode=mode)


def _to_range(x: np.ndarray, rng) -> np.ndarray:
    lo, hi = float(rng[0]), float(rng[1])
    return x if (lo, hi) == (0.0, 1.0) else x * np.float32(hi - lo) + np.float32(lo)


def _from_range(x: np.ndarray, rng) -> np.ndarray:
    lo, hi = float(rng[0]), float(rng[1])
    return x if (lo, hi) == (0.0, 1.0) else (x - np.float32(lo)) / np.float32(hi - lo)


def _frames_and_times(images) -> tuple[list[np.ndarray], list[float | None] | None]:
    """Arrays or :class:`edgemef.io.Bracket` objects -> (arrays, EXIF times or None)."""
    frames, times = [], []
    for i, im in enumerate(images):
        if hasattr(im, "image") and hasattr(im, "exposure_time"):
            frames.append(im.image)
            times.append(im.exposure_time)
        else:
            frames.append(as_image(im, f"frame {i}"))
            times.append(None)
    return frames, (times if any(t is not None for t in times) else None)


def make_extra_inputs(frames: list[np.ndarray], manifest: Manifest,
                      exposure_times: list[float | None] | None = None) -> tuple[dict, ExposureRatios | None, list]:
    """The graph's further inputs for these (unpadded) frames: ({name: array}, ratios, notes).

    Raises:
        EdgemefError: an extra input kind this edgemef does not know.
    """
    extra: dict[str, np.ndarray] = {}
    ratios, notes = None, []
    for spec in manifest.extra_inputs:
        kind = spec.get("kind", spec["name"])
        if kind != "exposure_ratios":
            raise EdgemefError(f"model '{manifest.model}' takes an input '{spec['name']}' of kind '{kind}' that this "
                               f"edgemef cannot make (it knows {', '.join(EXTRA_INPUT_KINDS)})")
        ref = spec.get("reference")
        ratios = exposure_ratios(frames, exposure_times, reference=ref, gamma=float(spec.get("gamma", GAMMA)))
        shape = [int(d) for d in spec["shape"]]
        if shape != [1, len(frames)]:
            raise EdgemefError(f"model input '{spec['name']}' has shape {shape}, expected [1, {len(frames)}]")
        extra[spec["name"]] = np.asarray(ratios.ratios, np.float32).reshape(1, -1)
        if ratios.estimated:
            notes.append(f"exposure ratios {np.round(ratios.ratios, 4).tolist()} {ratios.note}")
    return extra, ratios, notes


def example_extra_inputs(manifest: Manifest) -> dict[str, np.ndarray]:
    """Plausible further inputs for tracing and timing: exposure ratios 4x (2 EV) apart, darkest first."""
    out = {}
    for spec in manifest.extra_inputs:
        n = int(spec["shape"][-1])
        ref = int(spec.get("reference", n // 2))
        out[spec["name"]] = (DEFAULT_STEP ** (np.arange(n) - ref)).astype(np.float32).reshape(spec["shape"])
    return out


def prepare_input(images: list, manifest: Manifest,
                  exposure_times: list[float | None] | None = None) -> tuple[np.ndarray, NetContext]:
    """Aligned brackets -> network input.

    Args:
        images: float32 (H, W, 3) RGB in [0, 1], darkest first, all the same size; or
            :class:`edgemef.io.Bracket` objects (their EXIF ``exposure_time`` is used).
        manifest: the artifact's manifest (colour space, exposures, input range, padding, extra inputs).
        exposure_times: per-frame exposure times (seconds, darkest first; None where unknown) for
            networks that take exposure ratios; overrides the brackets' own. With any unknown the
            ratios are estimated from the frames (:func:`edgemef.hdr.estimate_exposure_ratios`).

    Returns:
        x: float32 (1, exposures * channels, Hp, Wp): for 'lab-l' the CIELAB L / 100 of each frame
        (one channel per frame), for 'rgb' each frame's R, G, B; mapped to ``input_range`` and
        padded by reflection on the bottom/right to ``pad_multiple`` (and the fixed shape).
        ctx: a :class:`NetContext` for :func:`finish_output`, with the further inputs in ``ctx.extra``.
    """
    _check_manifest(manifest)
    images, times = _frames_and_times(images)
    if exposure_times is not None:
        times = list(exposure_times)
        if len(times) != len(images):
            raise EdgemefError(f"got {len(times)} exposure times for {len(images)} images")
    if len(images) != manifest.exposures:
        raise EdgemefError(f"model '{manifest.model}' fuses {manifest.exposures} exposures, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise EdgemefError(f"brackets differ in size: {sorted(shapes)}")
    h, w = images[0].shape[:2]
    if images[0].ndim != 3 or images[0].shape[2] != 3:
        raise EdgemefError(f"expected (H, W, 3) RGB images, got shape {images[0].shape}")
    if min(h, w) < 2:
        raise EdgemefError(f"frames of {w}x{h} pixels: a network needs at least 2x2")
    hp, wp = padded_size(h, w, manifest)
    labs: list[np.ndarray] = []
    if manifest.colour_space == "lab-l":
        labs = [color.rgb_to_lab(im) for im in images]
        planes = [lab[..., 0] / np.float32(color.L_SCALE) for lab in labs]
    else:
        planes = [np.asarray(im, np.float32)[..., c] for im in images for c in range(3)]
    x = np.stack(planes)[None].astype(np.float32, copy=False)
    x = pad_image(_to_range(x, manifest.input_range), hp, wp)
    extra, ratios, notes = make_extra_inputs(images, manifest, times)
    frames = list(images) if manifest.output == "hdr" else []
    return (np.ascontiguousarray(x, dtype=np.float32),
            NetContext(h, w, (hp, wp), labs, extra, ratios, notes, frames))


def white_point(hdr: np.ndarray, percentile: float = WHITE_PERCENTILE) -> float:
    """The radiance a tone curve maps to display white: the ``percentile``-th percentile of the
    values (robust to a few hot pixels), at least 1 (the reference exposure's white)."""
    x = np.asarray(hdr, np.float32)
    if not x.size:
        return 1.0
    return max(1.0, float(np.percentile(x, percentile)))


def reexpose(hdr: np.ndarray, scales, gamma: float = GAMMA) -> list[np.ndarray]:
    """Virtual LDR exposures of linear radiance: ``clip(s * hdr, 0, 1) ** (1 / gamma)`` per scale s."""
    x = np.maximum(np.asarray(hdr, np.float32), 0.0)
    return [np.clip(np.float32(s) * x, 0.0, 1.0) ** np.float32(1.0 / gamma) for s in scales]


def tonemap(hdr: np.ndarray, method: str = DEFAULT_TONEMAP, white: float | None = None,
            gamma: float = GAMMA, ratios=None, frames=None) -> np.ndarray:
    """Linear radiance (>= 0, 1 = the reference exposure's white) -> display values in [0, 1].

    'reinhard': the global extended Reinhard curve ``x (1 + x / W**2) / (1 + x)`` per
    value, with white point W (:func:`white_point` unless given) mapped to 1, then the display
    gamma ``1 / gamma``. With W = 1 (nothing brighter than the reference's white) it is the
    identity on [0, 1], i.e. the reference exposure itself; brighter radiance is compressed, not
    clipped. 'mu-law' is ``log(1 + mu x / W) / log(1 + mu)`` with mu = 5000 (the HDR-deghosting
    papers' curve, normalised to the same white point; no further gamma): flat, for comparisons.
    'exposure-fusion' is a local operator (the way HDR+ renders its merged radiance): the
    radiance is re-exposed at the input frames' relative exposure times ``ratios`` (without
    them: at 1 / W and 1) by :func:`reexpose`, and those virtual frames are fused by OpenCV's
    Mertens exposure fusion, so each region keeps the local contrast of the exposure that shows
    it best instead of the compressed contrast of one global curve. Needs an (H, W, 3) image.
    With ``frames`` (the input frames, one per ratio, same order and size as the radiance) each
    virtual frame first gets its frame's own tone curve (:func:`edgemef.tonecurve.match_frames`),
    so the result is in the camera's look rather than a pure gamma's (without ``ratios`` the
    frames are not used). 'reference-fusion' (default) is 'exposure-fusion' with the reference
    frame (the one whose ratio is 1) fused as captured instead of re-exposed, so only the other
    exposures come from the radiance; it needs ``frames`` and ``ratios``. The reference is the
    geometry the network's output lives in, so it adds no ghost, and it keeps that frame's own
    local contrast where it is well exposed (a merge smooths it).
    """
    x = np.maximum(np.asarray(hdr, np.float32), 0.0)
    w = white_point(x) if white is None else max(float(white), 1e-6)
    if method == "reinhard":
        y = x * (1.0 + x / np.float32(w * w)) / (1.0 + x)
        return (np.clip(y, 0.0, 1.0) ** np.float32(1.0 / gamma)).astype(np.float32)
    if method == "mu-law":
        return np.clip(np.log1p(np.float32(HDR_MU / w) * x) / np.log1p(HDR_MU), 0.0, 1.0).astype(np.float32)
    if method in LOCAL_TONEMAPS:
        if x.ndim != 3 or x.shape[-1] != 3:
            raise EdgemefError(f"'{method}' tone-mapping needs an (H, W, 3) image, got shape {x.shape}")
        if method == "reference-fusion" and (frames is None or ratios is None):
            raise EdgemefError("'reference-fusion' tone-mapping needs the input frames and their exposure ratios")
        if frames is not None and ratios is not None:
            scales = [float(r) for r in np.ravel(ratios)]
            if len(frames) != len(scales) or any(np.shape(f) != x.shape for f in frames):
                raise EdgemefError(f"'{method}' tone-mapping got {len(frames)} frames for {len(scales)} "
                                   f"exposure ratios, or frames of another size than the {x.shape} radiance")
        else:
            frames = None
            scales = sorted({float(r) for r in np.ravel(ratios)}) if ratios is not None else [1.0 / w, 1.0]
        if len(scales) < 2 or min(scales) <= 0:
            raise EdgemefError(f"'{method}' tone-mapping needs two or more positive exposure ratios, "
                               f"got {list(np.ravel(ratios))}")
        from edgemef.fusion import fuse_mertens  # OpenCV only; imported here to keep netio's imports light

        # 'reference-fusion' takes its reference frame as captured: only the others are re-exposed
        ref = int(np.argmin(np.abs(np.log(scales)))) if method == "reference-fusion" else None
        made = [i for i in range(len(scales)) if i != ref]
        virtual = reexpose(x, [scales[i] for i in made], gamma)
        if frames is not None:
            from edgemef.tonecurve import match_frames

            frames = [np.asarray(f, np.float32) for f in frames]
            virtual = match_frames(virtual, [frames[i] for i in made])
        if ref is not None:
            virtual.insert(ref, frames[ref])
        return fuse_mertens(virtual)
    raise EdgemefError(f"unknown tone-mapping '{method}' (use {', '.join(TONEMAPS)})")


def merged_chroma(labs: list[np.ndarray], mode: str) -> np.ndarray:
    """(H, W, 2) a/b of the fused image: 'mean' (DenseFuse's paper) or 'saturation'-weighted."""
    if mode == "mean":
        return color.merge_chroma(labs)
    if mode == "saturation":
        return color.merge_chroma(labs, color.chroma_saturation_weights(labs))
    raise EdgemefError(f"unknown chroma mode '{mode}' in the artifact manifest (use {', '.join(CHROMA_MODES)})")


def set_tonemap(manifest: Manifest, method: str) -> None:
    """Show an HDR network's radiance by ``method`` (one of :data:`TONEMAPS`) from now on.

    Raises:
        EdgemefError: an unknown method, or a network that outputs a display image already.
    """
    if manifest.output != "hdr":
        raise EdgemefError(f"--tonemap applies to HDR networks; '{manifest.model}' outputs a display image")
    if method not in TONEMAPS:
        raise EdgemefError(f"unknown tone-mapping '{method}' (use {', '.join(TONEMAPS)})")
    manifest.extra["tonemap"] = method


def display_hdr(out: np.ndarray, manifest: Manifest, ratios=None, white: float | None = None,
                frames=None) -> np.ndarray:
    """(C, H, W) radiance -> (C, H, W) display values, by the manifest's ``extra['tonemap']``
    (default :data:`DEFAULT_TONEMAP`); 'exposure-fusion' re-exposes at the frames' exposure
    ``ratios`` (in the ``frames``' own tone curves when given) and needs RGB, the curves use the
    white point ``white`` (default: the image's)."""
    method = str(manifest.extra.get("tonemap", DEFAULT_TONEMAP))
    if method not in LOCAL_TONEMAPS:
        return tonemap(out, method, white=white)
    if out.shape[0] != 3:
        raise EdgemefError(f"'{method}' tone-mapping needs an RGB network output")
    return tonemap(out.transpose(1, 2, 0), method, white=white, ratios=ratios, frames=frames).transpose(2, 0, 1)


def finish_output(y: np.ndarray, ctx: NetContext, manifest: Manifest, display: bool = True) -> np.ndarray:
    """Network output -> displayable image.

    Args:
        y: (1, C, Hp, Wp) network output (C = 1 for 'lab-l', 3 for 'rgb'), in ``input_range``.
        ctx: from :func:`prepare_input`.
        manifest: the artifact's manifest.
        display: False: for an 'hdr' 'rgb' network, return the radiance itself (H, W, 3), >= 0,
            unclipped, not tone-mapped.

    Returns:
        float32 (H, W, 3) RGB in [0, 1]: unpadded; for 'lab-l' the fused L composed with the
        inputs' chroma merged per ``manifest.chroma``; for output 'hdr' tone-mapped first
        (:func:`display_hdr`: :func:`tonemap` with ``manifest.extra['tonemap']``).
    """
    _check_manifest(manifest)
    y = np.asarray(y, np.float32)
    if y.ndim == 3:
        y = y[None]
    want = 1 if manifest.colour_space == "lab-l" else 3
    if y.ndim != 4 or y.shape[0] != 1 or y.shape[1] != want:
        raise EdgemefError(f"network output has shape {y.shape}, expected (1, {want}, H, W)")
    if y.shape[2] < ctx.height or y.shape[3] < ctx.width:
        raise EdgemefError(f"network output {y.shape[2]}x{y.shape[3]} is smaller than the image "
                           f"{ctx.height}x{ctx.width}")
    out = _from_range(y[0, :, : ctx.height, : ctx.width], manifest.input_range)
    if manifest.output == "hdr":
        if not display and manifest.colour_space == "rgb":
            return np.ascontiguousarray(np.maximum(out, 0.0).transpose(1, 2, 0), dtype=np.float32)
        out = display_hdr(out, manifest, ctx.ratios.ratios if ctx.ratios is not None else None,
                          frames=ctx.frames or None)
    if manifest.colour_space == "lab-l":
        return color.compose(out[0], merged_chroma(ctx.labs, manifest.chroma))
    return np.ascontiguousarray(np.clip(out.transpose(1, 2, 0), 0.0, 1.0), dtype=np.float32)
