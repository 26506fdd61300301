"""Outdoor scenes (landscape / street by day, sunset, overcast) and night scenes, as radiance."""
from __future__ import annotations

import cv2
import numpy as np

from edgemef.data.canvas import Canvas
from edgemef.data.sky import add_stars, haze, render_sky
from edgemef.data.fastops import expand3, mul_map, pixel_grid, scale_channels
from edgemef.data.textures import fbm, random_colors, sample_texture


def texture(rng, h, w, kind=None, tint=None, sat=None) -> np.ndarray:
    """A random albedo map ``(H, W, 3)`` (see :func:`edgemef.data.textures.sample_texture`)."""
    return sample_texture(rng, h, w, kind, tint, sat)


def _reflect(u: np.ndarray, n: int) -> np.ndarray:
    """Mirror-tile coordinates into [0, n - 1] (float32)."""
    m = np.mod(u, np.float32(2 * (n - 1)))
    m -= np.float32(n - 1)
    return np.float32(n - 1) - np.abs(m)


def ground_plane(rng, h, w, horizon, tex, haze_color) -> np.ndarray:
    """Project an albedo texture onto a ground plane seen from eye height, fading into haze.

    Returns a source image ``(H, W, 3)``; rows above ``horizon`` are left black.
    """
    th, tw = tex.shape[:2]
    out = np.zeros((h, w, 3), np.float32)
    y0 = int(np.clip(np.floor(horizon), 0, h))
    if y0 >= h:
        return out
    yy, xx = pixel_grid(h, w)
    dy = np.maximum(yy[y0:] - np.float32(horizon), 0.5)
    bottom = max(h - horizon, 4.0)
    k = bottom / rng.uniform(0.6, 2.0)  # texels per pixel near the bottom edge
    depth = np.float32(k) / dy
    mx = _reflect((xx[y0:] - np.float32(w / 2)) * depth + np.float32(rng.uniform(0, tw)), tw)
    my = _reflect(depth * np.float32(bottom * rng.uniform(0.5, 1.5)) + np.float32(rng.uniform(0, th)), th)
    img = cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    fog = np.exp(dy * np.float32(-1.0 / (bottom * rng.uniform(0.05, 0.3))))
    img *= expand3(1.0 - fog)
    img += scale_channels(expand3(fog), haze_color)
    out[y0:] = img
    return out


def ridge(rng, w, y0, amp) -> np.ndarray:
    """A mountain/hill/treeline profile: y per column."""
    line = fbm(rng, 8, w, rng.uniform(2.2, 3.4))[4]
    return y0 - amp * (line - line.min()) / (np.ptp(line) + 1e-6)


def add_mountains(rng, c: Canvas, sky, horizon, light):
    """1-3 ridge layers sharing one texture; far ones hazier (tinted towards the horizon colour
    and brighter, a multiplicative stand-in for aerial perspective), near ones darker."""
    h, w = c.h, c.w
    n = int(rng.integers(1, 4))
    tint = random_colors(rng, 1, value=(0.5, 0.9), hue=rng.choice([0.3, 0.1, 0.6]), hue_spread=0.2)[0] * 1.5
    src = c.source(texture(rng, h, w, str(rng.choice(["fbm", "foliage", "cells"])), tint))
    albedo = float(np.mean(tint)) * 0.2 + 1e-3  # typical albedo of the tinted texture
    for i in range(n):
        amp = h * rng.uniform(0.05, 0.3) * (0.6 + 0.4 * (n - i) / n)
        line = ridge(rng, w, horizon + 1, amp)
        pts = np.concatenate([np.stack([np.arange(w), line], 1), [[w - 1, h], [0, h]]])
        hz = rng.uniform(0.3, 0.8) * (n - i) / n
        coef = light * (1 - hz) + sky.horizon_color * np.float32(hz / albedo)
        c.poly(pts, c.obj(src, coef, emissive=True))


