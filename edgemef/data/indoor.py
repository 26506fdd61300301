"""Interior scenes (a room with bright windows and lamps) and abstract clutter scenes."""
from __future__ import annotations

import numpy as np

from edgemef.data.canvas import Canvas
from edgemef.data.fastops import mul_map
from edgemef.data.outdoor import outdoor_scene, texture
from edgemef.data.sky import haze
from edgemef.data.textures import random_colors


def _tint(rng, value=(0.35, 0.95)) -> np.ndarray:
    """A muted multiplicative colour, mean about 1."""
    return random_colors(rng, 1, sat=(1.0, 5.0), value=value)[0] / np.float32(0.45)


def add_window(rng, c: Canvas, x0, y0, x1, y1, brightness, mode=None):
    """A window onto an outdoor view ``brightness`` times brighter than the room, with mullions."""
    h, w = c.h, c.w
    x0, y0, x1, y1 = (int(round(v)) for v in (x0, y0, x1, y1))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 6 or y1 - y0 < 6:
        return
    view = outdoor_scene(rng, y1 - y0, x1 - x0, mode).render()
    view *= np.float32(brightness / max(float(np.median(view[::2, ::2])), 1e-6))
    src = np.zeros((h, w, 3), np.float32)
    src[y0:y1, x0:x1] = view
    c.rect(x0, y0, x1, y1, c.obj(c.source(src), emissive=True))
    frame = c.obj(0, _tint(rng, (0.1, 0.9)), rng.uniform(0.3, 1.0))
    t = max(1.0, c.scale * rng.uniform(1.0, 3.0))
    for x in np.linspace(x0, x1, int(rng.integers(2, 5))):
        c.rect(x - t, y0, x + t, y1, frame)
    for y in np.linspace(y0, y1, int(rng.integers(2, 5))):
        c.rect(x0, y - t, x1, y + t, frame)
    return (x0, y0, x1, y1)


def add_lamp(rng, c: Canvas, x, y, size):
    """A table/floor lamp: very bright bulb, translucent glowing shade, light pool around it."""
    col = random_colors(rng, 1, sat=(1.5, 4), value=(0.9, 1.0), hue=0.09, hue_spread=0.1)[0]
    bulb = 10 ** rng.uniform(2.5, 4.0)
    c.rect(x - size * 0.05, y, x + size * 0.05, y + size * 1.2, c.obj(0, _tint(rng, (0.05, 0.3)), 1.0))
    if rng.random() < 0.6:
        shade = c.texture(rng, str(rng.choice(["fbm", "stripes", "wood"])))
        c.poly(np.array([[x - size * 0.3, y - size * 0.35], [x + size * 0.3, y - size * 0.35],
                         [x + size * 0.5, y + size * 0.1], [x - size * 0.5, y + size * 0.1]]),
               c.obj(shade, col, bulb * rng.uniform(0.003, 0.03), emissive=True))
        c.ellipse(x, y + size * 0.12, size * 0.25, size * 0.05, c.obj(0, col, bulb, emissive=True))
    else:
        c.ellipse(x, y, size * 0.15, size * 0.2, c.obj(0, col, bulb, emissive=True))
    c.pool(x, y, size * rng.uniform(1.0, 3.0), bulb * rng.uniform(0.001, 0.01))


