"""Parity, measured after every export: the artifact against the PyTorch model on real brackets.

Both sides get the same aligned frames and the same :func:`edgemef.netio.prepare_input` /
:func:`edgemef.netio.finish_output`; the artifact runs through ``edgemef.runtimes.load(...).fuse``
(tiling included), the PyTorch model through a plain forward. Recorded: PSNR between the two
fused images (worst pair and mean) and the change in MEF-SSIM (artifact minus PyTorch).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.export.targets import MEF_SSIM_TOLERANCE, PSNR_THRESHOLDS_DB
from edgemef.manifest import Manifest
from edgemef.metrics.reference import psnr_capped
from edgemef.netio import example_extra_inputs, finish_output, prepare_input

DEFAULT_PAIRS = 4


def parity_sets(pairs_dir: str | os.PathLike | None, exposures: int, max_pairs: int = DEFAULT_PAIRS,
                max_side: int | None = None, align: bool = True) -> list[tuple[str, list[np.ndarray]]]:
    """(name, aligned frames) for up to ``max_pairs`` bracket sets with ``exposures`` frames.

    Args:
        pairs_dir: folder of bracket sets (mefb-dev layout); None: the bundled samples.
        exposures: frames per set the model fuses (other sets are skipped).
        max_pairs: use the first this many usable sets (sorted by name).
        max_side: downscale frames so their longest side is at most this (None: full size).
        align: align as the runtime does.

    Raises:
        EdgemefError: no usable set.
    """
    import cv2

    from edgemef.calibration.data import runtime_images
    from edgemef.io import find_bracket_sets

    if pairs_dir is None:
        from edgemef.samples import sample_sets

        try:
            sets, where = sample_sets(), "the bundled samples"
        except EdgemefError as e:
            raise EdgemefError(f"{e}; pass --parity-pairs DIR with real bracket sets") from None
    else:
        sets, where = find_bracket_sets(pairs_dir), str(pairs_dir)
    out = []
    for name, files in sets:
        if len(out) >= max_pairs:
            break
        if len(files) != exposures:
            continue
        frames = runtime_images(files, align=False)
        h, w = frames[0].shape[:2]
        if max_side and max(h, w) > max_side:
            s = max_side / max(h, w)
            size = (max(8, round(w * s)), max(8, round(h * s)))
            frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        if align:
            from edgemef.align import align_brackets
            from edgemef.fusion import pick_reference

            frames = align_brackets(frames, pick_reference(frames)).images
        out.append((name, frames))
    if not out:
        raise EdgemefError(f"no parity brackets with {exposures} frames in {where} (pass --parity-pairs DIR)")
    return out


def torch_fuse(module, images: list, manifest: Manifest, exposure_times=None) -> np.ndarray:
    """The PyTorch reference: prepare_input -> forward(x, *further inputs) -> finish_output.

    The further inputs (exposure ratios) come from the same :func:`prepare_input` the runtime
    uses, so both sides see the same ratios, EXIF-derived or estimated.
    """
    import torch

    x, ctx = prepare_input(images, manifest, exposure_times)
    extra = [torch.from_numpy(ctx.extra[e["name"]]) for e in manifest.extra_inputs]
    with torch.inference_mode():
        y = module(torch.from_numpy(x), *extra).float().numpy()
    return finish_output(y, ctx, manifest)


def measure_parity(artifact: str | Path, module, manifest: Manifest, sets, *, backend: str | None = None,
                   threads: int | None = None, runtime=None) -> dict:
    """Run artifact and PyTorch model on the same sets; return the figures.

    Args:
        artifact: the exported file (loaded with ``edgemef.runtimes.load``) unless ``runtime`` is given.
        module: the PyTorch network (eval mode).
        manifest: the PyTorch side's manifest (same pre/post-processing as the artifact's).
        sets: from :func:`parity_sets`.
        backend: force a runtime backend (e.g. 'onnxruntime' for a TensorRT-ready ONNX).
        threads: runtime threads.
        runtime: an already loaded runtime.

    Returns:
        dict with pairs, names, psnr_db_min, psnr_db_mean, mef_ssim_ref, mef_ssim, mef_ssim_delta
        (mean), mef_ssim_delta_max_abs, backend, precision_used; for networks taking exposure
        ratios also exposure_ratios ({set: {'ratios': [...], 'estimated': bool}}), the ratios both
        sides were fed.
    """
    from edgemef.metrics import mef_ssim
    from edgemef.runtimes import load

    rt = runtime or load(artifact, backend=backend, threads=threads)
    psnrs, refs, arts, ratios = [], [], [], {}
    for name, frames in sets:
        ref = torch_fuse(module, frames, manifest)
        out = rt.fuse(frames)
        if out.shape != ref.shape:
            raise EdgemefError(f"parity: artifact output {out.shape} differs from PyTorch's {ref.shape}")
        if "exposure_ratios" in rt.last_info:
            ratios[name] = {"ratios": rt.last_info["exposure_ratios"], "estimated": rt.last_info["ratios_estimated"]}
        psnrs.append(psnr_capped(out, ref))
        refs.append(mef_ssim(ref, frames))
        arts.append(mef_ssim(out, frames))
    deltas = np.array(arts) - np.array(refs)
    info = rt.backend.info()
    h, w = sets[0][1][0].shape[:2]

    def num(v: float, digits: int = 5):  # JSON has no NaN: an undefined figure is None
        return None if not np.isfinite(v) else round(float(v), digits)

    extra = {"exposure_ratios": ratios} if ratios else {}
    return {"pairs": len(sets), "names": [n for n, _ in sets], "first_size": f"{w}x{h}", **extra,
            "psnr_db_min": num(min(psnrs), 3), "psnr_db_mean": num(np.mean(psnrs), 3),
            "mef_ssim_ref": num(np.mean(refs)), "mef_ssim": num(np.mean(arts)),
            "mef_ssim_delta": num(deltas.mean()), "mef_ssim_delta_max_abs": num(np.abs(deltas).max()),
            "backend": f"{info['backend']} {info.get('version') or ''}".strip(),
            "precision_used": str(info.get("precision"))}


def check_parity(parity: dict, precision: str) -> dict:
    """Add the thresholds and the verdict; raise when the artifact is not close enough.

    Raises:
        EdgemefError: worst-pair PSNR below the precision's threshold, or (int8) mean MEF-SSIM
            change larger than the tolerance.
    """
    need = PSNR_THRESHOLDS_DB[precision]
    tol = MEF_SSIM_TOLERANCE[precision]
    parity["thresholds"] = {"psnr_db_min": need, "mef_ssim_delta_abs": tol}
    problems = []
    psnr = parity["psnr_db_min"]
    if psnr is None:
        problems.append("the artifact's output is not finite")
    elif psnr < need:
        problems.append(f"PSNR {psnr:.2f} dB < {need:.0f} dB")
    delta = parity["mef_ssim_delta"]
    if tol is not None and delta is None:
        problems.append("MEF-SSIM is undefined on these brackets, so the int8 quality check cannot run "
                        "(use other --parity-pairs)")
    elif tol is not None and abs(delta) > tol:
        problems.append(f"MEF-SSIM changed by {delta:+.4f} (limit +/-{tol})")
    parity["passed"] = not problems
    if problems:
        raise EdgemefError(f"{precision} parity check failed against PyTorch on {parity['pairs']} pair(s): "
                           f"{'; '.join(problems)}")
    return parity


def latency_ms(runtime, height: int = 720, width: int = 1280, repeats: int = 3) -> float:
    """Best-of-``repeats`` network time (ms) of one (height x width) call after a warm-up."""
    c = runtime.manifest.exposures * (1 if runtime.manifest.colour_space == "lab-l" else 3)
    hp, wp = runtime.padded_size(height, width)
    x = np.random.default_rng(0).random((1, c, hp, wp), dtype=np.float32)
    extra = example_extra_inputs(runtime.manifest) or None
    runtime.infer(x, extra)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        runtime.infer(x, extra)
        best = min(best, time.perf_counter() - t)
    return float(best * 1e3)
