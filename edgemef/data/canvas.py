"""A painter's-algorithm compositor for synthetic radiance scenes.

Shapes are drawn, back to front, as object ids into one id map. Each object points at a source
image (an albedo texture or an emission image such as a sky), a tint, a level and whether it is
emissive. Reflective objects are multiplied by an illumination map (shadows, light pools,
falloff); emissive ones are not. ``render`` gathers it all into linear radiance ``(H, W, 3)``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from edgemef.data.fastops import dynamic_range, expand3, luminance, pixel_grid, quantiles
from edgemef.data.textures import TEXTURES, sample_texture


@functools.lru_cache(maxsize=8)
def _white(h: int, w: int) -> np.ndarray:
    img = np.ones((h, w, 3), np.float32)
    img.flags.writeable = False
    return img


@dataclass
class _Obj:
    src: int
    coef: np.ndarray  # (3,) tint * level
    emissive: bool


class Canvas:
    """Id-map compositor of size ``(h, w)``; object 0 is whatever ``background`` set."""

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.ids = np.zeros((h, w), np.uint16)
        self.sources: list[np.ndarray] = [_white(h, w)]  # 0: flat white (shared, read-only)
        self.objs: list[_Obj] = [_Obj(0, np.full(3, 0.2, np.float32), False)]
        self.light = np.ones((h, w), np.float32)
        self._textures: dict[str, int] = {}

    @property
    def scale(self) -> float:
        """Size relative to a 256-pixel frame, to keep shapes proportional at any resolution."""
        return max(self.h, self.w) / 256.0

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Cached pixel coordinate grids (yy, xx), float32."""
        return pixel_grid(self.h, self.w)

    def source(self, img: np.ndarray) -> int:
        """Register a full-frame source image ``(H, W, 3)``; returns its index."""
        self.sources.append(np.ascontiguousarray(img, np.float32))
        return len(self.sources) - 1

    def texture(self, rng: np.random.Generator, kind: str | None = None, tint=None, sat=None,
                reuse: float = 0.5) -> int:
        """A source index holding a random albedo texture; with probability ``reuse`` an earlier
        texture of the same kind is shared (materials repeat; each object still gets its own tint)."""
        kind = kind or str(rng.choice(list(TEXTURES)))
        cached = self._textures.get(kind)
        if cached is not None and tint is None and rng.random() < reuse:
            return cached
        src = self.source(sample_texture(rng, self.h, self.w, kind, tint, sat))
        if tint is None:
            self._textures[kind] = src
        return src

    def obj(self, src: int = 0, tint=(1.0, 1.0, 1.0), level: float = 1.0, emissive: bool = False) -> int:
        """A new object id (no pixels yet)."""
        self.objs.append(_Obj(src, np.asarray(tint, np.float32) * np.float32(level), emissive))
        if len(self.objs) >= 65535:
            raise ValueError("too many objects")
        return len(self.objs) - 1

    def background(self, src: int = 0, tint=(1.0, 1.0, 1.0), level: float = 1.0, emissive: bool = False):
        """Set what object 0 (every pixel not drawn over) shows."""
        self.objs[0] = _Obj(src, np.asarray(tint, np.float32) * np.float32(level), emissive)

    # -- shapes ----------------------------------------------------------------------------
    def poly(self, pts, oid: int) -> int:
        """Fill one polygon (array of (x, y)) or a list of polygons with object ``oid``."""
        polys = pts if isinstance(pts, list) else [pts]
        cv2.fillPoly(self.ids, [np.round(np.asarray(p)).astype(np.int32) for p in polys], int(oid))
        return oid

    def rect(self, x0, y0, x1, y1, oid: int) -> int:
        """Fill an axis-aligned rectangle (pixel corners, inclusive-exclusive)."""
        x0, x1 = sorted((int(round(x0)), int(round(x1))))
        y0, y1 = sorted((int(round(y0)), int(round(y1))))
        self.ids[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = oid
        return oid

    def ellipse(self, cx, cy, rx, ry, oid: int, angle: float = 0.0) -> int:
        """Fill an ellipse."""
        cv2.ellipse(self.ids, (int(round(cx)), int(round(cy))), (max(1, int(round(rx))), max(1, int(round(ry)))),
                    float(angle), 0.0, 360.0, int(oid), -1)
        return oid

    def mask(self, m: np.ndarray, oid: int) -> int:
        """Assign ``oid`` wherever the boolean mask ``m`` is set."""
        self.ids[m] = oid
        return oid

    # -- illumination ----------------------------------------------------------------------
    def shadow(self, pts, factor: float, soft: float = 1.5):
        """Darken reflective surfaces inside a polygon by ``factor`` with a soft edge."""
        m = np.zeros((self.h, self.w), np.float32)
        cv2.fillPoly(m, [np.round(np.asarray(p)).astype(np.int32) for p in (pts if isinstance(pts, list) else [pts])], 1.0)
        if soft > 0.3:
            m = cv2.GaussianBlur(m, (0, 0), soft)
        self.light *= 1.0 - np.float32(1.0 - factor) * m

    def pool(self, cx: float, cy: float, radius: float, strength: float, squash: float = 1.0):
        """Add a light pool: ``strength / (1 + (d / radius)^2)`` (a nearby lamp), ``squash`` scales y."""
        yy, xx = self.grid()
        d2 = (xx - np.float32(cx)) ** 2 + ((yy - np.float32(cy)) * np.float32(squash)) ** 2
        self.light += np.float32(strength) / (1.0 + d2 / np.float32(radius * radius))

    # -- output ----------------------------------------------------------------------------
    def render(self, min_range: float | None = None) -> np.ndarray:
        """Linear radiance ``(H, W, 3)`` float32.

        Args:
            min_range: when the result's dynamic range (:func:`dynamic_range`) is below this,
                brighten the emissive objects that are brighter than the median (sky, windows,
                lamps) until it is reached (at most 1000x); a backlit scene, as in real life.
        """
        ids, n = self.ids, len(self.objs)
        src_of = np.array([o.src for o in self.objs], np.int32)
        coef = np.stack([o.coef for o in self.objs]).astype(np.float32)
        emis = np.array([o.emissive for o in self.objs], bool)
        present = np.flatnonzero(np.bincount(ids.ravel(), minlength=n))
        used = np.unique(src_of[present])
        out = np.empty((self.h, self.w, 3), np.float32)
        srcmap = np.take(src_of, ids) if len(used) > 1 else None
        for k in used:
            img = self.sources[k]
            if img.shape[:2] != (self.h, self.w):
                img = np.broadcast_to(img, out.shape)
            if srcmap is None:
                out[:] = img
            else:
                cv2.copyTo(np.ascontiguousarray(img), (srcmap == k).view(np.uint8), out)
        out *= np.take(coef, ids, axis=0)
        light = self.light
        emis_px = np.take(emis, ids) if emis[present].any() else None
        if emis_px is not None:
            light = light.copy()
            light[emis_px] = 1.0
        out *= expand3(light)
        if min_range and emis_px is not None:
            self._expand(out, emis_px, min_range)
        return out

    @staticmethod
    def _expand(out: np.ndarray, emis_px: np.ndarray, min_range: float):
        lum = luminance(out)
        bright = emis_px & (lum > np.float32(quantiles(lum[::2, ::2], [50.0])[0]))
        if bright.mean() < 0.002:
            return
        # iterate on a subsample (cheap), then scale the full frame once
        sub, sub_bright = np.ascontiguousarray(out[::2, ::2]), bright[::2, ::2]
        total = 1.0
        for _ in range(3):
            dr = dynamic_range(sub)
            if dr >= min_range or total >= 1e3:
                break
            f = min(min_range / dr, 1e3 / total)
            sub[sub_bright] *= np.float32(f)
            total *= f
        if total > 1.0:
            gain = bright.astype(np.float32)
            gain *= np.float32(total - 1.0)
            gain += np.float32(1.0)
            out *= expand3(gain)
