"""Dynamic-scene synthesis from static bracket sets, after Su (NTU 2025).

A static set (under ``I_u``, over ``I_o``, label ``I_gt``) becomes a dynamic one by inserting
moving objects into the under-exposed frame only; the over frame is the reference and the
label shows the scene without the objects, so a network learns to keep ghosts out:

1. :func:`ogt_mask`: ``M_ogt = ||I_o - I_gt||_2 > epsilon  or  grey(I_o) > tau``: where the
   over frame is wrong (clipped, washed out) and the fusion must take the under frame.
2. :func:`find_boxes`: sliding windows a third to a half of the image on each side whose share
   of marked pixels lies in ``[tau_min, tau_max]``; together they cover at most ``rho_max`` of
   the marked pixels and never overlap.
3. :func:`insert_object`: per box, fit the ``I_gt -> I_u`` brightness map (:class:`GainGamma`),
   apply it to a foreground shown at ``I_gt``'s brightness, add the frame's noise, composite.

Scales: ``epsilon`` is a Euclidean RGB distance on [0, 1] floats (at most sqrt(3)); ``tau`` is
an 8-bit grey level (0..255) of the over frame (BT.601 grey of the frame rounded to 8 bits).
The thesis' values, 0.5 and 245, are the defaults. :func:`shift_crop` is the training-time
shift of the under crop. All of it is deterministic given the seed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from edgemef.data.brackets import UNDER_SPLIT, BracketSet, item_seed, render_bracket_set
from edgemef.data.brightness import GainGamma, fit_gain_gamma, residual_noise
from edgemef.data.silhouettes import Figure, FigureSource, soften

EPSILON = 0.5    # RGB distance on [0, 1] floats
TAU = 245.0      # 8-bit grey level
RATIO = (0.1, 0.3)
RHO_MAX = 0.5
BOX_FRACTION = (1 / 3, 1 / 2)
DYNAMIC_STREAM = 0xD1A  # seed-sequence key of the insertion draws of a scene


def ogt_mask(over: np.ndarray, gt: np.ndarray, epsilon: float = EPSILON, tau: float = TAU) -> np.ndarray:
    """``M_ogt`` as a bool ``(H, W)`` map (see the module docstring for the scales).

    Args:
        over, gt: float RGB ``(H, W, 3)`` in [0, 1].
        epsilon: threshold on ``||I_o - I_gt||_2`` over the three channels, [0, 1] units.
        tau: threshold on the over frame's 8-bit grey level.
    """
    over, gt = np.asarray(over), np.asarray(gt)
    if over.ndim != 3 or over.shape[2] != 3 or over.shape != gt.shape:
        raise ValueError(f"need two (H, W, 3) RGB images of one shape, got {over.shape} and {gt.shape}")
    d = over.astype(np.float32) - gt.astype(np.float32)
    far = np.einsum("hwc,hwc->hw", d, d) > np.float32(epsilon) ** 2
    grey = cv2.cvtColor(cv2.convertScaleAbs(np.ascontiguousarray(over, np.float32), alpha=255.0), cv2.COLOR_RGB2GRAY)
    return far | (grey > tau)


@dataclass(frozen=True)
class Box:
    """A window: top-left ``(x, y)``, size ``w`` x ``h`` pixels, ``marked`` mask pixels inside."""

    x: int
    y: int
    w: int
    h: int
    marked: int

    @property
    def ratio(self) -> float:
        """Share of marked pixels in the box."""
        return self.marked / float(self.w * self.h)

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)

    def overlaps(self, o: "Box") -> bool:
        return self.x < o.x + o.w and o.x < self.x + self.w and self.y < o.y + o.h and o.y < self.y + self.h

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": round(self.ratio, 6)}


def size_range(n: int, fraction=BOX_FRACTION) -> tuple[int, int]:
    """Smallest and largest box side for an image side ``n``: ceil(n * lo) .. floor(n * hi)."""
    lo, hi = int(np.ceil(n * fraction[0] - 1e-9)), int(np.floor(n * fraction[1] + 1e-9))
    return max(1, lo), max(1, lo, hi)


def find_boxes(mask: np.ndarray, rng, ratio=RATIO, rho_max: float = RHO_MAX, fraction=BOX_FRACTION,
               n_sizes: int = 6, stride: int | None = None, max_boxes: int | None = None) -> list[Box]:
    """Boxes by sliding window over ``mask`` (bool ``(H, W)``), scanned in a seeded random order.

    Args:
        rng: a seed or ``numpy.random.Generator``; draws the ``n_sizes`` window sizes and the order.
        ratio: (tau_min, tau_max), the accepted range of a box's share of marked pixels.
        rho_max: the accepted boxes hold at most this share of all marked pixels.
        fraction: box sides between these fractions of the image's height and width.
        stride: window step in pixels (default: a 32nd of the shorter side).
        max_boxes: stop after this many.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask: expected (H, W), got {mask.shape}")
    if not 0.0 <= ratio[0] <= ratio[1] <= 1.0 or not 0.0 <= rho_max <= 1.0:
        raise ValueError(f"need 0 <= tau_min <= tau_max <= 1 and 0 <= rho_max <= 1, got {ratio}, {rho_max}")
    rng = np.random.default_rng(rng)
    H, W = mask.shape
    integral = cv2.integral((mask > 0).astype(np.uint8)).astype(np.int64)
    budget = rho_max * float(integral[-1, -1])
    step = stride or max(1, min(H, W) // 32)
    (hlo, hhi), (wlo, whi) = size_range(H, fraction), size_range(W, fraction)
    cand = []
    for _ in range(n_sizes):
        bh, bw = int(rng.integers(hlo, hhi + 1)), int(rng.integers(wlo, whi + 1))
        ys = np.unique(np.r_[np.arange(0, H - bh + 1, step), H - bh])
        xs = np.unique(np.r_[np.arange(0, W - bw + 1, step), W - bw])
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        cand.append(np.stack([xx.ravel(), yy.ravel(), np.full(xx.size, bw), np.full(xx.size, bh)], 1))
    c = np.concatenate(cand)
    x, y, w, h = c.T
    marked = integral[y + h, x + w] - integral[y, x + w] - integral[y + h, x] + integral[y, x]
    share = marked / (w * h)
    ok = (share >= ratio[0]) & (share <= ratio[1]) & (marked <= budget)
    order = rng.permutation(np.flatnonzero(ok))
    boxes: list[Box] = []
    used = 0
    for i in order:
        b = Box(int(x[i]), int(y[i]), int(w[i]), int(h[i]), int(marked[i]))
        if used + b.marked > budget or any(b.overlaps(o) for o in boxes):
            continue
        boxes.append(b)
        used += b.marked
        if max_boxes is not None and len(boxes) >= max_boxes:
            break
    return boxes


@dataclass
class Insertion:
    """One inserted object: its box, where it sits ``(x, y, w, h)``, the fitted map, the noise."""

    box: Box
    placed: tuple[int, int, int, int]
    transform: GainGamma
    noise: float
    level: float | None

    def as_dict(self) -> dict:
        return {"box": self.box.as_dict(), "placed": list(self.placed), "gain": list(self.transform.gain),
                "gamma": list(self.transform.gamma), "noise": self.noise, "level": self.level}


def insert_object(under: np.ndarray, gt: np.ndarray, box: Box, rgb: np.ndarray, alpha: np.ndarray,
                  rng, level: float | None = 1.0, noise: bool = True,
                  blur: float | None = None) -> tuple[np.ndarray, np.ndarray, Insertion]:
    """Insert a foreground (``rgb (h, w, 3)``, ``alpha (h, w)``, fits in ``box``) into ``under``.

    The foreground is first shown at ``gt``'s brightness (scaled so that its mean luminance is
    ``level`` times that of ``gt`` under it; ``level=None`` keeps its own colours), then mapped
    by the box's ``gt -> under`` :class:`GainGamma`, given the frame's noise, composited and
    rounded to the 8-bit grid. ``under`` and ``gt`` are not modified. ``blur`` (pixels; default
    0.7 per 256 pixels of the frame's longer side, as the renderer's lens) softens the object.

    Returns:
        (new under frame, the object's alpha over the full frame, :class:`Insertion`).
    """
    rng = np.random.default_rng(rng)
    fh, fw = alpha.shape
    if fh > box.h or fw > box.w:
        raise ValueError(f"object {fw}x{fh} does not fit in box {box.w}x{box.h}")
    ys, xs = box.slices
    t = fit_gain_gamma(gt[ys, xs], under[ys, xs])
    sigma = residual_noise(gt[ys, xs], under[ys, xs], t) if noise else 0.0
    x0, y0 = box.x + int(rng.integers(box.w - fw + 1)), box.y + int(rng.integers(box.h - fh + 1))
    fig = soften(Figure(rgb.astype(np.float32), alpha.astype(np.float32)),
                 0.7 * max(under.shape[:2]) / 256 if blur is None else blur)
    a, fg = fig.alpha[..., None], fig.rgb
    if level is not None:
        lum = lambda im: float((im.mean(-1, keepdims=True) * a).sum() / max(a.sum(), 1e-6))  # noqa: E731
        fg = np.clip(fg * (level * lum(gt[y0:y0 + fh, x0:x0 + fw]) / max(lum(fg), 1e-3)), 0.0, 1.0)
    fg_u = t.apply(fg)
    if sigma > 0:
        fg_u = fg_u + rng.normal(0.0, sigma, fg_u.shape).astype(np.float32)
    out = under.copy()
    region = out[y0:y0 + fh, x0:x0 + fw]
    mixed = np.clip(a * fg_u + (1.0 - a) * region, 0.0, 1.0)
    out[y0:y0 + fh, x0:x0 + fw] = np.round(mixed * 255.0) / np.float32(255.0)
    full = np.zeros(under.shape[:2], np.float32)
    full[y0:y0 + fh, x0:x0 + fw] = fig.alpha
    return out, full, Insertion(box, (x0, y0, fw, fh), t, sigma, level)


@dataclass
class DynamicSet:
    """A synthesised dynamic set. ``over``, ``ev0`` and ``label`` are the static set's own
    arrays (the reference, untouched); ``under`` holds the inserted objects."""

    under: np.ndarray
    over: np.ndarray
    ev0: np.ndarray
    label: np.ndarray
    under_static: np.ndarray
    mask: np.ndarray
    alpha: np.ndarray
    insertions: list[Insertion]
    exposure_times: tuple[float, float, float]
    seed: int
    params: dict = field(default_factory=dict)

    @property
    def boxes(self) -> list[Box]:
        return [i.box for i in self.insertions]


def synthesize_dynamic(bs: BracketSet, rng, source=None, epsilon: float = EPSILON, tau: float = TAU,
                       ratio=RATIO, rho_max: float = RHO_MAX, max_boxes: int | None = None,
                       size=(0.6, 0.95), noise: bool = True) -> DynamicSet:
    """Mask, boxes and one inserted object per box for a static :class:`BracketSet`.

    Args:
        rng: seed or generator for the boxes and the objects.
        source: ``source(rng, max_h, max_w) -> Figure`` (default: articulated figures).
        size: object height range as a fraction of its box's height.
    """
    rng = np.random.default_rng(rng)
    source = source or FigureSource()
    mask = ogt_mask(bs.over, bs.label, epsilon, tau)
    under, alpha, inserts = bs.under, np.zeros(mask.shape, np.float32), []
    for box in find_boxes(mask, rng, ratio, rho_max, max_boxes=max_boxes):
        fig = source(rng, max(4, int(box.h * rng.uniform(*size))), box.w)
        under, a, ins = insert_object(under, bs.label, box, fig.rgb, fig.alpha, rng,
                                      level=float(rng.uniform(0.6, 1.3)), noise=noise)
        np.maximum(alpha, a, out=alpha)
        inserts.append(ins)
    params = {"epsilon": epsilon, "tau": tau, "ratio": list(ratio), "rho_max": rho_max,
              "scales": "epsilon: RGB L2 on [0,1]; tau: 8-bit grey"}
    return DynamicSet(under, bs.over, bs.ev0, bs.label, bs.under, mask, alpha, inserts,
                      bs.exposure_times, bs.seed, params)


def dynamic_seed(scene_seed: int) -> int:
    """Seed of the insertion draws for the scene rendered from ``scene_seed``."""
    return int(np.random.SeedSequence([int(scene_seed), DYNAMIC_STREAM]).generate_state(1, np.uint32)[0])


def render_dynamic_set(scene_seed: int, size=(256, 256), ev_gap=(2.0, 6.0), source=None,
                       under_split=UNDER_SPLIT, **kw) -> DynamicSet:
    """``render_bracket_set(scene_seed)`` made dynamic with :func:`synthesize_dynamic`."""
    bs = render_bracket_set(scene_seed, tuple(size), tuple(ev_gap), under_split=tuple(under_split))
    return synthesize_dynamic(bs, dynamic_seed(scene_seed), source, **kw)


def is_dynamic(scene_seed: int, fraction: float) -> bool:
    """Whether the scene rendered from ``scene_seed`` is made dynamic in a set with that ``fraction``
    of dynamic scenes (a draw of its own stream, so the choice does not depend on the consumer)."""
    return bool(np.random.default_rng([int(scene_seed), DYNAMIC_STREAM, 1]).random() < fraction)


class DynamicBrackets:
    """Like :class:`edgemef.data.SyntheticBrackets` (same scenes), but a ``fraction`` of the
    items (chosen by seed) are :class:`DynamicSet`; the others are the static sets. Both carry
    ``under, over, ev0, label``, so ``edgemef.train.dataset.bracket_planes`` takes either."""

    def __init__(self, seed: int = 0, size=(256, 256), length: int = 10_000, ev_gap=(2.0, 6.0),
                 fraction: float = 1.0, source=None, under_split=UNDER_SPLIT):
        self.seed, self.size, self.length, self.ev_gap = int(seed), tuple(size), int(length), tuple(ev_gap)
        self.fraction, self.source, self.under_split = float(fraction), source, tuple(under_split)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        if not 0 <= i < self.length:
            raise IndexError(f"index {i} out of range for {self.length} sets")
        s = item_seed(self.seed, int(i))
        if not is_dynamic(s, self.fraction):
            return render_bracket_set(s, self.size, self.ev_gap, under_split=self.under_split)
        return render_dynamic_set(s, self.size, self.ev_gap, self.source, under_split=self.under_split)


def draw_shift(rng, prob: float = 0.2, max_shift: int = 4) -> tuple[int, int]:
    """``(dy, dx)``: with probability ``prob`` a non-zero integer shift up to ``max_shift``, else (0, 0)."""
    rng = np.random.default_rng(rng)
    if max_shift < 1 or rng.random() >= prob:
        return 0, 0
    while True:
        dy, dx = (int(v) for v in rng.integers(-max_shift, max_shift + 1, 2))
        if dy or dx:
            return dy, dx


def shift_crop(crop: np.ndarray, rng, prob: float = 0.2, max_shift: int = 4, axes=(0, 1)) -> np.ndarray:
    """Training-time misalignment: sometimes shift the under-exposed crop by a few pixels.

    Content moves by ``(dy, dx)`` from :func:`draw_shift` along ``axes`` (rows, columns); the
    uncovered border repeats the edge pixels. The input is returned as is when not shifted.
    E.g. ``planes[0] = shift_crop(planes[0], rng, 0.2, 4)`` on a ``(5, S, S)`` sample's under plane.
    """
    dy, dx = draw_shift(rng, prob, max_shift)
    if not (dy or dx):
        return crop
    ay, ax = (a % crop.ndim for a in axes)
    h, w = crop.shape[ay], crop.shape[ax]
    pad = [(0, 0)] * crop.ndim
    pad[ay], pad[ax] = (max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))
    padded = np.pad(crop, pad, mode="edge")
    idx = [slice(None)] * crop.ndim
    idx[ay] = slice(max(-dy, 0), max(-dy, 0) + h)
    idx[ax] = slice(max(-dx, 0), max(-dx, 0) + w)
    return np.ascontiguousarray(padded[tuple(idx)])