def add_furniture(rng, c: Canvas, floor_y, level):
    """A piece of furniture or wall decoration: table, shelf of books, picture, sofa, box."""
    h, w, s = c.h, c.w, c.scale
    kind = rng.choice(["table", "books", "picture", "sofa", "box"])
    x = rng.uniform(-0.1, 0.9) * w
    fw = w * rng.uniform(0.1, 0.4)
    src = c.texture(rng, "stripes" if kind == "books" else str(rng.choice(["wood", "fbm", "leaves", "stripes", "cells"])),
                    sat=rng.uniform(1.2, 2.0) if kind in ("books", "picture") else None,
                    reuse=0.0 if kind in ("books", "picture") else 0.5)
    lv = level * rng.uniform(0.2, 1.0)
    if kind == "picture":
        y = floor_y * rng.uniform(0.1, 0.5)
        fh = fw * rng.uniform(0.5, 1.2)
        c.rect(x - 2 * s, y - 2 * s, x + fw + 2 * s, y + fh + 2 * s, c.obj(0, _tint(rng), lv * 0.6))
        c.rect(x, y, x + fw, y + fh, c.obj(src, level=lv))
        return
    fh = h * rng.uniform(0.1, 0.5)
    base = floor_y + (h - floor_y) * rng.uniform(0.1, 0.9)
    oid = c.obj(src, _tint(rng) if kind != "books" else (1, 1, 1), lv)
    if kind == "table":
        top = base - fh * 0.6
        c.rect(x, top, x + fw, top + 4 * s, oid)
        for lx in (x + 2 * s, x + fw - 5 * s):
            c.rect(lx, top, lx + 3 * s, base, c.obj(src, level=lv * 0.5))
        c.shadow(np.array([[x, base - 2 * s], [x + fw, base - 2 * s], [x + fw + 6 * s, base + 4 * s], [x + 6 * s, base + 4 * s]]),
                 rng.uniform(0.1, 0.5), 3 * s)
    elif kind == "sofa":
        c.rect(x, base - fh * 0.6, x + fw, base, oid)
        c.ellipse(x, base - fh * 0.5, fw * 0.08, fh * 0.3, oid)
        c.ellipse(x + fw, base - fh * 0.5, fw * 0.08, fh * 0.3, oid)
    else:
        c.rect(x, base - fh, x + fw, base, oid)
        if kind == "books":
            for k in range(1, int(rng.integers(2, 5))):
                c.rect(x, base - fh * k / 4, x + fw, base - fh * k / 4 + 2 * s, c.obj(0, _tint(rng, (0.1, 0.4)), lv))


def interior_scene(rng: np.random.Generator, h: int, w: int) -> Canvas:
    """A room in perspective: walls, floor, ceiling, 0-2 windows, 0-3 lamps, furniture."""
    c = Canvas(h, w)
    bx0, bx1 = w * rng.uniform(0.05, 0.4), w * rng.uniform(0.6, 0.95)
    by0, by1 = h * rng.uniform(0.0, 0.3), h * rng.uniform(0.55, 0.85)
    wall = c.source(mul_map(texture(rng, h, w, str(rng.choice(["fbm", "stripes", "bricks", "wood", "fbm"]))), haze(rng, h, w)))
    floor = c.source(texture(rng, h, w, str(rng.choice(["wood", "cells", "bricks", "fbm", "leaves"]))))
    wt = _tint(rng, (0.5, 0.95))
    c.background(wall, wt, 1.0)
    c.poly(np.array([[0, 0], [bx0, by0], [bx0, by1], [0, h]]), c.obj(wall, wt, rng.uniform(0.3, 1.2)))
    c.poly(np.array([[w, 0], [bx1, by0], [bx1, by1], [w, h]]), c.obj(wall, wt, rng.uniform(0.3, 1.2)))
    c.poly(np.array([[0, 0], [w, 0], [bx1, by0], [bx0, by0]]), c.obj(wall, wt * 1.1, rng.uniform(0.3, 0.8)))
    c.poly(np.array([[0, h], [bx0, by1], [bx1, by1], [w, h]]), c.obj(floor, _tint(rng), rng.uniform(0.4, 1.0)))
    c.light *= np.float32(rng.uniform(0.05, 1.0))  # overall room light level (1 = lit room)
    bright = 10 ** rng.uniform(1.3, 3.0)
    mode = str(rng.choice(["day", "day", "sunset", "overcast"]))
    for _ in range(int(rng.choice([0, 1, 1, 1, 2]))):
        ww, wh = (bx1 - bx0) * rng.uniform(0.2, 0.6), (by1 - by0) * rng.uniform(0.3, 0.8)
        wx, wy = rng.uniform(bx0, bx1 - ww), rng.uniform(by0, by1 - wh)
        box = add_window(rng, c, wx, wy, wx + ww, wy + wh, bright, mode)
        if box is None:
            continue
        c.pool((box[0] + box[2]) / 2, box[3] + (h - box[3]) * 0.3, ww * rng.uniform(0.5, 1.5), bright * rng.uniform(0.002, 0.015),
               squash=rng.uniform(1.0, 2.0))  # daylight spilling onto the floor below the window
        if mode != "overcast" and rng.random() < 0.6:  # sunlight patch on the floor
            dx = (box[2] - box[0]) * rng.uniform(-1.0, 1.0)
            top, bot = by1 + (h - by1) * rng.uniform(0.05, 0.4), by1 + (h - by1) * rng.uniform(0.5, 1.2)
            c.shadow(np.array([[box[0] + dx, top], [box[2] + dx, top], [box[2] + 2 * dx, bot], [box[0] + 2 * dx, bot]]),
                     bright * rng.uniform(0.05, 0.4), 2.0 * c.scale)
    for _ in range(int(rng.integers(1, 6))):
        add_furniture(rng, c, by1, 1.0)
    for _ in range(int(rng.choice([0, 0, 1, 1, 2, 3]))):
        add_lamp(rng, c, rng.uniform(0.05, 0.95) * w, rng.uniform(0.2, 0.8) * h, h * rng.uniform(0.08, 0.2))
    return c


