"""Network pre/post-processing, the one place it lives (numpy + OpenCV only, torch-free).

Training, export parity checks and every runtime backend call these two functions, so a network
sees exactly the same input everywhere::

    x, ctx = prepare_input(images, manifest)   # (1, exposures * channels, Hp, Wp) float32
    y = backend.infer(x)                       # (1, channels, Hp, Wp) float32
    image = finish_output(y, ctx, manifest)    # (H, W, 3) RGB in [0, 1]
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgemef import color
from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest

COLOUR_SPACES = ("lab-l", "rgb")
CHROMA_MODES = ("mean", "saturation")
OUTPUT_KINDS = ("ldr", "hdr")
HDR_MU = 5000.0  # mu-law tone mapping, as in Kalantari and Ramamoorthi 2017 and its successors


@dataclass
class NetContext:
    """What :func:`finish_output` needs besides the network output.

    Attributes:
        height: original image height H.
        width: original image width W.
        padded: (Hp, Wp) of the network input (H, W padded to ``pad_multiple`` / fixed shape).
        labs: per-frame (H, W, 3) CIELAB images for 'lab-l' models (chroma source), else [].
    """

    height: int
    width: int
    padded: tuple[int, int]
    labs: list[np.ndarray] = field(default_factory=list)


def _check_manifest(manifest: Manifest) -> None:
    if manifest.colour_space not in COLOUR_SPACES:
        raise EdgemefError(f"unsupported colour space '{manifest.colour_space}' in the artifact manifest "
                           f"(this edgemef knows {', '.join(COLOUR_SPACES)})")
    if manifest.output not in OUTPUT_KINDS:
        raise EdgemefError(f"unsupported output kind '{manifest.output}' in the artifact manifest")


def padded_size(height: int, width: int, manifest: Manifest) -> tuple[int, int]:
    """(Hp, Wp): H and W rounded up to ``pad_multiple``, and at least the fixed ``shape`` if any."""
    m = max(1, int(manifest.pad_multiple or 1))
    hp, wp = -(-height // m) * m, -(-width // m) * m
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


def prepare_input(images: list[np.ndarray], manifest: Manifest) -> tuple[np.ndarray, NetContext]:
    """Aligned brackets -> network input.

    Args:
        images: float32 (H, W, 3) RGB in [0, 1], darkest first, all the same size.
        manifest: the artifact's manifest (colour space, exposures, input range, padding).

    Returns:
        x: float32 (1, exposures * channels, Hp, Wp): for 'lab-l' the CIELAB L / 100 of each frame
        (one channel per frame), for 'rgb' each frame's R, G, B; mapped to ``input_range`` and
        padded by reflection on the bottom/right to ``pad_multiple`` (and the fixed shape).
        ctx: a :class:`NetContext` for :func:`finish_output`.
    """
    _check_manifest(manifest)
    if len(images) != manifest.exposures:
        raise EdgemefError(f"model '{manifest.model}' fuses {manifest.exposures} exposures, got {len(images)}")
    shapes = {np.shape(im) for im in images}
    if len(shapes) != 1:
        raise EdgemefError(f"brackets differ in size: {sorted(shapes)}")
    h, w = images[0].shape[:2]
    if images[0].ndim != 3 or images[0].shape[2] != 3:
        raise EdgemefError(f"expected (H, W, 3) RGB images, got shape {images[0].shape}")
    hp, wp = padded_size(h, w, manifest)
    labs: list[np.ndarray] = []
    if manifest.colour_space == "lab-l":
        labs = [color.rgb_to_lab(im) for im in images]
        planes = [lab[..., 0] / np.float32(color.L_SCALE) for lab in labs]
    else:
        planes = [np.asarray(im, np.float32)[..., c] for im in images for c in range(3)]
    x = np.stack(planes)[None].astype(np.float32, copy=False)
    x = pad_image(_to_range(x, manifest.input_range), hp, wp)
    return np.ascontiguousarray(x, dtype=np.float32), NetContext(h, w, (hp, wp), labs)


def tonemap(hdr: np.ndarray, method: str = "mu-law") -> np.ndarray:
    """Linear radiance (>= 0, 1 = the reference exposure's white) -> display values in [0, 1].

    'mu-law' is log(1 + mu x) / log(1 + mu) with mu = 5000 (the HDR-deghosting papers' display
    curve); 'reinhard' is extended Reinhard with white point 4 (radiance 4 maps to 1).
    """
    x = np.maximum(hdr, 0.0).astype(np.float32)
    if method == "mu-law":
        return (np.log1p(HDR_MU * x) / np.log1p(HDR_MU)).astype(np.float32)
    if method == "reinhard":
        white = 4.0
        return np.clip(x * (1 + x / white**2) / (1 + x), 0.0, 1.0).astype(np.float32)
    raise EdgemefError(f"unknown tone-mapping '{method}' (use mu-law or reinhard)")


def merged_chroma(labs: list[np.ndarray], mode: str) -> np.ndarray:
    """(H, W, 2) a/b of the fused image: 'mean' (DenseFuse's paper) or 'saturation'-weighted."""
    if mode == "mean":
        return color.merge_chroma(labs)
    if mode == "saturation":
        return color.merge_chroma(labs, color.chroma_saturation_weights(labs))
    raise EdgemefError(f"unknown chroma mode '{mode}' in the artifact manifest (use {', '.join(CHROMA_MODES)})")


def finish_output(y: np.ndarray, ctx: NetContext, manifest: Manifest) -> np.ndarray:
    """Network output -> displayable image.

    Args:
        y: (1, C, Hp, Wp) network output (C = 1 for 'lab-l', 3 for 'rgb'), in ``input_range``.
        ctx: from :func:`prepare_input`.
        manifest: the artifact's manifest.

    Returns:
        float32 (H, W, 3) RGB in [0, 1]: unpadded; for 'lab-l' the fused L composed with the
        inputs' chroma merged per ``manifest.chroma``; for output 'hdr' tone-mapped first.
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
        out = tonemap(out, str(manifest.extra.get("tonemap", "mu-law")))
    if manifest.colour_space == "lab-l":
        return color.compose(out[0], merged_chroma(ctx.labs, manifest.chroma))
    return np.ascontiguousarray(np.clip(out.transpose(1, 2, 0), 0.0, 1.0), dtype=np.float32)
