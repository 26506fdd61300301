"""Render the bundled sample brackets into ``edgemef/assets/samples/<name>/``.

    python -m edgemef.data.make_samples [--out DIR] [--preview PNG]

Each sample is one synthetic HDR scene shot by one random camera at 2 or 3 exposures, with a
little hand-held camera shake between frames (a few pixels of translation and a fraction of a
degree of rotation, applied to the radiance before exposure) so that alignment has work to do.
Deterministic: the same code writes the same files.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgemef.data.camera import ev0_time, expose, random_camera
from edgemef.data.scenes import render_radiance
from edgemef.io import atomic_write_bytes, save_image, to_uint

SIZE = (360, 480)  # (H, W)
MARGIN = 16        # extra radiance border that shaken frames can pull in
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "samples"


@dataclass(frozen=True)
class Sample:
    """One bundled scene: folder name, scene family, seed, exposures (EV relative to EV0)."""

    name: str
    kind: str
    seed: int
    evs: dict[str, float]
    shake_seed: int = 0


SAMPLES = (
    Sample("window_room", "interior", 0, {"under": -4.5, "mid": -1.5, "over": 1.0}, 1),
    Sample("arch_view", "outdoor", 7, {"under": -2.5, "over": 1.5}, 2),
    Sample("night_street", "night", 6, {"under": -3.0, "over": 1.0}, 3),
)


def shake(rng: np.random.Generator, radiance: np.ndarray, size: tuple[int, int], still: bool) -> np.ndarray:
    """Crop ``size`` from the middle of ``radiance`` after a small random rotation + shift."""
    h, w = size
    ang = 0.0 if still else rng.uniform(-0.6, 0.6)
    tx, ty = (0.0, 0.0) if still else tuple(rng.uniform(-5.0, 5.0, 2))
    big_h, big_w = radiance.shape[:2]
    m = cv2.getRotationMatrix2D((big_w / 2, big_h / 2), ang, 1.0)
    m[:, 2] += np.array([tx - (big_w - w) / 2, ty - (big_h - h) / 2])
    return cv2.warpAffine(radiance, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def render_sample(s: Sample) -> dict[str, np.ndarray]:
    """The frames of one sample, ``{name: float32 (H, W, 3)}``, darkest first."""
    rng = np.random.default_rng([7, s.seed])
    radiance, _ = render_radiance(rng, (SIZE[0] + 2 * MARGIN, SIZE[1] + 2 * MARGIN), s.kind)
    cam = random_camera(rng)
    cam.shot, cam.read, cam.jpeg, cam.noise_blur = 10 ** -4.6, 10 ** -4.0, 0, 0.0  # a good camera at base ISO
    t0 = ev0_time(cam, radiance)
    srng = np.random.default_rng([11, s.shake_seed])
    frames = {}
    ref = "mid" if "mid" in s.evs else "under"
    for name, ev in sorted(s.evs.items(), key=lambda kv: kv[1]):
        view = shake(srng, radiance, SIZE, still=name == ref)
        frames[name] = expose(cam, view, t0 * 2.0 ** ev, srng)
    return frames


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Folder to write <name>/ sample folders into.")
    ap.add_argument("--preview", type=Path, help="Also write a montage of all frames to this PNG.")
    args = ap.parse_args(argv)
    rows = []
    for s in SAMPLES:
        frames = render_sample(s)
        folder = args.out / s.name
        folder.mkdir(parents=True, exist_ok=True)
        for name, img in frames.items():
            ok, buf = cv2.imencode(".png", cv2.cvtColor(to_uint(img), cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_PNG_COMPRESSION, 9])
            atomic_write_bytes(folder / f"{name}.png", buf.tobytes())
            os.chmod(folder / f"{name}.png", 0o644)  # temp files are created 0600
        print(f"{folder}: {', '.join(f'{n}.png' for n in frames)}")
        row = [cv2.resize(f, (SIZE[1] // 2, SIZE[0] // 2), interpolation=cv2.INTER_AREA) for f in frames.values()]
        row += [np.ones_like(row[0])] * (3 - len(row))
        rows.append(np.hstack(row))
    if args.preview:
        save_image(args.preview, np.vstack(rows))


if __name__ == "__main__":
    main()