def add_building(rng, c: Canvas, x0, base, bw, bh, light, shade, night=False, sky_level=1.0):
    """A building: textured facade, shaded side face, roof, window grid (lit at night)."""
    s = c.scale
    tex = c.texture(rng, str(rng.choice(["bricks", "stripes", "fbm", "cells", "wood"])))
    tint = random_colors(rng, 1, value=(0.4, 0.95))[0] / 0.5
    front = c.obj(tex, tint, light * rng.uniform(0.5, 1.0))
    c.rect(x0, base - bh, x0 + bw, base, front)
    side_w = bw * rng.uniform(0.0, 0.4)
    if side_w > 2:
        sx = x0 + bw if rng.random() < 0.5 else x0 - side_w
        lift = side_w * 0.4
        top_near, top_far = base - bh, base - bh + (lift if sx > x0 else lift)
        pts = np.array([[sx, top_far], [sx + side_w, top_near if sx < x0 else top_far], [sx + side_w, base], [sx, base]])
        c.poly(pts, c.obj(tex, tint, light * shade))
    if rng.random() < 0.4:  # pitched roof
        rh = bh * rng.uniform(0.1, 0.35)
        c.poly(np.array([[x0 - 2 * s, base - bh], [x0 + bw / 2, base - bh - rh], [x0 + bw + 2 * s, base - bh]]),
               c.obj(0, random_colors(rng, 1, value=(0.1, 0.5))[0], light * rng.uniform(0.3, 1.0)))
    rows, cols = int(bh / (rng.uniform(8, 20) * s)), int(bw / (rng.uniform(6, 16) * s))
    if rows < 1 or cols < 1 or rng.random() < 0.15:
        return
    cw, ch = bw / cols, bh / rows
    fw, fh = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
    glass = c.obj(0, random_colors(rng, 1, value=(0.3, 0.7))[0], sky_level * rng.uniform(0.05, 0.5), emissive=True)
    lit_frac = rng.uniform(0.2, 0.8) if night else 0.0
    warm = [c.obj(0, col, 10 ** rng.uniform(1.0, 2.4), emissive=True)
            for col in random_colors(rng, 3, sat=(2, 3), value=(0.8, 1.0), hue=0.1, hue_spread=0.15)]
    for r in range(rows):
        for k in range(cols):
            oid = warm[int(rng.integers(0, 3))] if rng.random() < lit_frac else glass
            wx, wy = x0 + k * cw + cw * (1 - fw) / 2, base - bh + r * ch + ch * (1 - fh) / 2
            c.rect(wx, wy, wx + cw * fw, wy + ch * fh, oid)


def foliage_source(rng, c: Canvas) -> int:
    """A green foliage texture for tree crowns."""
    green = random_colors(rng, 1, sat=(3, 2), value=(0.5, 0.9), hue=rng.uniform(0.17, 0.4), hue_spread=0.1)[0] * 1.5
    return c.source(texture(rng, c.h, c.w, "foliage", green, 0.5))


def add_tree(rng, c: Canvas, x, base, size, light, sun_dx, src):
    """A tree: trunk and a ragged, leafy crown (texture ``src``), lit on the sun side."""
    s = size
    c.rect(x - s * 0.05, base - s * 0.9, x + s * 0.05, base,
           c.obj(0, random_colors(rng, 1, value=(0.1, 0.35), hue=0.08, hue_spread=0.1)[0], light * 0.5))
    tint = np.exp(rng.normal(0, 0.15, 3))
    lit, dark = c.obj(src, tint, light * rng.uniform(0.5, 1.0)), c.obj(src, tint, light * rng.uniform(0.08, 0.3))
    cy, rx, ry = base - s * rng.uniform(0.9, 1.3), s * rng.uniform(0.35, 0.7), s * rng.uniform(0.35, 0.6)
    x0, x1 = int(max(0, x - 1.6 * rx)), int(min(c.w, x + 1.6 * rx + 1))
    y0, y1 = int(max(0, cy - 1.6 * ry)), int(min(c.h, cy + 1.6 * ry + 1))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u, v = (xx - np.float32(x)) / np.float32(rx), (yy - np.float32(cy)) / np.float32(ry)
    edge = fbm(rng, y1 - y0, x1 - x0, rng.uniform(1.0, 2.2))
    crown = u * u + v * v + np.float32(rng.uniform(0.2, 0.5)) * edge < 1.0
    shade = u * np.float32(sun_dx) - v * np.float32(0.7) + np.float32(0.4) * edge
    region = c.ids[y0:y1, x0:x1]
    region[crown & (shade > rng.uniform(-0.5, 0.1))] = lit
    region[crown & (shade <= rng.uniform(-0.5, 0.1))] = dark


