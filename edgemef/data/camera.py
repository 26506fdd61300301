"""A simple random camera: exposure, shot + read noise, white balance, response curve, 8 bits.

Signal model per pixel and channel (linear, 1.0 = saturation):
``s = M @ radiance * K * t`` (M: white balance and a saturation matrix),
``x = clip(s + N(0, shot * s + read^2), 0, 1)``, then the response curve (a gamma/sigmoid family
around sRGB), 8-bit quantisation and, sometimes, JPEG compression. One camera is shared by all
frames of a set.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgemef.data.fastops import luminance, quantiles, randn, scale_channels

SENSITIVITY = 1.0  # K: sensor units per (radiance unit * second)
_TO_FLOAT = np.arange(256, dtype=np.float32) / np.float32(255.0)
MID_GREY = 0.46    # display value the EV0 frame's median luminance lands on (18 % grey in sRGB)


@dataclass
class Camera:
    """Parameters of one simulated camera (see :func:`random_camera`)."""

    gamma: float            # base power-law exponent, display = x ** (1 / gamma)
    contrast: float         # sigmoid strength mixed in (0 = pure gamma)
    mix: float              # weight of the sigmoid in the response
    wb: np.ndarray          # (3,) white-balance gains on linear RGB
    color: np.ndarray       # (3, 3) saturation matrix (rows sum to 1, keeps luminance)
    shot: float             # shot-noise variance per unit signal (1 / full-well electrons at ISO)
    read: float             # read-noise std (sensor units)
    noise_blur: float       # demosaic-like spatial correlation of noise (Gaussian sigma, 0 = none)
    jpeg: int               # JPEG quality, 0 = lossless PNG-like output
    lut: np.ndarray         # (2, 256) response table (values, slopes) in the sqrt(x) domain

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) colour matrix from scene radiance to sensor RGB: saturation @ white balance."""
        return (self.color @ np.diag(self.wb)).astype(np.float32)

    def response(self, x: np.ndarray, clipped: bool = False) -> np.ndarray:
        """Apply the response curve to linear values (clipped to [0, 1]), float32 out.

        A 256-knot piecewise-linear table in the sqrt(x) domain, looked up with ``cv2.LUT``
        (max error about 1e-4, far below one 8-bit step). ``clipped``: ``x`` is already in [0, 1].
        """
        s = cv2.sqrt(x if clipped else np.clip(x, 0.0, 1.0))
        s *= np.float32(255.0)
        i = cv2.convertScaleAbs(s, alpha=1.0, beta=-0.5)  # floor(s) as uint8
        frac = cv2.subtract(s, i, dtype=cv2.CV_32F)
        return cv2.LUT(i, self.lut[0]) + frac * cv2.LUT(i, self.lut[1])

    def response_exact(self, x: np.ndarray) -> np.ndarray:
        """The response curve evaluated directly (slow reference for tests)."""
        return _curve_fn(np.clip(np.asarray(x, np.float64), 0.0, 1.0), self.gamma, self.contrast, self.mix)

    def inverse(self, y: float) -> float:
        """Linear value whose response is ``y``."""
        u = np.linspace(0.0, 1.0, 256)
        return float(np.interp(y, self.lut[0], u) ** 2)


def _curve_fn(x: np.ndarray, gamma: float, contrast: float, mix: float) -> np.ndarray:
    # sRGB-like: a linear toe joined to a power law, generalised to any gamma
    x0 = 0.0031308 * (2.4 / gamma) ** 2
    a = 0.055
    g = np.where(x <= x0, x * (((1 + a) * x0 ** (1 / gamma) - a) / x0), (1 + a) * np.power(x, 1 / gamma) - a)
    g = np.clip(g, 0.0, 1.0)
    if mix > 0:
        s = 1 / (1 + np.exp(-contrast * (g - 0.5)))
        s0, s1 = 1 / (1 + np.exp(contrast * 0.5)), 1 / (1 + np.exp(-contrast * 0.5))
        g = (1 - mix) * g + mix * (s - s0) / (s1 - s0)
    return np.clip(g, 0.0, 1.0)


