"""RGB/HDR training samples from :class:`edgemef.data.hdr_sets.SyntheticHDRSets`, for the
two-phase network and STHDR.

A scene is stored as 21 planes (:data:`RGB_PLANES`): the under, over and EV0 frames, the fused
label (RGB in [0, 1]), the HDR target (linear camera radiance in the over-exposed reference
frame's units, capped where the under frame saturates; see
:meth:`~edgemef.data.hdr_sets.HDRSet.camera_radiance`), the Mertens fusion of the static
under/over pair (the two-phase network's optional co-target) and the static under frame (equal
to ``under`` unless the scene is dynamic), plus its exposure times. Sample ``n`` of
:class:`RGBCrops` is a pure function of ``(seed, n)`` (the crop plan of
:class:`~edgemef.train.dataset.BracketCrops`), so resumed and distributed runs see the batches an
uninterrupted single-process run sees. The pool is rendered once and cached like
:class:`~edgemef.train.dataset.ScenePool` (float16, under ``cache_dir``, named by a digest of the
parameters and the first scene).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from edgemef.errors import EdgemefError
from edgemef.train.config import DataConfig
from edgemef.data.dynamic import shift_crop
from edgemef.train.dataset import SHIFT_STREAM, BracketCrops

RGB_PLANES = ("under", "over", "ev0", "label", "hdr", "mertens", "under_static")
"""Three-channel images of one scene, in storage order (21 planes)."""
N_PLANES = 3 * len(RGB_PLANES)
_AT = {name: slice(3 * i, 3 * i + 3) for i, name in enumerate(RGB_PLANES)}  # plane name -> its 3 channels
TIMES = ("under", "ev0", "over")
"""Exposure times stored per scene, seconds."""


def scene_arrays(hs, dynamic: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(21, H, W) float32 planes (:data:`RGB_PLANES`) and (3,) exposure times of an
    :class:`~edgemef.data.hdr_sets.HDRSet`.

    ``dynamic``: the share of scenes whose under frame gets moving objects
    (:func:`edgemef.data.dynamic.synthesize_dynamic`, chosen by :func:`~edgemef.data.dynamic.is_dynamic`);
    the over and EV0 frames, the label, the HDR target, the Mertens co-target and ``under_static``
    stay the static scene's.
    """
    from edgemef.data.dynamic import dynamic_seed, is_dynamic, synthesize_dynamic
    from edgemef.data.labels import exposure_fusion

    bs = hs.brackets
    static = np.clip(bs.under, 0.0, 1.0)
    under = static
    if dynamic and is_dynamic(bs.seed, dynamic):
        under = np.clip(synthesize_dynamic(bs, dynamic_seed(bs.seed)).under, 0.0, 1.0)
    over = np.clip(bs.over, 0.0, 1.0)
    mertens = np.clip(exposure_fusion([static, over]), 0.0, 1.0)
    images = [under, over, np.clip(bs.ev0, 0.0, 1.0), np.clip(bs.label, 0.0, 1.0), hs.camera_radiance("over"),
              mertens, static]
    planes = np.concatenate([np.transpose(im, (2, 0, 1)) for im in images]).astype(np.float32)
    return planes, np.asarray(bs.exposure_times, np.float64)


def _digest(cfg: DataConfig, first: np.ndarray) -> str:
    h = hashlib.sha256(repr(("rgb-hdr",) + cfg.cache_key()).encode())
    h.update(np.ascontiguousarray(first, np.float16).tobytes())
    return h.hexdigest()[:16]


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)


