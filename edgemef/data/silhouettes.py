"""Foreground objects for dynamic-scene synthesis: articulated figures and user cut-outs.

No set of human cut-outs can be downloaded here, so :func:`render_figure` draws person-like
figures: a head, a torso and two-segment arms and legs at random joint angles (a walking gait
phase, sometimes a raised arm), with skin, hair, clothes (solid, striped, checked or noisy
fabric), sometimes a skirt or a bag. Parts are drawn as polygons, ellipses and thick lines into
a part-id map at 4x the output size and area-downsampled, which gives an anti-aliased alpha.

:class:`CutoutSource` uses the user's own RGBA PNG cut-outs instead (:func:`load_cutouts`).
Every figure is a :class:`Figure`: display-referred RGB in [0, 1] plus alpha in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgemef.errors import EdgemefError

SS = 4  # supersampling factor of the part-id map
SKIN = np.array([[0.96, 0.80, 0.69], [0.88, 0.68, 0.53], [0.76, 0.55, 0.40], [0.55, 0.37, 0.25],
                 [0.36, 0.23, 0.15]], np.float32)
HAIR = np.array([[0.08, 0.06, 0.05], [0.30, 0.18, 0.09], [0.65, 0.50, 0.28], [0.62, 0.62, 0.60]], np.float32)
# part ids: materials 1..8; +16 marks the far side (drawn darker)
HEAD, HAIR_ID, SHIRT, HANDS, PANTS, SHOES, SKIRT, BAG = range(1, 9)
FAR = 16


@dataclass
class Figure:
    """A foreground object: ``rgb`` float32 ``(h, w, 3)`` display values, ``alpha`` ``(h, w)``."""

    rgb: np.ndarray
    alpha: np.ndarray


@dataclass
class FigureSpec:
    """Body proportions, pose, clothes and colours of one figure (all in figure-height units)."""

    head: float
    shoulder: float
    hip_y: float
    shoulder_w: float
    hip_w: float
    limbs: tuple[float, float, float, float]  # upper arm, forearm, arm thickness, leg thickness
    gait: tuple[float, float, float]          # leg swing, arm swing, knee bend (radians)
    raised: float | None                      # angle of a raised near arm, or None
    colors: dict[int, tuple[np.ndarray, np.ndarray]]
    patterns: dict[int, tuple[str, float, float]]  # material -> (kind, period, angle)
    long_sleeves: bool
    skirt: bool
    bag: bool
    flip: bool
    seed: int = 0


def _rand_color(rng: np.random.Generator) -> np.ndarray:
    import colorsys

    h, s, v = rng.random(), rng.beta(1.2, 2.0), rng.uniform(0.12, 0.95)
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32)


def random_spec(rng: np.random.Generator) -> FigureSpec:
    """Draw a figure: proportions, gait amplitudes, clothes, patterns and colours."""
    head = rng.uniform(0.055, 0.07)
    shoulder = 2.0 * head + rng.uniform(0.03, 0.05)
    colors, patterns = {}, {}
    for m in (SHIRT, PANTS, SKIRT, BAG, SHOES):
        c1 = _rand_color(rng)
        c2 = np.clip(c1 * rng.uniform(0.3, 0.8) if rng.random() < 0.5 else _rand_color(rng), 0, 1)
        colors[m] = (c1, c2)
        kind = str(rng.choice(["solid", "stripes", "checks", "noise"], p=[0.4, 0.3, 0.1, 0.2]))
        patterns[m] = (kind, rng.uniform(0.015, 0.06), rng.uniform(0, np.pi))
    skin = SKIN[int(rng.integers(len(SKIN)))] * rng.uniform(0.9, 1.05)
    hair = HAIR[int(rng.integers(len(HAIR)))] * rng.uniform(0.8, 1.2)
    colors[HEAD] = colors[HANDS] = (np.clip(skin, 0, 1), np.clip(skin * 0.9, 0, 1))
    colors[HAIR_ID] = (np.clip(hair, 0, 1), np.clip(hair * 0.7, 0, 1))
    patterns[HEAD] = patterns[HANDS] = patterns[HAIR_ID] = ("solid", 1.0, 0.0)
    running = rng.random() < 0.25
    gait = (rng.uniform(0.15, 0.6) * (1.5 if running else 1.0), rng.uniform(0.1, 0.7),
            rng.uniform(0.1, 0.5) * (2.0 if running else 1.0))
    return FigureSpec(
        head=head, shoulder=shoulder, hip_y=shoulder + rng.uniform(0.26, 0.32),
        shoulder_w=rng.uniform(0.085, 0.12), hip_w=rng.uniform(0.055, 0.085),
        limbs=(rng.uniform(0.15, 0.18), rng.uniform(0.14, 0.17), rng.uniform(0.04, 0.058), rng.uniform(0.055, 0.08)),
        gait=gait, raised=rng.uniform(1.9, 2.9) if rng.random() < 0.15 else None,
        colors=colors, patterns=patterns, long_sleeves=bool(rng.random() < 0.5),
        skirt=bool(rng.random() < 0.2), bag=bool(rng.random() < 0.2), flip=bool(rng.random() < 0.5),
        seed=int(rng.integers(1 << 31)))


TOP = 0.22  # canvas margin above the head (figure units) for raised arms


def _pt(x, y, s, cx):
    return (int(round(cx + x * s)), int(round((y + TOP) * s)))


def _limb(ids, a, ang1, len1, ang2, len2, thick, s, cx, upper_id, lower_id, end_id):
    """Two segments from joint ``a`` (figure units); angles from straight down, + towards +x."""
    b = (a[0] + len1 * np.sin(ang1), a[1] + len1 * np.cos(ang1))
    c = (b[0] + len2 * np.sin(ang2), b[1] + len2 * np.cos(ang2))
    t = max(1, int(round(thick * s)))
    cv2.line(ids, _pt(*a, s, cx), _pt(*b, s, cx), upper_id, t)
    cv2.circle(ids, _pt(*b, s, cx), t // 2, upper_id, -1)
    cv2.line(ids, _pt(*b, s, cx), _pt(*c, s, cx), lower_id, max(1, int(t * 0.9)))
    cv2.ellipse(ids, _pt(*c, s, cx), (max(1, int(t * 0.6)), max(1, int(t * 0.45))), 0, 0, 360, end_id, -1)


def _pattern(kind: str, period: float, angle: float, h: int, w: int, s: float, rng) -> np.ndarray:
    """Mix weights in [0, 1] between a material's two colours over the canvas."""
    if kind == "solid":
        return np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / np.float32(s)
    if kind == "stripes":
        return (0.5 + 0.5 * np.tanh(4 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period))).astype(np.float32)
    if kind == "checks":
        return (((np.floor(xx / period) + np.floor(yy / period)) % 2) * 0.8).astype(np.float32)
    n = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), max(1.0, period * s * 0.3))
    return np.clip(0.5 + 0.5 * n / (n.std() + 1e-6), 0, 1).astype(np.float32)