def add_frame(rng, c: Canvas, level):
    """A dark foreground surround (cave mouth, arch, doorway) around a bright opening."""
    h, w = c.h, c.w
    yy, xx = c.grid()
    cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.6)
    rx, ry = w * rng.uniform(0.25, 0.5), h * rng.uniform(0.3, 0.6)
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    if rng.random() < 0.5:  # arch / doorway: straight sides below the centre
        d = np.where(yy > cy, ((xx - cx) / rx) ** 2, d)
    else:  # cave: ragged edge
        d = d + 0.4 * fbm(rng, h, w, 2.4)
    src = c.texture(rng, str(rng.choice(["cells", "fbm", "bricks", "wood"])))
    c.mask(d > 1.0, c.obj(src, level=level))
    c.pool(cx, cy + ry, rx, rng.uniform(0.5, 4.0))  # light spilling in through the opening


def outdoor_scene(rng: np.random.Generator, h: int, w: int, mode: str | None = None) -> Canvas:
    """Sky, optional mountains, textured ground or water, buildings, trees, maybe a dark surround."""
    c = Canvas(h, w)
    mode = mode or str(rng.choice(["day", "day", "sunset", "overcast", "dusk"]))
    horizon = h * rng.uniform(0.25, 0.75)
    sky = render_sky(rng, h, w, horizon, mode)
    c.background(c.source(sky.image), emissive=True)
    sunny = sky.sun is not None and mode in ("day", "sunset")
    light = sky.level * (rng.uniform(1.5, 5.0) if sunny else rng.uniform(0.3, 1.0))
    shade = rng.uniform(0.04, 0.3) if sunny else rng.uniform(0.3, 0.7)
    sun_dx = np.sign((sky.sun[0] if sky.sun else w / 2) - w / 2) or 1.0
    if rng.random() < 0.6:
        add_mountains(rng, c, sky, horizon, light * 0.6)
    if rng.random() < 0.2:  # water mirroring the sky
        hz = int(horizon)
        ripple = cv2.resize(fbm(rng, max(4, (h - hz) // 4 + 1), w // 2 + 1, 2.0), (w, max(1, h - hz)))
        mx = (np.arange(w, dtype=np.float32)[None] + ripple * rng.uniform(0.5, 4.0)).astype(np.float32)
        my = np.clip(2 * hz - np.arange(hz, h, dtype=np.float32)[:, None] + ripple * 2, 0, h - 1).astype(np.float32)
        water = np.zeros((h, w, 3), np.float32)
        water[hz:] = cv2.remap(sky.image, mx, np.broadcast_to(my, mx.shape).copy(), cv2.INTER_LINEAR) * rng.uniform(0.3, 0.8)
        c.rect(0, horizon, w, h, c.obj(c.source(water), emissive=True))
        shore = horizon + (h - horizon) * rng.uniform(0.4, 1.2)
    else:
        shore = horizon
    kind = str(rng.choice(["foliage", "fbm", "cells", "stripes", "leaves", "bricks"]))
    gtex = texture(rng, 192, 192, kind)
    gsrc = c.source(ground_plane(rng, h, w, shore, gtex, sky.horizon_color / max(light, 1e-6)))
    c.rect(0, shore, w, h, c.obj(gsrc, level=light))
    objs = []
    for _ in range(int(rng.integers(0, 6))):
        objs.append(("b", horizon + (h - horizon) * rng.uniform(0.0, 0.5)))
    for _ in range(int(rng.integers(0, 5))):
        objs.append(("t", horizon + (h - horizon) * rng.uniform(0.0, 0.9)))
    leaves = foliage_source(rng, c) if any(o[0] == "t" for o in objs) else 0
    for kind_, base in sorted(objs, key=lambda o: o[1]):
        near = (base - horizon) / max(h - horizon, 1) + 0.3
        if kind_ == "b":
            bw, bh = w * rng.uniform(0.08, 0.4) * near, h * rng.uniform(0.1, 0.6) * near
            x0 = rng.uniform(-0.1, 0.95) * w
            add_building(rng, c, x0, base, bw, bh, light, shade, sky_level=sky.level)
            if sunny:
                c.shadow(np.array([[x0, base], [x0 + bw, base], [x0 + bw - sun_dx * bw * 0.8, base + bh * 0.25],
                                   [x0 - sun_dx * bw * 0.8, base + bh * 0.25]]), shade, 1.5 * c.scale)
        else:
            add_tree(rng, c, rng.uniform(0, w), base, h * rng.uniform(0.08, 0.35) * near, light, sun_dx, leaves)
    if rng.random() < 0.25:
        add_frame(rng, c, light * rng.uniform(0.005, 0.08))
    return c


def night_scene(rng: np.random.Generator, h: int, w: int) -> Canvas:
    """A night or dusk street: dark sky, buildings with lit windows, street lamps and their pools."""
    c = Canvas(h, w)
    mode = "night" if rng.random() < 0.6 else "dusk"
    horizon = h * rng.uniform(0.45, 0.85)
    sky = render_sky(rng, h, w, horizon, mode)
    if mode == "night":
        add_stars(rng, sky.image, horizon, 30.0)
    c.background(c.source(sky.image * np.float32(rng.uniform(0.5, 3.0))), emissive=True)
    amb = 1.0
    c.light *= np.float32(rng.uniform(0.02, 0.3))  # ambient moon/sky light on surfaces
    gsrc = c.source(mul_map(texture(rng, h, w, str(rng.choice(["fbm", "cells", "bricks"]))), haze(rng, h, w)))
    c.rect(0, horizon, w, h, c.obj(gsrc, level=amb))
    for _ in range(int(rng.integers(2, 8))):
        base = horizon + (h - horizon) * rng.uniform(0.0, 0.3)
        bw, bh = w * rng.uniform(0.1, 0.4), h * rng.uniform(0.15, 0.7)
        add_building(rng, c, rng.uniform(-0.1, 0.95) * w, base, bw, bh, amb, rng.uniform(0.2, 0.6), True, sky.level)
    if rng.random() < 0.5:  # neon sign
        sx, sy = rng.uniform(0, 0.8) * w, horizon - h * rng.uniform(0.05, 0.3)
        col = random_colors(rng, 1, sat=(5, 1), value=(0.8, 1.0))[0]
        c.rect(sx, sy, sx + w * rng.uniform(0.1, 0.3), sy + h * rng.uniform(0.03, 0.08),
               c.obj(c.source(texture(rng, h, w, "stripes", col * 1.5, 0.0)), level=10 ** rng.uniform(1.5, 2.5), emissive=True))
    for _ in range(int(rng.integers(1, 5))):
        lx, ly = rng.uniform(0, w), horizon - h * rng.uniform(-0.1, 0.35)
        col = random_colors(rng, 1, sat=(2, 3), value=(0.9, 1.0), hue=0.1, hue_spread=0.2)[0]
        c.rect(lx - c.scale, ly, lx + c.scale, h if rng.random() < 0.3 else ly + (h - ly) * 0.6, c.obj(0, (0.05, 0.05, 0.05)))
        r = rng.uniform(1.5, 4.0) * c.scale
        c.ellipse(lx, ly, r, r * 0.8, c.obj(0, col, 10 ** rng.uniform(3.0, 4.3), emissive=True))
        c.pool(lx, ly + (h - ly) * 0.6, h * rng.uniform(0.04, 0.12), 10 ** rng.uniform(0.5, 1.5), squash=rng.uniform(1.0, 2.5))
    return c