class RGBScenePool:
    """The first ``cfg.pool`` synthetic HDR sets as (pool, 21, H, W) float16 planes and (pool, 3)
    exposure times, rendered once or read from the cache; ``pool == 0`` renders on access."""

    def __init__(self, cfg: DataConfig, progress: bool = True):
        from edgemef.data.hdr_sets import SyntheticHDRSets

        self.cfg = cfg
        self.source = SyntheticHDRSets(seed=cfg.seed, size=tuple(cfg.size), ev_gap=tuple(cfg.ev_gap),
                                       under_split=tuple(cfg.under_split))
        self.planes: np.ndarray | None = None
        self.times: np.ndarray | None = None
        self.cache_path: Path | None = None
        if cfg.pool:
            self._load_or_render(progress)

    @classmethod
    def from_arrays(cls, planes: np.ndarray, times: np.ndarray, **data) -> "RGBScenePool":
        """A pool over ready-made (N, 21, H, W) planes and (N, 3) times (tests); ``data``: other
        :class:`DataConfig` fields (e.g. ``shift_prob``)."""
        pool = cls.__new__(cls)
        n, _, h, w = planes.shape
        pool.cfg = DataConfig(size=[h, w], pool=n, cache_dir="", **data)
        pool.source, pool.planes, pool.times, pool.cache_path = None, planes, np.asarray(times, np.float64), None
        return pool

    def __len__(self) -> int:
        return self.cfg.pool or len(self.source)

    def _load_or_render(self, progress: bool) -> None:
        shape = (self.cfg.pool, N_PLANES, *self.cfg.size)
        first = None
        if self.cfg.pool_file:
            path = Path(self.cfg.pool_file)
        else:
            first = scene_arrays(self.source[0], self.cfg.dynamic)
            path = Path(self.cfg.cache_dir) / f"rgbpool-{_digest(self.cfg, first[0])}.npy"
        times_path = path.with_name(path.stem + ".times.npy")
        self.cache_path = path
        if path.is_file() and times_path.is_file():
            arr, times = np.load(path, mmap_mode="r"), np.load(times_path)
            if arr.shape == shape and times.shape == (shape[0], 3):
                self.planes, self.times = arr, times
                return
            if self.cfg.pool_file:
                raise EdgemefError(f"{path} holds an RGB pool of shape {arr.shape}, the config asks for {shape}")
        arr = np.empty(shape, np.float16)
        times = np.empty((shape[0], 3), np.float64)
        arr[0], times[0] = first if first is not None else scene_arrays(self.source[0], self.cfg.dynamic)
        for i in tqdm(range(1, shape[0]), desc="rendering RGB/HDR scene pool", disable=not progress, leave=False):
            arr[i], times[i] = scene_arrays(self.source[i], self.cfg.dynamic)
        _save(times_path, times)   # times first: the planes file marks a complete pool
        _save(path, arr)
        self.planes, self.times = np.load(path, mmap_mode="r"), times

    def scene(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(21, H, W) float32 planes and (3,) times (under, ev0, over) of scene ``i``."""
        if self.planes is not None:
            return np.asarray(self.planes[i], np.float32), self.times[i]
        return scene_arrays(self.source[i % len(self.source)], self.cfg.dynamic)


class RGBCrops(BracketCrops):
    """Random RGB crops with their targets and exposure ratios.

    Item ``n`` is a dict of float32 tensors:
        inputs: (6, S, S) under then over RGB in [0, 1] (darkest first, as the networks eat them);
            the under crop may be shifted by a few pixels (``data.shift_prob``, the thesis' offsets);
        sources: (6, S, S) the static, unshifted under and over frames (the MEF-SSIM term's sources);
        ev0, label: (3, S, S) the EV0 frame (the two-phase intermediate target) and the fused label;
        mertens: (3, S, S) the Mertens fusion of the static pair (an alternative fused target);
        hdr: (3, S, S) linear radiance, 1 = the over frame's saturation (STHDR's target);
        ratios: (2,) exposure times of under and over relative to over (so ``ratios[1] == 1``).
    """

    def __init__(self, pool: RGBScenePool, crop: int, seed: int = 0, augment: bool = True, length: int = 1 << 40):
        super().__init__(pool, crop, seed, augment, length)

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        scene, top, left, k, flip = self.plan(n)
        s = self.crop
        planes, times = self.pool.scene(scene)
        p = np.rot90(planes[:, top:top + s, left:left + s], k, axes=(1, 2))
        if flip:
            p = p[:, :, ::-1]
        p = np.ascontiguousarray(p, np.float32)
        if p.shape[0] != N_PLANES:
            raise EdgemefError(f"an RGB scene has {N_PLANES} planes ({', '.join(RGB_PLANES)}), got {p.shape[0]}")
        sources = torch.from_numpy(np.concatenate([p[_AT["under_static"]], p[_AT["over"]]]))
        d = self.pool.cfg
        if d.shift_prob:
            p[_AT["under"]] = shift_crop(p[_AT["under"]], [self.seed, int(n), SHIFT_STREAM], d.shift_prob, d.max_shift,
                                         axes=(1, 2))
        t = torch.from_numpy(p)
        t_under, t_over = float(times[TIMES.index("under")]), float(times[TIMES.index("over")])
        return {"inputs": t[0:6], "sources": sources, **{k: t[_AT[k]] for k in ("ev0", "label", "hdr", "mertens")},
                "ratios": torch.tensor([t_under / t_over, 1.0], dtype=torch.float32)}