def render_figure(spec: FigureSpec, height: int, phase: float = 0.0) -> Figure:
    """Render ``spec`` about ``height`` pixels tall at gait ``phase`` (radians); cropped to alpha."""
    height = max(8, int(height))
    s = float(height * SS)
    hc, wc = int(s * (1.03 + TOP)), int(s * 0.95)
    cx = wc / 2
    ids = np.zeros((hc, wc), np.uint8)
    ua, fa, at, lt = spec.limbs
    legs = (1.0 - spec.hip_y) / 2 * 0.97
    swing, arm_swing, knee = spec.gait
    sp = np.sin(phase)
    hip_l, hip_r = (-spec.hip_w * 0.5, spec.hip_y), (spec.hip_w * 0.5, spec.hip_y)
    sh_l, sh_r = (-spec.shoulder_w * 0.8, spec.shoulder + at / 2), (spec.shoulder_w * 0.8, spec.shoulder + at / 2)
    sleeve = SHIRT if spec.long_sleeves else HANDS
    # far limbs first (darker), then torso, near limbs, head
    kn_far = knee * (0.5 + 0.5 * np.cos(phase + np.pi))
    _limb(ids, hip_r, -swing * sp, legs, -swing * sp - kn_far, legs, lt, s, cx, PANTS + FAR, PANTS + FAR, SHOES + FAR)
    _limb(ids, sh_r, arm_swing * sp, ua, arm_swing * sp + 0.3 + 0.4 * arm_swing, fa, at, s, cx,
          SHIRT + FAR, sleeve + FAR, HANDS + FAR)
    torso = [(-spec.shoulder_w, spec.shoulder), (spec.shoulder_w, spec.shoulder),
             (spec.hip_w * 1.05, spec.hip_y + 0.02), (-spec.hip_w * 1.05, spec.hip_y + 0.02)]
    cv2.fillConvexPoly(ids, np.array([_pt(x, y, s, cx) for x, y in torso], np.int32), SHIRT)
    for p in (sh_l, sh_r):
        cv2.circle(ids, _pt(*p, s, cx), int(at * s * 0.6), SHIRT, -1)
    cv2.line(ids, _pt(0, spec.head, s, cx), _pt(0, spec.shoulder + 0.01, s, cx), HEAD, int(spec.head * s * 0.8))
    kn_near = knee * (0.5 + 0.5 * np.cos(phase))
    _limb(ids, hip_l, swing * sp, legs, swing * sp - kn_near, legs, lt, s, cx, PANTS, PANTS, SHOES)
    if spec.skirt:
        sk = [(-spec.hip_w, spec.hip_y - 0.03), (spec.hip_w, spec.hip_y - 0.03),
              (spec.hip_w * 2.1, spec.hip_y + legs * 0.9), (-spec.hip_w * 2.1, spec.hip_y + legs * 0.9)]
        cv2.fillConvexPoly(ids, np.array([_pt(x, y, s, cx) for x, y in sk], np.int32), SKIRT)
    if spec.raised is not None:
        _limb(ids, sh_l, -spec.raised, ua, -spec.raised + 0.3, fa, at, s, cx, SHIRT, sleeve, HANDS)
    else:
        _limb(ids, sh_l, -arm_swing * sp, ua, -arm_swing * sp + 0.3 + 0.4 * arm_swing, fa, at, s, cx, SHIRT, sleeve, HANDS)
    if spec.bag:
        bx, by = spec.shoulder_w * 1.1, spec.hip_y - 0.02
        cv2.line(ids, _pt(-spec.shoulder_w * 0.5, spec.shoulder, s, cx), _pt(bx, by, s, cx), BAG, max(1, int(0.01 * s)))
        cv2.rectangle(ids, _pt(bx - 0.05, by - 0.02, s, cx), _pt(bx + 0.05, by + 0.08, s, cx), BAG, -1)
    hr = spec.head
    cv2.ellipse(ids, _pt(0, hr, s, cx), (int(hr * s * 0.82), int(hr * s)), 0, 0, 360, HEAD, -1)
    cv2.ellipse(ids, _pt(0, hr * 0.9, s, cx), (int(hr * s * 0.86), int(hr * s * 0.95)), 0, 180, 360, HAIR_ID, -1)
    return _shade(ids, spec, s)


