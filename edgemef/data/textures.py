"""Procedural textures for synthetic scenes: fractal noise, palettes and a bank of albedo maps.

Everything takes a ``numpy.random.Generator`` so a scene is reproducible from its seed. Albedo
maps are float32 ``(H, W, 3)`` linear reflectances in about [0.01, 0.9].

Generating a texture costs milliseconds, so scenes draw from a process-wide bank
(:func:`sample_texture`): :data:`BANK_PER_KIND` base textures per kind, each a pure function of
its (kind, index) and generated on first use, then varied per use by a random similarity
transform (zoom, rotation, flip, shift) and a random colour transform (hue rotation, saturation,
tint). Results depend only on the seed, never on what the bank already holds.
"""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from edgemef.data.fastops import pixel_grid, randn


def fbm(rng: np.random.Generator, h: int, w: int, beta: float = 2.0, channels: int = 1,
        finest: int = 0) -> np.ndarray:
    """Fractal (1/f^beta) noise, zero mean and unit std, float32 ``(H, W)`` or ``(H, W, C)``.

    Built coarse-to-fine like a Laplacian pyramid: upsample (``pyrUp``) and add fresh white noise
    whose amplitude falls by ``2 ** (beta / 2)`` per finer octave; ``beta`` near 1 is rough, near
    3 cloud-like. ``finest`` > 0 stops adding noise that many octaves above full resolution.
    """
    levels = max(1, int(np.log2(max(h, w))) - 1)
    sizes = [(h, w)]
    for _ in range(levels):
        sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
    shape = lambda s: s + ((channels,) if channels > 1 else ())  # noqa: E731
    field = randn(rng, shape(sizes[-1]))
    gain = np.float32(2.0 ** (beta / 2.0))
    for lv in range(levels - 1, -1, -1):
        sh, sw = sizes[lv]
        field = cv2.pyrUp(field, dstsize=(sw, sh)).reshape(shape((sh, sw)))
        field *= gain
        if lv >= finest:
            field += randn(rng, shape((sh, sw)))
    field -= field.mean()
    return field / np.float32(field.std() + 1e-6)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """Display (sRGB-like) values to linear, float32."""
    return np.power(np.clip(c, 0.0, 1.0), 2.2).astype(np.float32)


_HUE_BANDS = np.array([[0.02, 0.14], [0.14, 0.4], [0.5, 0.68], [0.0, 1.0]])
_HUE_CDF = np.cumsum([0.45, 0.2, 0.2, 0.15])


def random_colors(rng: np.random.Generator, n: int, sat: tuple[float, float] = (1.2, 3.5),
                  value: tuple[float, float] = (0.15, 0.92), hue: float | None = None,
                  hue_spread: float = 1.0) -> np.ndarray:
    """``n`` natural-looking linear RGB albedos, float32 ``(n, 3)``.

    Hues follow a prior of common surface colours (45 % browns/oranges, 20 % greens, 20 % blues,
    15 % anything); saturation follows Beta(sat) (mostly muted); value is uniform in ``value``
    (display units). ``hue`` fixes a centre hue in [0, 1) with ``hue_spread`` around it.
    """
    if hue is None:
        band = np.searchsorted(_HUE_CDF, rng.random(n) * _HUE_CDF[-1])
        lo, hi = _HUE_BANDS[band, 0], _HUE_BANDS[band, 1]
        h = lo + (hi - lo) * rng.random(n)
    else:
        h = (hue + hue_spread * (rng.random(n) - 0.5)) % 1.0
    s = rng.beta(*sat, size=n)
    v = rng.uniform(*value, size=n)
    rgb = np.array([colorsys.hsv_to_rgb(*c) for c in zip(h.tolist(), s.tolist(), v.tolist())])
    return srgb_to_linear(rgb)


def random_colors_hue(rng: np.random.Generator) -> float:
    """One hue in [0, 1) from the surface-colour prior of :func:`random_colors`."""
    band = int(np.searchsorted(_HUE_CDF, rng.random() * _HUE_CDF[-1]))
    return float(rng.uniform(*_HUE_BANDS[band]))


