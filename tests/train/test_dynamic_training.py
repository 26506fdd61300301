"""Dynamic data in DenseFuse training: the pool, the crops, the shift, the loss's static sources."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgemef.errors import EdgemefError  # noqa: E402
from edgemef.train.config import DataConfig, load_config  # noqa: E402
from edgemef.train.dataset import DYNAMIC_PLANES, PLANES, BracketCrops, ScenePool, fetch_batch  # noqa: E402
from edgemef.train.tasks import compute_loss  # noqa: E402


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    """A static and a fully dynamic pool of the same 4 scenes (rendered, 96 px)."""
    cache = tmp_path_factory.mktemp("pools")
    kw = {"pool": 4, "size": [96, 96], "cache_dir": str(cache)}
    return ScenePool(DataConfig(**kw), progress=False), ScenePool(DataConfig(dynamic=1.0, **kw), progress=False)


def test_dynamic_pool_changes_only_the_under_frame(pools):
    static, dynamic = pools
    assert static.planes.shape[1] == len(PLANES) and dynamic.planes.shape[1] == len(DYNAMIC_PLANES)
    s, d = np.asarray(static.planes), np.asarray(dynamic.planes)
    # over, ev0, label and the Mertens co-target are the static scene's, byte for byte
    assert np.array_equal(d[:, 1:5], s[:, 1:5])
    # the sixth plane is the static under frame; the input under frame has the objects
    assert np.array_equal(d[:, 5], s[:, 0])
    changed = [not np.array_equal(d[i, 0], d[i, 5]) for i in range(4)]
    assert sum(changed) >= 2, "most scenes should receive at least one object"


def test_dynamic_pool_has_its_own_cache_entry(pools, tmp_path):
    static, dynamic = pools
    assert static.cache_path != dynamic.cache_path
    again = ScenePool(dynamic.cfg, progress=False)  # read back, not re-rendered
    assert np.array_equal(np.asarray(again.planes), np.asarray(dynamic.planes))


def test_crops_feed_the_dynamic_under_and_keep_static_sources(pools):
    _, dynamic = pools
    ds = BracketCrops(dynamic, 64, seed=1)
    found = False
    for n in range(12):
        item = ds[n]
        assert torch.equal(item["inputs"][1], item["sources"][1])  # the over frame is shared
        found |= not torch.equal(item["inputs"][0], item["sources"][0])
    assert found, "some crops should show an inserted object in the under input only"


def test_shift_moves_the_under_input_only(tiny_pool):
    planes = np.asarray(tiny_pool.planes)
    pool = ScenePool.from_array(planes, shift_prob=1.0, max_shift=3)
    ds = BracketCrops(pool, 32, seed=0, augment=False)
    for n in range(4):
        item = ds[n]
        u, src = item["inputs"][0].numpy(), item["sources"][0].numpy()
        assert not np.array_equal(u, src)
        assert torch.equal(item["inputs"][1], item["sources"][1])
        # the input is the source moved by some (dy, dx) with |dy|, |dx| <= 3: find it
        hits = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4) if (dy or dx)
                and np.array_equal(u[3 + dy:29 + dy, 3 + dx:29 + dx], src[3:29, 3:29])]
        assert hits, f"sample {n}: input is not a small shift of the source"
        assert torch.equal(ds[n]["inputs"], item["inputs"])  # deterministic in (seed, n)
    unshifted = BracketCrops(ScenePool.from_array(planes), 32, seed=0, augment=False)[0]
    assert torch.equal(unshifted["inputs"], unshifted["sources"])


def test_loss_sources_are_the_static_frames(tiny_pool):
    from edgemef.models import create_model
    from edgemef.train.mef_ssim_loss import mef_ssim

    cfg = load_config(None, preset="mb", co_target="mertens", mef_ssim_weight=1.0)
    batch = fetch_batch(BracketCrops(tiny_pool, 48, seed=0), 0, 2)
    batch["inputs"] = batch["inputs"].clone()
    batch["inputs"][:, 0, 8:20, 8:20] = 0.9  # an "object" in the under input only
    model = create_model("densefuse").eval()
    torch.manual_seed(0)
    _, parts = compute_loss(model, batch, cfg)
    with torch.no_grad():
        fused = model(batch["inputs"]).clamp(0, 1)
        want = cfg.alpha * (1 - mef_ssim(batch["sources"], fused))
        wrong = cfg.alpha * (1 - mef_ssim(batch["inputs"], fused))
    assert parts["mef"] == pytest.approx(want.mean().item(), rel=1e-5)
    assert abs(parts["mef"] - wrong.mean().item()) > 1e-3


@pytest.mark.parametrize("data, msg", [({"dynamic": 1.5}, "data.dynamic"), ({"shift_prob": -0.1}, "data.shift_prob"),
                                       ({"max_shift": 0}, "data.max_shift")])
def test_bad_dynamic_settings_are_refused(data, msg):
    with pytest.raises(EdgemefError, match=msg):
        load_config(None, data=data)


def test_rgb_pool_takes_the_dynamic_under_frame(tmp_path):
    """The RGB/HDR pool of the two-phase network and STHDR: the same dynamic under frames as the
    luminance pool's source, everything else the static scene's."""
    from edgemef.data.dynamic import DynamicBrackets
    from edgemef.train.rgb_dataset import RGBCrops, RGBScenePool

    kw = {"pool": 3, "size": [96, 96], "cache_dir": str(tmp_path)}
    static, dynamic = RGBScenePool(DataConfig(**kw), progress=False), RGBScenePool(DataConfig(dynamic=1.0, **kw),
                                                                                  progress=False)
    src = DynamicBrackets(size=(96, 96), fraction=1.0)
    s, d = np.asarray(static.planes), np.asarray(dynamic.planes)
    assert np.array_equal(d[:, 3:], s[:, 3:]) and np.array_equal(dynamic.times, static.times)
    for i in range(3):
        want = np.clip(src[i].under, 0, 1).transpose(2, 0, 1).astype(np.float16)
        assert np.array_equal(d[i, 0:3], want)
    assert any(not np.array_equal(d[i, 0:3], s[i, 0:3]) for i in range(3))
    shifted = RGBCrops(RGBScenePool.from_arrays(s, static.times, shift_prob=1.0, max_shift=2), 64, augment=False)
    plain = RGBCrops(RGBScenePool.from_arrays(s, static.times), 64, augment=False)
    a, b = shifted[0], plain[0]
    assert not torch.equal(a["inputs"][0:3], b["inputs"][0:3]) and torch.equal(a["inputs"][3:], b["inputs"][3:])
    assert torch.equal(a["label"], b["label"]) and torch.equal(a["hdr"], b["hdr"])
    # the MEF-SSIM sources and the Mertens co-target stay static and unshifted
    assert np.array_equal(d[:, 18:21], s[:, 0:3]) and np.array_equal(d[:, 15:18], s[:, 15:18])
    dyn = RGBCrops(RGBScenePool.from_arrays(d, dynamic.times, shift_prob=1.0, max_shift=2), 64, augment=False)[0]
    assert torch.equal(dyn["sources"], b["inputs"]) and not torch.equal(dyn["inputs"], b["inputs"])