def _curve(gamma: float, contrast: float, mix: float) -> np.ndarray:
    """(2, 256) table: values and slopes at knots u = k / 255 of the sqrt domain."""
    v = _curve_fn(np.linspace(0.0, 1.0, 256) ** 2, gamma, contrast, mix)
    d = np.append(np.diff(v), 0.0)
    return np.stack([v, d]).astype(np.float32)


def random_camera(rng: np.random.Generator) -> Camera:
    """Draw a camera: response around sRGB, white balance, noise level from clean to high-ISO."""
    gamma = rng.uniform(1.8, 2.6)
    contrast, mix = rng.uniform(3.0, 8.0), rng.uniform(0.0, 0.6)
    wb = np.exp(rng.normal(0.0, 0.06, 3)).astype(np.float32)
    wb /= wb[1]
    sat = rng.uniform(0.8, 1.2)
    grey = np.tile(np.array([0.2126, 0.7152, 0.0722], np.float32), (3, 1))
    color = sat * np.eye(3, dtype=np.float32) + (1 - sat) * grey  # rows sum to 1: white stays white
    shot = 10 ** rng.uniform(-4.3, -2.6)
    read = 10 ** rng.uniform(-3.7, -2.5)
    noise_blur = rng.uniform(0.4, 0.9) if rng.random() < 0.5 else 0.0
    jpeg = int(rng.integers(80, 98)) if rng.random() < 0.25 else 0
    return Camera(gamma, contrast, mix, wb, color.astype(np.float32), shot, read, noise_blur, jpeg,
                  _curve(gamma, contrast, mix))


def expose(cam: Camera, radiance: np.ndarray, t: float, rng: np.random.Generator | None = None,
           quantize: bool = True) -> np.ndarray:
    """Render one frame ``(H, W, 3)`` float32 in [0, 1] with exposure time ``t`` seconds.

    Args:
        rng: noise source; None renders a noise-free frame (and skips JPEG).
        quantize: round to the 8-bit grid (values k / 255).
    """
    x = cv2.transform(radiance, cam.matrix * np.float32(SENSITIVITY * t))
    if rng is not None:
        r2 = np.float32(cam.read ** 2)
        var = x * np.float32(cam.shot)
        var += r2
        sigma = cv2.sqrt(np.maximum(var, r2, out=var))  # x < 0 only from the colour matrix
        n = randn(rng, x.shape)
        if cam.noise_blur > 0:
            n = cv2.GaussianBlur(n, (0, 0), cam.noise_blur)
            n *= np.float32(1.0 + cam.noise_blur)
        sigma *= n
        x += sigma
    np.clip(x, 0.0, 1.0, out=x)  # sensor saturation
    y = cam.response(x, clipped=True)
    if not quantize:
        return y
    q = cv2.convertScaleAbs(y, alpha=255.0)  # round to nearest, saturate
    if cam.jpeg and rng is not None:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(q, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, cam.jpeg])
        q = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return cv2.LUT(q, _TO_FLOAT)  # k / 255: exactly what edgemef.io.load_image gives for an 8-bit PNG


def ev0_time(cam: Camera, radiance: np.ndarray) -> float:
    """Exposure time that puts the median luminance of the rendered frame on mid-grey
    (:data:`MID_GREY`): a first guess from the linear median, then two corrections measured on
    a noise-free render of a 1/4-scale subsample (colourful scenes render darker than grey)."""
    small = np.ascontiguousarray(radiance[::4, ::4])
    target = cam.inverse(MID_GREY)
    med = quantiles(luminance(scale_channels(small, cam.wb)), [50.0])[0]
    t = target / (SENSITIVITY * max(med, 1e-12))
    for _ in range(2):
        m = quantiles(luminance(expose(cam, small, t, None, quantize=False)), [50.0])[0]
        if abs(m - MID_GREY) < 0.005:
            break
        t *= target / max(cam.inverse(min(max(m, 0.02), 0.98)), 1e-9)
    return t


def highlight_time(cam: Camera, radiance: np.ndarray, q: float = 99.5) -> float:
    """Exposure time at which the ``q``-th percentile of the (white-balanced) sensor signal,
    taken over all channels, reaches 0.95 of saturation."""
    sig = scale_channels(np.ascontiguousarray(radiance[::2, ::2]), cam.wb)
    return 0.95 / (SENSITIVITY * max(quantiles(sig, [q])[0], 1e-12))