def palette_map(t: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Map a scalar field ``t`` in [0, 1] through a piecewise-linear palette of ``colors (K, 3)``."""
    k = len(colors)
    pos = np.linspace(0.0, 1.0, k)
    grid = np.linspace(0.0, 1.0, 256)
    lut = np.stack([np.interp(grid, pos, colors[:, c]) for c in range(3)], -1).astype(np.float32)
    idx = np.clip(t * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.take(lut, idx, axis=0)


def _to_unit(x: np.ndarray, rng: np.random.Generator, contrast: float = 1.0) -> np.ndarray:
    """Standardised field -> [0, 1] with a random sigmoid contrast."""
    c = contrast * rng.uniform(0.6, 2.5)
    return (1.0 / (1.0 + np.exp(-c * x))).astype(np.float32)


def tex_fbm(rng, h, w, colors):
    """Fractal noise through a palette: stone, plaster, clouds, dirt."""
    t = _to_unit(fbm(rng, h, w, rng.uniform(1.2, 3.0)), rng)
    return palette_map(t, colors)


def tex_leaves(rng, h, w, colors):
    """Dead-leaves model: occluding discs and boxes with power-law sizes (natural image statistics)."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = colors[0]
    n = int(rng.integers(60, 220))
    rmin, rmax = 1.5, max(h, w) * rng.uniform(0.08, 0.3)
    u = rng.random(n)
    radii = (rmin ** -1.5 + u * (rmax ** -1.5 - rmin ** -1.5)) ** (-1 / 1.5)  # power-law sizes
    radii = np.sort(radii)[::-1]  # big first, so small ones stay visible
    cols = colors[rng.integers(0, len(colors), n)] * rng.uniform(0.6, 1.4, (n, 1))
    xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
    boxes = rng.random(n) < 0.3
    for r, c, x, y, box in zip(radii, cols.tolist(), xs, ys, boxes):
        if box:
            a = rng.uniform(0.3, 1.0)
            cv2.rectangle(img, (int(x - r), int(y - r * a)), (int(x + r), int(y + r * a)), c, -1)
        else:
            cv2.circle(img, (int(x), int(y)), max(1, int(r)), c, -1, cv2.LINE_AA)
    return img


def tex_stripes(rng, h, w, colors):
    """Oriented stripes with turbulence: fabric, siding, fields, sand ripples."""
    yy, xx = pixel_grid(h, w)
    th = rng.uniform(0, np.pi) if rng.random() < 0.5 else rng.choice([0.0, np.pi / 2])
    period = rng.uniform(3.0, max(h, w) / 6)
    warp = rng.uniform(0.0, 1.5) * fbm(rng, h, w, 2.6)
    phase = (xx * np.cos(th) + yy * np.sin(th)) * (2 * np.pi / period) + warp
    t = np.sin(phase) * rng.uniform(1.0, 6.0)
    return palette_map(np.tanh(t) * 0.5 + 0.5, colors)


def tex_bricks(rng, h, w, colors):
    """Bricks or tiles: a running-bond grid with per-brick colour jitter and dark mortar."""
    bh = int(rng.uniform(4, max(6, h / 10)))
    bw = int(bh * rng.uniform(1.0, 3.0))
    rows = np.arange(h) // bh
    off = np.where(rows % 2 == 1, bw // 2, 0) if rng.random() < 0.7 else np.zeros_like(rows)
    cols = (np.arange(w)[None, :] + off[:, None]) // bw
    ids = (rows[:, None] * 7919 + cols * 104729) % 997
    jitter = rng.uniform(0.65, 1.35, (997, 1)).astype(np.float32)
    pick = rng.integers(0, len(colors), 997)
    img = colors[pick][ids] * jitter[ids]
    mortar = ((np.arange(h) % bh) == 0)[:, None] | (((np.arange(w)[None, :] + off[:, None]) % bw) == 0)
    img[mortar] = img[mortar] * 0.35
    return (img * (1.0 + 0.15 * fbm(rng, h, w, 1.5)[..., None])).astype(np.float32)


def tex_wood(rng, h, w, colors):
    """Wood grain: rings stretched along one axis and warped by noise."""
    yy, xx = pixel_grid(h, w)
    cx, cy = rng.uniform(-w, 2 * w), rng.uniform(-h, 2 * h)
    stretch = rng.uniform(3.0, 12.0)
    r = np.sqrt((xx - cx) ** 2 + ((yy - cy) / stretch) ** 2) if rng.random() < 0.5 else \
        np.sqrt(((xx - cx) / stretch) ** 2 + (yy - cy) ** 2)
    r = r + rng.uniform(2, 10) * fbm(rng, h, w, 2.2)
    t = 0.5 + 0.5 * np.sin(r * (2 * np.pi / rng.uniform(3, 14)))
    return palette_map(t ** rng.uniform(0.5, 3.0), colors)


def tex_foliage(rng, h, w, colors):
    """Grass or foliage: fine high-contrast noise smeared along one direction."""
    n = rng.standard_normal((h, w)).astype(np.float32)
    k = int(rng.integers(3, 12))
    n = cv2.blur(n, (1, k)) if rng.random() < 0.6 else cv2.GaussianBlur(n, (0, 0), rng.uniform(0.7, 2.0))
    n = n / (n.std() + 1e-6) + 0.8 * fbm(rng, h, w, 2.0)
    return palette_map(_to_unit(n, rng, 1.3), colors)


def tex_cells(rng, h, w, colors):
    """Cobbles / stones: Voronoi cells with dark joints, via a distance transform."""
    n = int(rng.integers(20, 160))
    seeds = np.full((h, w), 255, np.uint8)
    pts = np.stack([rng.integers(0, h, n), rng.integers(0, w, n)], 1)
    seeds[pts[:, 0], pts[:, 1]] = 0
    dist, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    cell = colors[rng.integers(0, len(colors), n + 2)] * rng.uniform(0.6, 1.3, (n + 2, 1))
    img = cell[np.minimum(labels, n + 1)].astype(np.float32)
    edge = cv2.Laplacian(labels.astype(np.float32), cv2.CV_32F) != 0
    img[cv2.dilate(edge.astype(np.uint8), None) > 0] *= 0.3
    return (img * (1.0 + 0.2 * fbm(rng, h, w, 1.8)[..., None])).astype(np.float32)


TEXTURES = {
    "fbm": tex_fbm, "leaves": tex_leaves, "stripes": tex_stripes, "bricks": tex_bricks,
    "wood": tex_wood, "foliage": tex_foliage, "cells": tex_cells,
}


def random_texture(rng: np.random.Generator, h: int, w: int, kind: str | None = None,
                   colors: np.ndarray | None = None) -> np.ndarray:
    """One albedo map ``(H, W, 3)`` of a random (or given) kind, with fine grain added."""
    kind = kind or str(rng.choice(list(TEXTURES)))
    if colors is None:  # mostly one hue family with varied value; sometimes a second hue
        k = int(rng.integers(2, 5))
        base_hue = float(random_colors_hue(rng))
        colors = random_colors(rng, k, value=(0.1, 0.9), hue=base_hue, hue_spread=rng.uniform(0.02, 0.15))
        if rng.random() < 0.3:
            colors[int(rng.integers(0, k))] = random_colors(rng, 1)[0]
    img = TEXTURES[kind](rng, h, w, colors)
    grain = rng.uniform(0.0, 0.25)
    if grain > 0.02:
        fine = cv2.GaussianBlur(randn(rng, (h, w)), (0, 0), rng.uniform(0.5, 1.2))
        img = img * (1.0 + grain * np.clip(fine / (fine.std() + 1e-6), -2.5, 2.5))[..., None]
    return np.clip(img, 0.005, 0.95).astype(np.float32)


BANK_SIZE = 256
BANK_PER_KIND = 32
_BANK: dict[tuple[str, int], np.ndarray] = {}
_KIND_IDS = {k: i for i, k in enumerate(TEXTURES)}
_KINDS = list(TEXTURES)
_DECODE = (np.arange(256, dtype=np.float32) / np.float32(255.0)) ** 2


def bank_texture(kind: str, index: int) -> np.ndarray:
    """Base texture ``index`` of ``kind``: uint8 ``(256, 256, 3)`` storing sqrt(albedo) (~200 KB)."""
    key = (kind, int(index))
    tex = _BANK.get(key)
    if tex is None:
        rng = np.random.default_rng([0x7E47, _KIND_IDS[kind], int(index)])
        t = random_texture(rng, BANK_SIZE, BANK_SIZE, kind)
        tex = cv2.convertScaleAbs(cv2.sqrt(t), alpha=255.0)
        _BANK[key] = tex
    return tex


def _color_matrix(hue: float, sat: float, tint: np.ndarray) -> np.ndarray:
    """3x3 linear-RGB transform: rotate hue by ``hue`` turns about grey, scale saturation, tint."""
    c, s = np.cos(2 * np.pi * hue), np.sin(2 * np.pi * hue)
    k = 1.0 / 3.0
    q = np.sqrt(k)
    rot = np.array([[c + (1 - c) * k, k * (1 - c) - q * s, k * (1 - c) + q * s],
                    [k * (1 - c) + q * s, c + k * (1 - c), k * (1 - c) - q * s],
                    [k * (1 - c) - q * s, k * (1 - c) + q * s, c + k * (1 - c)]])
    grey = np.full((3, 3), k)
    return (np.diag(tint) @ (sat * rot + (1 - sat) * grey)).astype(np.float32)


def sample_texture(rng: np.random.Generator, h: int, w: int, kind: str | None = None,
                   tint=None, sat: float | None = None) -> np.ndarray:
    """A varied albedo map ``(H, W, 3)`` from the bank (see the module docstring).

    Args:
        kind: texture kind (a key of :data:`TEXTURES`), random when None.
        tint: linear RGB colour to multiply in (mean about 1 keeps brightness); None for a
            random hue rotation of the base texture's own colours.
        sat: saturation scale applied before tinting; default random (about 0.3 when tinted).
    """
    kind = kind or _KINDS[int(rng.integers(0, len(_KINDS)))]
    base = bank_texture(kind, int(rng.integers(0, BANK_PER_KIND)))
    zoom = 2.0 ** rng.uniform(-0.5, 1.0) * max(h, w) / BANK_SIZE
    if rng.random() < 0.15:  # free rotation (mirror-tiled where it runs out of texture)
        ang = float(rng.choice([0.0, 90.0, 180.0, 270.0])) + rng.normal(0, 15)
        m = cv2.getRotationMatrix2D((BANK_SIZE / 2, BANK_SIZE / 2), ang, zoom)
        m[:, 2] += np.array([w / 2, h / 2]) - BANK_SIZE / 2 + rng.uniform(-0.5, 0.5, 2) * BANK_SIZE * zoom
        u8 = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    else:  # quarter turns, a flip, a zoom and a crop: much cheaper than a general warp
        k = int(rng.integers(0, 4))
        img = cv2.rotate(base, (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)[k - 1]) if k else base
        if rng.random() < 0.5:
            img = cv2.flip(img, 1)
        sw, sh = w / zoom, h / zoom  # source window in bank pixels
        if sw <= BANK_SIZE and sh <= BANK_SIZE:  # crop, then scale up
            x0, y0 = rng.uniform(0, BANK_SIZE - sw), rng.uniform(0, BANK_SIZE - sh)
            crop = img[int(y0):min(BANK_SIZE, int(np.ceil(y0 + sh))), int(x0):min(BANK_SIZE, int(np.ceil(x0 + sw)))]
            u8 = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
        else:  # zoomed out: shrink the whole texture and mirror-tile it
            side = max(2, int(round(BANK_SIZE * zoom)))
            # INTER_AREA only for strong shrinks: at mild non-integer ratios it is ~5x slower
            img = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA if zoom < 0.7 else cv2.INTER_LINEAR)
            img = cv2.copyMakeBorder(img, 0, max(0, h - side), 0, max(0, w - side), cv2.BORDER_REFLECT_101)
            y0 = int(rng.integers(0, img.shape[0] - h + 1))
            x0 = int(rng.integers(0, img.shape[1] - w + 1))
            u8 = img[y0:y0 + h, x0:x0 + w]
    img = cv2.LUT(u8, _DECODE)  # stored sqrt(albedo) -> albedo
    if tint is None:
        hue = rng.normal(0.0, 0.05) if rng.random() < 0.9 else rng.uniform(-0.5, 0.5)
        sat = sat if sat is not None else rng.uniform(0.4, 1.1)
        t = np.exp(rng.normal(0.0, 0.25, 3)) * rng.uniform(0.6, 1.4)
    else:
        hue, sat = 0.0, sat if sat is not None else rng.uniform(0.15, 0.45)
        t = np.asarray(tint, np.float64)
    img = cv2.transform(img, _color_matrix(hue, sat, t))
    return np.clip(img, 0.005, 0.95, out=img)


def warm_bank() -> int:
    """Generate every bank texture now (a few seconds) instead of on first use; returns the count."""
    for kind in TEXTURES:
        for j in range(BANK_PER_KIND):
            bank_texture(kind, j)
    return len(_BANK)
