"""Training-test helpers: one torch thread (the machine is shared), a tiny in-memory scene pool."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_planes(n: int = 3, size: int = 48, seed: int = 0) -> np.ndarray:
    """(n, 5, size, size) float16 stand-in for rendered scenes: smooth texture as 'radiance',
    under = dark copy, over = clipped bright copy, ev0 = label = mertens = the texture."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 5, size, size), np.float16)
    for i in range(n):
        small = rng.random((size // 8, size // 8))
        tex = np.kron(small, np.ones((8, 8)))
        tex = 0.15 + 0.7 * (tex - tex.min()) / (np.ptp(tex) + 1e-6)
        out[i] = [tex * 0.35, np.clip(tex * 1.9, 0, 1), tex, tex, tex]
    return out


@pytest.fixture
def tiny_pool():
    from edgemef.train.dataset import ScenePool

    return ScenePool.from_array(tiny_planes())