def _shade(ids: np.ndarray, spec: FigureSpec, s: float) -> Figure:
    """Colour the part-id map (patterns, far side darker, side light), downsample, crop."""
    hc, wc = ids.shape
    rng = np.random.default_rng(spec.seed)
    rgb = np.zeros((hc, wc, 3), np.float32)
    mat = ids & (FAR - 1)
    for m in np.unique(mat[mat > 0]):
        c1, c2 = spec.colors[int(m)]
        t = _pattern(*spec.patterns[int(m)], hc, wc, s, rng)[mat == m][:, None]
        rgb[mat == m] = c1 * (1 - t) + c2 * t
    rgb[ids >= FAR] *= 0.75
    side = np.linspace(1.12, 0.82, wc, dtype=np.float32)
    rgb *= side[None, :, None]
    alpha = (ids > 0).astype(np.float32)
    size = (wc // SS, hc // SS)
    a = np.clip(cv2.resize(alpha, size, interpolation=cv2.INTER_AREA), 0.0, 1.0)
    pre = cv2.resize(rgb * alpha[..., None], size, interpolation=cv2.INTER_AREA)
    col = np.where(a[..., None] > 1e-4, pre / np.maximum(a[..., None], 1e-4), 0.0)
    fig = crop_to_alpha(Figure(np.clip(col, 0, 1).astype(np.float32), a))
    if spec.flip:
        fig = Figure(np.ascontiguousarray(fig.rgb[:, ::-1]), np.ascontiguousarray(fig.alpha[:, ::-1]))
    return fig


def crop_to_alpha(fig: Figure, thr: float = 1e-3) -> Figure:
    """Crop a figure to the bounding box of its alpha above ``thr``."""
    ys, xs = np.nonzero(fig.alpha > thr)
    if len(ys) == 0:
        return fig
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Figure(np.ascontiguousarray(fig.rgb[y0:y1, x0:x1]), np.ascontiguousarray(fig.alpha[y0:y1, x0:x1]))


def soften(fig: Figure, sigma: float) -> Figure:
    """Blur a figure (premultiplied colour and alpha) by ``sigma`` pixels, like the renderer's lens."""
    if sigma < 0.2:
        return fig
    blur = lambda im: cv2.GaussianBlur(im, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)  # noqa: E731
    a = np.clip(blur(fig.alpha), 0.0, 1.0)
    pre = blur(fig.rgb * fig.alpha[..., None])
    rgb = np.where(a[..., None] > 1e-4, pre / np.maximum(a[..., None], 1e-4), fig.rgb)
    return Figure(np.clip(rgb, 0.0, 1.0).astype(np.float32), a.astype(np.float32))


def fit_figure(fig: Figure, max_h: int, max_w: int) -> Figure:
    """Resize ``fig`` (keeping its aspect) to fit inside ``max_h`` x ``max_w``."""
    h, w = fig.alpha.shape
    k = min(max_h / h, max_w / w)
    size = (max(1, int(w * k)), max(1, int(h * k)))
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    return Figure(cv2.resize(fig.rgb, size, interpolation=interp),
                  np.clip(cv2.resize(fig.alpha, size, interpolation=interp), 0, 1))


class FigureSource:
    """Articulated figures: ``source(rng, max_h, max_w)`` gives one :class:`Figure`, and
    ``source.moving(rng, max_h, max_w, n)`` gives the same figure at ``n`` gait phases."""

    def __call__(self, rng: np.random.Generator, max_h: int, max_w: int) -> Figure:
        return self.moving(rng, max_h, max_w, 1)[0]

    def moving(self, rng: np.random.Generator, max_h: int, max_w: int, n: int) -> list[Figure]:
        spec = random_spec(rng)
        phase, step = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.2) * rng.choice([-1, 1])
        return [fit_figure(render_figure(spec, max_h, phase + k * step), max_h, max_w) for k in range(n)]


