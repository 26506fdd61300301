"""Loading, validating and ordering exposure brackets; atomic image writes.

Convention everywhere in edgemef: an image is a float32 ``(H, W, 3)`` RGB array in [0, 1].
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgemef.errors import EdgemefError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
_EXIF_EXPOSURE_TIME = 33434  # EXIF tag ExposureTime
_EXIF_IFD = 0x8769


@dataclass
class Bracket:
    """One exposure of a scene.

    Attributes:
        image: float32 (H, W, 3) RGB in [0, 1].
        path: where it came from ('' for in-memory frames).
        exposure_time: seconds from EXIF, or None when unknown.
        gray: True when the source file had one channel.
        bit_depth: 8 or 16.
    """

    image: np.ndarray
    path: str = ""
    exposure_time: float | None = None
    gray: bool = False
    bit_depth: int = 8

    @property
    def luminance(self) -> float:
        """Mean Rec. 601 luminance in [0, 1]."""
        return float(np.mean(self.image @ np.array([0.299, 0.587, 0.114], np.float32)))


def read_exposure_time(path: str | os.PathLike) -> float | None:
    """EXIF ExposureTime in seconds, or None when the file has none."""
    try:
        from PIL import Image
    except ImportError:  # Pillow is a base dependency; stay usable without it
        return None
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            value = exif.get(_EXIF_EXPOSURE_TIME)
            if value is None:
                value = exif.get_ifd(_EXIF_IFD).get(_EXIF_EXPOSURE_TIME)
    except Exception:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def to_float_rgb(raw: np.ndarray, name: str = "image") -> tuple[np.ndarray, bool, int]:
    """Convert an OpenCV-decoded array (BGR/BGRA/gray, 8 or 16 bit) to float RGB in [0, 1].

    Returns:
        (image, was_gray, bit_depth)
    """
    if raw.dtype == np.uint8:
        scale, depth = 255.0, 8
    elif raw.dtype == np.uint16:
        scale, depth = 65535.0, 16
    elif raw.dtype in (np.float32, np.float64):
        scale, depth = 1.0, 32
    else:
        raise EdgemefError(f"{name}: unsupported pixel type {raw.dtype}")
    gray = raw.ndim == 2 or raw.shape[2] == 1
    if gray:
        rgb = cv2.cvtColor(raw.reshape(raw.shape[:2]), cv2.COLOR_GRAY2RGB)
    elif raw.shape[2] == 4:
        rgb = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    elif raw.shape[2] == 3:
        rgb = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    else:
        raise EdgemefError(f"{name}: unsupported channel count {raw.shape[2]}")
    img = rgb.astype(np.float32) / np.float32(scale)
    return np.clip(img, 0.0, 1.0), gray, depth


def as_image(array, name: str = "image", strict: bool = True) -> np.ndarray:
    """An in-memory frame as edgemef's float32 (H, W, 3) RGB in [0, 1].

    uint8 and uint16 arrays are scaled by their type's maximum; grey (H, W) or (H, W, 1) arrays
    are repeated to three channels and RGBA drops its alpha, as :func:`load_image` does for files
    (the channel order is taken as RGB: an array from ``cv2.imread`` is BGR, convert it first).
    ``strict=False`` clips float values within [-1, 2] to [0, 1] (what writing a file does with a
    result that overshoots a little) and refuses only values further out.

    Raises:
        EdgemefError: not an array, an empty one, a shape or pixel type that is not an image, or
            float values outside [0, 1] (e.g. 0-255 floats: divide by 255 first).
    """
    if isinstance(array, (str, os.PathLike)):
        raise EdgemefError(f"{name}: got the path '{array}'; read files with edgemef.load_brackets")
    a = np.asarray(array)
    if a.dtype == object or a.dtype.kind not in "uif":
        raise EdgemefError(f"{name}: expected an image array, got {type(array).__name__} of {a.dtype}")
    if a.ndim == 3 and a.shape[2] in (1, 4):
        a = a[..., :1] if a.shape[2] == 1 else a[..., :3]
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1):
        a = np.repeat(a.reshape(a.shape[:2])[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise EdgemefError(f"{name}: expected an (H, W, 3) RGB image (or grey / RGBA), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise EdgemefError(f"{name}: empty image ({a.shape[1]}x{a.shape[0]})")
    if a.dtype == np.uint8 or a.dtype == np.uint16:
        return a.astype(np.float32) / np.float32(np.iinfo(a.dtype).max)
    if a.dtype.kind in "ui":
        raise EdgemefError(f"{name}: unsupported pixel type {a.dtype} (use uint8, uint16 or float in [0, 1])")
    a = a.astype(np.float32, copy=False)
    if not np.isfinite(a).all():
        raise EdgemefError(f"{name}: holds NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    slack = 1.0 if not strict else 1e-3  # non-strict: an overshoot is clipped, 0-255 values are not
    if lo < -slack or hi > 1.0 + slack:
        raise EdgemefError(f"{name}: float images must lie in [0, 1], got {lo:.3g}..{hi:.3g}"
                           + (" (divide 8-bit values by 255)" if hi <= 255.5 else ""))
    return a if 0.0 <= lo and hi <= 1.0 else np.clip(a, 0.0, 1.0)  # a valid float32 frame is not copied


def load_image(path: str | os.PathLike) -> Bracket:
    """Read one image file (jpg/png/tif/bmp; 8/16-bit; gray/RGB/RGBA) as a :class:`Bracket`."""
    p = Path(path)
    if not p.is_file():
        raise EdgemefError(f"{p}: no such file")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise EdgemefError(f"{p}: unsupported file type '{p.suffix}' (use {', '.join(IMAGE_SUFFIXES)})")
    data = np.fromfile(str(p), dtype=np.uint8)
    raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if raw is None:
        raise EdgemefError(f"{p}: cannot decode image (corrupt or truncated file)")
    img, gray, depth = to_float_rgb(raw, str(p))
    return Bracket(img, str(p), read_exposure_time(p), gray, depth)


def order_brackets(brackets: list[Bracket]) -> list[Bracket]:
    """Validate a bracket set and sort it from the darkest exposure to the brightest.

    Sorting uses EXIF exposure times when every frame has one, else mean luminance.

    Raises:
        EdgemefError: fewer than two or more than three frames, mismatched sizes, or frames whose
            exposures are indistinguishable.
    """
    if len(brackets) < 2:
        raise EdgemefError(f"need 2 or 3 differently exposed images, got {len(brackets)}")
    if len(brackets) > 3:
        raise EdgemefError(f"at most 3 brackets are supported, got {len(brackets)}")
    shapes = {b.image.shape[:2] for b in brackets}
    if len(shapes) != 1:
        sizes = ", ".join(f"{Path(b.path).name or f'frame {i}'} {b.image.shape[1]}x{b.image.shape[0]}"
                          for i, b in enumerate(brackets))
        raise EdgemefError(f"image sizes differ: {sizes}")
    if all(b.exposure_time for b in brackets) and len({b.exposure_time for b in brackets}) == len(brackets):
        ordered = sorted(brackets, key=lambda b: b.exposure_time)
    else:
        ordered = sorted(brackets, key=lambda b: b.luminance)
    lum = [b.luminance for b in ordered]
    for a, b, ba, bb in zip(lum, lum[1:], ordered, ordered[1:]):
        if ba.path and bb.path and Path(ba.path).resolve() == Path(bb.path).resolve():
            raise EdgemefError(f"{ba.path} is given twice; give differently exposed brackets")
        same_pixels = np.array_equal(ba.image, bb.image)
        if same_pixels or (abs(b - a) < 0.02 and ba.exposure_time == bb.exposure_time):
            raise EdgemefError(
                f"{Path(ba.path).name or 'frame'} and {Path(bb.path).name or 'frame'} have the same exposure "
                f"(mean luminance {a:.3f} vs {b:.3f}); give differently exposed brackets"
            )
    return ordered


def load_brackets(paths: list[str | os.PathLike]) -> list[Bracket]:
    """Load, validate and order 2-3 bracket files (darkest first)."""
    return order_brackets([load_image(p) for p in paths])


def find_bracket_sets(root: str | os.PathLike, skipped: list[str] | None = None) -> list[tuple[str, list[Path]]]:
    """Bracket sets under ``root``: one per sub-folder holding 2-3 images (mefb-dev layout).

    A folder whose images sit directly under ``root`` counts as one set named after ``root``.
    ``skipped``, when given, receives the sub-folders left out for holding one image or more
    than three (folders without images are not listed).
    """
    root = Path(root)
    if not root.is_dir():
        raise EdgemefError(f"{root}: not a directory")

    def images(d: Path) -> list[Path]:
        return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)

    found = [(d.name, images(d)) for d in sorted(root.iterdir()) if d.is_dir()]
    sets = [(n, f) for n, f in found if 2 <= len(f) <= 3]
    if skipped is not None:
        skipped.extend(f"{n} ({len(f)} image{'s' * (len(f) != 1)})" for n, f in found if len(f) == 1 or len(f) > 3)
    if not sets and 2 <= len(images(root)) <= 3:
        sets = [(root.name, images(root))]
    if not sets:
        raise EdgemefError(f"{root}: no bracket sets (sub-folders holding 2 or 3 images) found")
    return sets


def to_uint(image: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """float RGB [0, 1] -> uint8/uint16 RGB with rounding."""
    if bit_depth == 16:
        return np.clip(image * 65535.0 + 0.5, 0, 65535).astype(np.uint16)
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


EIGHT_BIT_SUFFIXES = (".jpg", ".jpeg", ".bmp")  # formats that hold 8 bits per channel only


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail early (before any work) when an image cannot be written to ``path``."""
    p = Path(path)
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise EdgemefError(f"{p}: output must end in one of {', '.join(IMAGE_SUFFIXES)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise EdgemefError(f"{p}: directory {parent} does not exist")
    if p.is_dir():
        raise EdgemefError(f"{p}: is a directory")
    if not os.access(parent, os.W_OK):
        raise EdgemefError(f"{p}: directory {parent} is not writable")
    return p


def save_image(path: str | os.PathLike, image: np.ndarray, bit_depth: int = 8, gray: bool = False) -> Path:
    """Write an image atomically: encode in memory, write a temp file, rename.

    ``image`` is anything :func:`as_image` takes (float RGB in [0, 1], a small overshoot clipped;
    uint8/uint16; grey; RGBA) or a :class:`~edgemef.fusion.FusionResult`. ``bit_depth`` 16 needs
    .png or .tif: JPEG and BMP hold 8 bits and are written so. An existing file at ``path`` is
    only replaced once the new one is complete.

    Raises:
        EdgemefError: unknown suffix, missing directory, unwritable location, or an array that
            is not an image.
    """
    p = check_output_path(path)
    if hasattr(image, "image") and not isinstance(image, np.ndarray):  # a FusionResult or a Bracket
        image = image.image
    image = as_image(image, str(p), strict=False)
    suffix = p.suffix.lower()
    if bit_depth == 16 and suffix in EIGHT_BIT_SUFFIXES:
        bit_depth = 8
    out = to_uint(image, bit_depth)
    out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY) if gray else cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(suffix, out)
    if not ok:
        raise EdgemefError(f"{p}: OpenCV could not encode a '{suffix}' image")
    atomic_write_bytes(p, buf.tobytes())
    return p


def normal_permissions(path: str | os.PathLike, executable: bool = False) -> None:
    """Give a temporary file (mkstemp makes 0600) the permissions a new file gets under the umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if executable else 0o666) & ~umask)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise EdgemefError(f"{p}: directory {parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=parent)
    except OSError as e:
        raise EdgemefError(f"{p}: cannot write here ({e.strerror})") from None
    try:
        normal_permissions(tmp)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise EdgemefError(f"{p}: cannot write ({e.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shrink(images: list[np.ndarray], max_side: int) -> list[np.ndarray]:
    """Downscale (area) so the longer side is at most ``max_side`` (0: unchanged)."""
    h, w = images[0].shape[:2]
    if not max_side or max(h, w) <= max_side:
        return images
    f = max_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return [cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in images]