def clutter_scene(rng: np.random.Generator, h: int, w: int) -> Canvas:
    """Dead-leaves arrangement of textured shapes at many scales under uneven light, with emitters."""
    c = Canvas(h, w)
    bank = [c.texture(rng, reuse=0.0) for _ in range(int(rng.integers(3, 6)))]
    c.background(int(rng.choice(bank)), _tint(rng), 1.0)
    n = int(rng.integers(10, 50))
    sizes = np.sort(max(h, w) * 0.5 * rng.uniform(0.03, 1.0, n) ** 2)[::-1]
    for r in sizes:
        oid = c.obj(int(rng.choice(bank)), _tint(rng), 10 ** rng.uniform(-1.0, 0.5))
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        shape = rng.integers(0, 3)
        if shape == 0:
            c.ellipse(x, y, r, r * rng.uniform(0.3, 1.0), oid, rng.uniform(0, 180))
        elif shape == 1:
            a = rng.uniform(0, np.pi)
            d = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) * [[r], [r * rng.uniform(0.2, 1.0)]]
            c.poly(np.array([[x, y]]) + np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) @ d, oid)
        else:
            k = int(rng.integers(3, 9))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = r * rng.uniform(0.4, 1.0, k)
            c.poly(np.stack([x + rad * np.cos(ang), y + rad * np.sin(ang)], 1), oid)
    for _ in range(int(rng.integers(0, 4))):  # cast shadows
        k = int(rng.integers(3, 7))
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), max(h, w) * rng.uniform(0.1, 0.6)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        c.shadow(np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1), 10 ** rng.uniform(-1.7, -0.5),
                 rng.uniform(0.5, 6.0) * c.scale)
    for _ in range(int(rng.integers(1, 4))):
        c.pool(rng.uniform(0, w), rng.uniform(0, h), max(h, w) * rng.uniform(0.05, 0.4), 10 ** rng.uniform(0, 1.5))
    for _ in range(int(rng.integers(1, 4))):  # emitters: lamps, screens, bright patches
        col = random_colors(rng, 1, value=(0.8, 1.0))[0]
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), c.scale * rng.uniform(2, 25)
        if rng.random() < 0.5:
            c.ellipse(x, y, r, r * rng.uniform(0.5, 1.0), c.obj(0, col, 10 ** rng.uniform(2.0, 4.0), emissive=True))
        else:
            c.rect(x, y, x + r * 2, y + r * rng.uniform(0.5, 2), c.obj(int(rng.choice(bank)), col, 10 ** rng.uniform(1.5, 3.0), emissive=True))
    return c
