"""Training configuration: one JSON-serialisable dataclass, presets, validation.

Precedence: dataclass defaults < ``--config FILE`` (JSON) < command-line options. The presets are
the three rows of Im et al. 2023, Table 2: 'co' (co-target loss only), 'mb' (+ MaskBuilder
losses against each source, fixed weights), 'mbpt' (+ ParamTuner dynamic weights).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from edgemef.data.brackets import UNDER_SPLIT
from edgemef.errors import EdgemefError

PRESETS: dict[str, dict[str, bool]] = {
    "co": {"mask_builder": False, "param_tuner": False},
    "mb": {"mask_builder": True, "param_tuner": False},
    "mbpt": {"mask_builder": True, "param_tuner": True},
}
CO_TARGETS = ("ev0", "label", "mertens")
DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = ("constant", "cosine")


@dataclass
class DataConfig:
    """Synthetic data: which bracket sets, and how many distinct scenes are pre-rendered.

    Attributes:
        seed: seed of :class:`edgemef.data.SyntheticBrackets`.
        size: rendered (H, W); training crops are cut from it.
        ev_gap: range of the EV gap between the under- and the over-exposed frame.
        under_split: range of the share of that gap the under frame sits below EV0 (default
            [0.45, 0.85]; a lower bound near 0 adds pairs of a near-normal and a blown-out frame).
        pool: number of distinct scenes rendered once and cached (crops and the 8 flips/rotations
            are drawn from them); 0 renders a fresh scene for every sample (slow on a CPU).
        cache_dir: where the rendered pool is cached (float16 luminance planes), under a name
            derived from the parameters and the renderer's output (re-rendered when either changes).
        pool_file: pin the pool to this .npy file instead: read when it exists (no renderer
            check), else rendered into it. Keeps runs comparable while the renderer changes.
        dynamic: share of the pool's scenes made dynamic by :mod:`edgemef.data.dynamic` (moving
            objects inserted into the under frame only; the label, EV0, over frame and the
            Mertens co-target (the HDR target for the RGB networks) stay those of the static set).
            0: static data only.
        shift_prob, max_shift: the training-time misalignment: with probability ``shift_prob`` a
            sample's under-exposed input crop moves by up to ``max_shift`` pixels
            (:func:`edgemef.data.dynamic.shift_crop`); the loss targets stay unshifted.
    """

    seed: int = 0
    size: list[int] = field(default_factory=lambda: [256, 256])
    ev_gap: list[float] = field(default_factory=lambda: [2.0, 6.0])
    under_split: list[float] = field(default_factory=lambda: list(UNDER_SPLIT))
    pool: int = 256
    cache_dir: str = "runs/cache"
    pool_file: str = ""
    dynamic: float = 0.0
    shift_prob: float = 0.0
    max_shift: int = 4

    def cache_key(self) -> tuple:
        """The fields that decide what a rendered pool holds (the shift is applied per crop)."""
        split = tuple(float(v) for v in self.under_split)
        return ((self.seed, tuple(self.size), tuple(self.ev_gap), self.pool)
                + ((float(self.dynamic),) if self.dynamic else ()) + ((split,) if split != UNDER_SPLIT else ()))


@dataclass
class TrainConfig:
    """Everything that determines a training run (recorded beside the weights).

    Attributes:
        model: registry name (only 'densefuse' is trained by this loop).
        preset: 'co', 'mb' or 'mbpt' (see :data:`PRESETS`).
        co_target: 'ev0' (the correctly exposed frame, as the paper), 'label' (the renderer's fused
            reference) or 'mertens' (Mertens fusion of the input pair itself).
        alpha: weight of (1 - MS-SSIM) in every loss term (1000 in the paper).
        beta: ParamTuner scale: the source weights sum to beta (2 in the paper).
        mask_sigma: MaskBuilder Gaussian sigma in pixels (10; kernel 6 sigma + 1).
        co_weight: weight of the co-target loss.
        mef_ssim_weight: weight of ``alpha * (1 - MEF-SSIM(sources, fused))``, an unsupervised term
            (DeepFuse, MEF-Net) added to the Im et al. losses; 0 (the paper) leaves it out.
        grad_weight: weight of ``alpha * max_gradient_loss(sources, fused)``, an edge term
            (:func:`edgemef.train.losses.max_gradient_loss`); 0 (the paper) leaves it out.
        steps, batch, crop: optimisation steps, images per step, square crop side.
        lr, schedule: Adam learning rate (1e-4 in the paper); 'constant' or 'cosine' decay to 0.
        seed: initialisation and batch-sampling seed.
        device: 'auto' (CUDA when present), 'cpu' or 'cuda'.
        threads: torch CPU threads (0: torch's default).
        checkpoint_every, log_every: in steps.
        init: weights file (``<model>.safetensors`` of a finished run, or a checkpoint) of the
            same network and architecture to start from, with a fresh optimiser and schedule
            (fine-tuning); '' starts from the seed's random initialisation.
        fusion: DenseFuse's fusion strategy, 'add' (the features summed, as trained by Im et al.)
            or 'l1-norm' (weighted by their local activity: Li and Wu's second strategy).
        data: :class:`DataConfig`.
    """

    model: str = "densefuse"
    preset: str = "mbpt"
    co_target: str = "ev0"
    alpha: float = 1000.0
    beta: float = 2.0
    mask_sigma: float = 10.0
    co_weight: float = 1.0
    mef_ssim_weight: float = 0.0
    grad_weight: float = 0.0
    steps: int = 2000
    batch: int = 4
    crop: int = 128
    lr: float = 1e-4
    schedule: str = "constant"
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    checkpoint_every: int = 200
    log_every: int = 10
    init: str = ""
    fusion: str = "add"
    data: DataConfig = field(default_factory=DataConfig)

    @property
    def mask_builder(self) -> bool:
        return PRESETS[self.preset]["mask_builder"]

    @property
    def param_tuner(self) -> bool:
        return PRESETS[self.preset]["param_tuner"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def validate(self) -> "TrainConfig":
        """Check every field; raise :class:`EdgemefError` naming the first bad one."""
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise EdgemefError(f"bad training config: {msg}")

        need(self.model == "densefuse", f"model '{self.model}' is not trainable here (use 'densefuse')")
        need(self.preset in PRESETS, f"preset '{self.preset}' (choose from {', '.join(PRESETS)})")
        need(self.co_target in CO_TARGETS, f"co_target '{self.co_target}' (choose from {', '.join(CO_TARGETS)})")
        check_common(self, need, ("steps", "batch", "checkpoint_every", "log_every"))
        for name in ("alpha", "beta", "co_weight", "mef_ssim_weight", "grad_weight"):
            need(isinstance(getattr(self, name), (int, float)) and getattr(self, name) >= 0, f"{name} must be >= 0")
        need(isinstance(self.mask_sigma, (int, float)) and self.mask_sigma > 0, "mask_sigma must be > 0")
        from edgemef.models.densefuse import FUSION_STRATEGIES

        need(self.fusion in FUSION_STRATEGIES, f"fusion '{self.fusion}' (choose from {', '.join(FUSION_STRATEGIES)})")
        return self


def check_common(cfg, need, counts: tuple[str, ...]) -> None:
    """Checks shared by every training config: device, schedule, the integer ``counts`` (>= 1),
    crop, threads, lr and ``cfg.data``; ``need(ok, message)`` raises on the first failure."""
    need(cfg.device in DEVICES, f"device '{cfg.device}' (choose from {', '.join(DEVICES)})")
    need(isinstance(cfg.seed, int) and cfg.seed >= 0, "seed must be an integer >= 0")
    need(isinstance(cfg.data.seed, int) and cfg.data.seed >= 0, "data.seed must be an integer >= 0")
    need(cfg.schedule in SCHEDULES, f"schedule '{cfg.schedule}' (choose from {', '.join(SCHEDULES)})")
    for name in counts:
        need(isinstance(getattr(cfg, name), int) and getattr(cfg, name) >= 1, f"{name} must be an integer >= 1")
    need(isinstance(cfg.crop, int) and 16 <= cfg.crop, "crop must be an integer >= 16")
    need(isinstance(cfg.threads, int) and cfg.threads >= 0, "threads must be an integer >= 0")
    need(isinstance(cfg.lr, (int, float)) and cfg.lr > 0, "lr must be > 0")
    need(isinstance(getattr(cfg, "qat", False), bool), "qat must be true or false")
    need(isinstance(cfg.init, str) and (not cfg.init or Path(cfg.init).is_file()),
         f"init '{cfg.init}' is not a weights file")
    d = cfg.data
    need(len(d.size) == 2 and all(isinstance(s, int) and s >= cfg.crop for s in d.size),
         f"data.size {d.size} must be two integers >= crop ({cfg.crop})")
    need(len(d.ev_gap) == 2 and 0 < d.ev_gap[0] <= d.ev_gap[1], "data.ev_gap must be [lo, hi] with 0 < lo <= hi")
    need(len(d.under_split) == 2 and 0 <= d.under_split[0] <= d.under_split[1] <= 1,
         "data.under_split must be [lo, hi] with 0 <= lo <= hi <= 1")
    need(isinstance(d.pool, int) and d.pool >= 0, "data.pool must be an integer >= 0")
    for name in ("dynamic", "shift_prob"):
        v = getattr(d, name)
        need(isinstance(v, (int, float)) and 0.0 <= v <= 1.0, f"data.{name} must lie in [0, 1]")
    need(isinstance(d.max_shift, int) and 1 <= d.max_shift <= cfg.crop // 4,
         f"data.max_shift must be an integer in [1, crop/4 = {cfg.crop // 4}]")


def _build(cls, data: dict[str, Any], where: str):
    if not isinstance(data, dict):
        raise EdgemefError(f"bad training config: {where or 'top level'} must be a JSON object")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise EdgemefError(f"bad training config: unknown key(s) {', '.join(where + k for k in unknown)}")
    kwargs = dict(data)
    if "data" in kwargs and known.get("data") is not None and cls is not DataConfig:
        kwargs["data"] = _build(DataConfig, kwargs["data"], "data.")
    return cls(**kwargs)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """A validated :class:`TrainConfig` from a (possibly partial) dict."""
    return _build(TrainConfig, data, "").validate()


def read_config_file(path: str | Path | None) -> dict[str, Any]:
    """The JSON object in the config file at ``path`` ({} for None).

    Raises:
        EdgemefError: unreadable file, invalid JSON or not an object.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = json.loads(Path(path).read_text())
        except OSError as e:
            raise EdgemefError(f"cannot read training config {path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise EdgemefError(f"training config {path} is not valid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(data, dict):
            raise EdgemefError(f"training config {path} must hold a JSON object")
    return data


def build_config(cls, data: dict[str, Any]):
    """A validated ``cls`` (any training config dataclass with ``validate()``) from a dict."""
    return _build(cls, data, "").validate()


def load_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Defaults, updated by the JSON file at ``path``, then by non-None ``overrides``.

    Raises:
        EdgemefError: unreadable file, invalid JSON, unknown key or bad value.
    """
    data = read_config_file(path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(data)