class CutoutSource:
    """The user's RGBA cut-outs (see :func:`load_cutouts`), picked at random, sometimes mirrored."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.figures = load_cutouts(folder)

    def __call__(self, rng: np.random.Generator, max_h: int, max_w: int) -> Figure:
        return self.moving(rng, max_h, max_w, 1)[0]

    def moving(self, rng: np.random.Generator, max_h: int, max_w: int, n: int) -> list[Figure]:
        fig = self.figures[int(rng.integers(len(self.figures)))]
        if rng.random() < 0.5:
            fig = Figure(np.ascontiguousarray(fig.rgb[:, ::-1]), np.ascontiguousarray(fig.alpha[:, ::-1]))
        fig = fit_figure(fig, max_h, max_w)
        return [fig] * n


def load_cutouts(folder: str | Path) -> list[Figure]:
    """Read every ``*.png`` in ``folder`` as an RGBA cut-out (8 or 16 bit), cropped to its alpha.

    Raises:
        EdgemefError: not a folder, no PNG in it, or a PNG that is unreadable, has no alpha
            channel or is fully transparent.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise EdgemefError(f"{folder}: cut-out folder does not exist or is not a directory")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png")
    if not files:
        raise EdgemefError(f"{folder}: no cut-outs found (need RGBA .png files with an alpha channel)")
    figures = []
    for p in files:
        raw = cv2.imdecode(np.fromfile(str(p), np.uint8), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise EdgemefError(f"{p}: cannot decode PNG cut-out")
        if raw.ndim != 3 or raw.shape[2] != 4:
            raise EdgemefError(f"{p}: cut-out has no alpha channel (need an RGBA PNG)")
        scale = np.float32(65535.0 if raw.dtype == np.uint16 else 255.0)
        rgba = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA).astype(np.float32) / scale
        if float(rgba[..., 3].max()) <= 1e-3:
            raise EdgemefError(f"{p}: cut-out alpha is empty (fully transparent)")
        figures.append(crop_to_alpha(Figure(np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3]))))
    return figures


def figure_source(cutouts: str | Path | None = None):
    """:class:`CutoutSource` for a folder, else the articulated :class:`FigureSource`."""
    return CutoutSource(cutouts) if cutouts else FigureSource()
