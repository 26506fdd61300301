"""Small numpy/OpenCV helpers that avoid numpy's slow paths on (H, W, 3) float32 images.

Broadcasting a per-pixel ``(H, W)`` map or a per-channel ``(3,)`` vector over ``(H, W, 3)`` and
reducing over the channel axis run several times slower in numpy than these OpenCV calls.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


@functools.lru_cache(maxsize=1)
def tune_malloc() -> bool:
    """Keep freed image buffers inside the process (glibc only; once per process).

    Rendering allocates and frees many ~1 MB arrays; glibc's defaults hand each one back to the
    kernel (mmap/trim), and every new one then costs ~200 page faults, about a third of the
    render time on this machine. Raising the mmap and trim thresholds lets them be reused.
    Process-wide and harmless (freed memory stays mapped); returns False where unsupported.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
    ok &= mallopt(_M_TRIM_THRESHOLD, 512 << 20) == 1
    ok &= mallopt(_M_TOP_PAD, 16 << 20) == 1
    return bool(ok)


@functools.lru_cache(maxsize=8)
def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only float32 coordinate grids ``(yy, xx)`` of shape ``(h, w)``, cached per size."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx


def expand3(m: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32 -> ``(H, W, 3)`` with the map repeated per channel."""
    return cv2.cvtColor(np.ascontiguousarray(m, np.float32), cv2.COLOR_GRAY2RGB)


def mul_map(img: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``img (H, W, 3) * m (H, W)`` (new array)."""
    return img * expand3(m)


def scale_channels(img: np.ndarray, v) -> np.ndarray:
    """``img (H, W, 3) * v (3,)`` (new array)."""
    return cv2.transform(img, np.diag(np.asarray(v, np.float32)).astype(np.float32))


def channel_mean(img: np.ndarray) -> np.ndarray:
    """Mean over the 3 channels, ``(H, W)``."""
    return cv2.transform(img, np.full((1, 3), 1.0 / 3.0, np.float32)).reshape(img.shape[:2])


NOISE_POOL_SIZE = 1 << 22  # 4 Mi float32 standard normals (16 MB), built once per process
_NOISE_POOL: np.ndarray | None = None


def _noise_pool() -> np.ndarray:
    global _NOISE_POOL
    if _NOISE_POOL is None:
        pool = np.empty((NOISE_POOL_SIZE, 1), np.float32)
        cv2.setRNGSeed(0x5EED)
        cv2.randn(pool, 0.0, 1.0)
        pool = pool.ravel()
        pool.flags.writeable = False
        _NOISE_POOL = pool
    return _NOISE_POOL


def randn(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 noise of ``shape``, as a read-only view (do not write into it).

    Drawing fresh normals costs ~1 ms per 256x256x3 frame here, so this returns a window at a
    random offset (chosen by ``rng``) into a fixed pool of 4 Mi normals generated once from a
    fixed seed: reproducible from ``rng`` alone and free per call. Windows drawn for different
    frames rarely overlap and, when they do, only as a raster-order shift of the same values.
    """
    n = int(np.prod(shape))
    pool = _noise_pool()
    if n > pool.size:
        out = np.empty(shape, np.float32)
        cv2.setRNGSeed(int(rng.integers(1, 2**31 - 1)))
        cv2.randn(out.reshape(-1, 1), 0.0, 1.0)
        return out
    start = int(rng.integers(0, pool.size - n + 1))
    return pool[start:start + n].reshape(shape)


def quantiles(x: np.ndarray, q: list[float]) -> list[float]:
    """Percentiles ``q`` (0-100) of ``x`` by partial sort (nearest rank; faster than np.percentile)."""
    v = np.ascontiguousarray(x).ravel()
    ks = [int(round(p / 100.0 * (v.size - 1))) for p in q]
    part = np.partition(v, sorted(set(ks)))
    return [float(part[k]) for k in ks]


LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def luminance(img: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance ``(H, W)`` of linear RGB ``(H, W, 3)``."""
    return cv2.transform(img, LUMA[None]).reshape(img.shape[:2])


def dynamic_range(radiance: np.ndarray, lo: float = 0.1, hi: float = 99.9) -> float:
    """Ratio of the ``hi`` to the ``lo`` luminance percentile (a robust scene dynamic range)."""
    a, b = quantiles(luminance(radiance), [lo, hi])
    return float(b / max(a, 1e-12))
