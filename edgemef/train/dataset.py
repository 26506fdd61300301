"""Training samples from :class:`edgemef.data.SyntheticBrackets`, as luminance crops.

Sample ``n`` of a :class:`BracketCrops` dataset is a pure function of ``(seed, n)``: which scene,
where the crop sits, which of the 8 flips/rotations. Step ``s`` of a run with batch ``B`` uses
samples ``s*B .. s*B+B-1`` (:func:`step_indices`), so a resumed run sees exactly the batches an
uninterrupted one would, and a distributed run can later split those indices by rank.

Scenes are rendered once into a pool cached on disk as float16 luminance planes (rendering costs
~0.4 s per 256x256 scene on this CPU); ``pool=0`` renders a fresh scene for every sample.

Dynamic data (``data.dynamic > 0``): that share of the scenes comes from
:class:`edgemef.data.dynamic.DynamicBrackets` (objects inserted into the under frame only), and
the pool keeps a sixth plane, the static under frame. The network's input is the dynamic under
frame; its loss targets (the co-target, the MaskBuilder and MEF-SSIM sources, ``sources`` in an
item) use the static one, so the ghost is what the network must learn to leave out.
``data.shift_prob`` shifts the under input crop by a few pixels (the thesis' offsets).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from edgemef.color import luminance
from edgemef.data.dynamic import shift_crop
from edgemef.errors import EdgemefError
from edgemef.train.config import DataConfig
from edgemef.train.paramtuner import gamma_of

PLANES = ("under", "over", "ev0", "label", "mertens")
"""Luminance planes of one scene, in storage order (CIELAB L / 100)."""
DYNAMIC_PLANES = PLANES + ("under_static",)
"""The planes of a pool with dynamic scenes: ``under`` is the network's input (with the inserted
objects), ``under_static`` the static frame it was made from (equal to ``under`` in a static scene)."""
SHIFT_STREAM = 0x5F7  # seed-sequence key of the under-crop shifts


def bracket_planes(bs, with_static: bool = False) -> np.ndarray:
    """(5, H, W) float32 luminance of a :class:`edgemef.data.BracketSet` or a
    :class:`edgemef.data.dynamic.DynamicSet`: under, over, ev0, label, and the Mertens fusion of
    the static under/over pair; ``with_static`` adds the static under frame (6 planes)."""
    from edgemef.data.labels import exposure_fusion

    static = getattr(bs, "under_static", bs.under)
    mertens = np.clip(exposure_fusion([static, bs.over]), 0.0, 1.0).astype(np.float32)
    images = [bs.under, bs.over, bs.ev0, bs.label, mertens] + ([static] if with_static else [])
    return np.stack([luminance(np.clip(im, 0.0, 1.0)) for im in images]).astype(np.float32)


def _data_digest(cfg: DataConfig, first: np.ndarray) -> str:
    """Identifies a rendered pool: its parameters and the rendered planes of its first scene
    (so a change to the renderer that alters its output invalidates the cache)."""
    h = hashlib.sha256(repr(cfg.cache_key()).encode())
    h.update(np.ascontiguousarray(first, np.float16).tobytes())
    return h.hexdigest()[:16]


class ScenePool:
    """The first ``cfg.pool`` scenes of the synthetic sequence, rendered once (or read from the
    cache) as a (pool, 5, H, W) float16 array; ``pool == 0`` renders scenes on access."""

    def __init__(self, cfg: DataConfig, progress: bool = True):
        from edgemef.data import SyntheticBrackets
        from edgemef.data.dynamic import DynamicBrackets

        self.cfg = cfg
        kw = {"seed": cfg.seed, "size": tuple(cfg.size), "ev_gap": tuple(cfg.ev_gap),
              "under_split": tuple(cfg.under_split)}
        self.source = DynamicBrackets(fraction=cfg.dynamic, **kw) if cfg.dynamic else SyntheticBrackets(**kw)
        self.dynamic = bool(cfg.dynamic)
        self.planes: np.ndarray | None = None
        self.cache_path: Path | None = None
        if cfg.pool:
            self.planes = self._load_or_render(progress)

    @classmethod
    def from_array(cls, planes: np.ndarray, **data) -> "ScenePool":
        """A pool over ready-made (N, 5 or 6, H, W) planes (tests, or data from elsewhere);
        ``data``: other :class:`DataConfig` fields (e.g. ``shift_prob``)."""
        pool = cls.__new__(cls)
        n, _, h, w = planes.shape
        pool.cfg = DataConfig(size=[h, w], pool=n, cache_dir="", **data)
        pool.source, pool.planes = None, planes
        pool.dynamic = planes.shape[1] == len(DYNAMIC_PLANES)
        return pool

    def __len__(self) -> int:
        return self.cfg.pool or len(self.source)

    def _load_or_render(self, progress: bool) -> np.ndarray:
        shape = (self.cfg.pool, len(DYNAMIC_PLANES if self.dynamic else PLANES), *self.cfg.size)
        first = None
        if self.cfg.pool_file:
            path = Path(self.cfg.pool_file)
        else:
            first = self._render(0)
            path = Path(self.cfg.cache_dir) / f"pool-{_data_digest(self.cfg, first)}.npy"
        self.cache_path = path
        if path.is_file():
            arr = np.load(path, mmap_mode="r")
            if arr.shape == shape:
                return arr
            if self.cfg.pool_file:
                raise EdgemefError(f"{path} holds a pool of shape {arr.shape}, the config asks for {shape}")
        arr = np.empty(shape, np.float16)
        arr[0] = first if first is not None else self._render(0)
        for i in tqdm(range(1, self.cfg.pool), desc="rendering scene pool", disable=not progress, leave=False):
            arr[i] = self._render(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
        with open(tmp, "wb") as f:
            np.save(f, arr)
        os.replace(tmp, path)
        return arr

    def _render(self, i: int) -> np.ndarray:
        return bracket_planes(self.source[i % len(self.source)], with_static=self.dynamic)

    def scene(self, i: int) -> np.ndarray:
        """(5, H, W) float32 planes of scene ``i`` (6 with :data:`DYNAMIC_PLANES`)."""
        if self.planes is not None:
            return np.asarray(self.planes[i], np.float32)
        return self._render(i)


def step_indices(step: int, batch: int) -> list[int]:
    """Sample indices of optimisation step ``step`` (0-based)."""
    return list(range(step * batch, (step + 1) * batch))


class BracketCrops(torch.utils.data.Dataset):
    """Random luminance crops with their co-targets and adaptive gammas.

    Item ``n`` is a dict of float32 tensors:
        inputs: (2, S, S) under and over luminance (darkest first, as the network eats them);
            the under crop is the dynamic one and may be shifted (``data.shift_prob``);
        sources: (2, S, S) the static, unshifted under and over luminance (the loss's sources);
        ev0, label, mertens: (1, S, S) the candidate co-targets;
        gammas: (5,) AGC gamma of under, over, ev0, label, mertens (for ParamTuner).
    """

    def __init__(self, pool: ScenePool, crop: int, seed: int = 0, augment: bool = True, length: int = 1 << 40):
        h, w = pool.cfg.size
        if crop > min(h, w):
            raise ValueError(f"crop {crop} exceeds the rendered size {h}x{w}")
        self.pool, self.crop, self.seed, self.augment, self.length = pool, int(crop), int(seed), augment, length

    def __len__(self) -> int:
        return self.length

    def plan(self, n: int) -> tuple[int, int, int, int, bool]:
        """(scene, top, left, rotation k, flip) of sample ``n``."""
        rng = np.random.default_rng([self.seed, int(n)])
        h, w = self.pool.cfg.size
        scene = int(rng.integers(len(self.pool))) if self.pool.cfg.pool else int(n)
        top, left = int(rng.integers(h - self.crop + 1)), int(rng.integers(w - self.crop + 1))
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        if not self.augment:
            k, flip = 0, False
        return scene, top, left, k, flip

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        scene, top, left, k, flip = self.plan(n)
        s = self.crop
        p = self.pool.scene(scene)[:, top:top + s, left:left + s]
        p = np.rot90(p, k, axes=(1, 2))
        if flip:
            p = p[:, :, ::-1]
        p = np.ascontiguousarray(p, np.float32)
        static = p[5] if p.shape[0] > len(PLANES) else p[0]
        d = self.pool.cfg
        under = shift_crop(p[0], [self.seed, int(n), SHIFT_STREAM], d.shift_prob, d.max_shift) if d.shift_prob else p[0]
        gammas = np.array([gamma_of(plane) for plane in p[: len(PLANES)]], np.float32)
        t = torch.from_numpy(p)
        return {"inputs": torch.from_numpy(np.stack([under, p[1]])), "sources": torch.from_numpy(np.stack([static, p[1]])),
                "ev0": t[2:3], "label": t[3:4], "mertens": t[4:5], "gammas": torch.from_numpy(gammas)}


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack a list of items into a batch: (B, ...) per key."""
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def fetch_batch(dataset: BracketCrops, step: int, batch: int) -> dict[str, torch.Tensor]:
    """The batch of optimisation step ``step``."""
    return collate([dataset[n] for n in step_indices(step, batch)])
