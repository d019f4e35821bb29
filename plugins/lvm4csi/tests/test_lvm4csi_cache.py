"""Feature cache: extracted once, reused, rebuilt when stale or corrupt; heads train on it."""

import json

import pytest
import torch
from zoo_lvm4csi import cache as cache_mod
from zoo_lvm4csi.cache import FeatureCache, extract_features

import zoo_core


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = zoo_core.create_model("lvm4csi/har-efficientnet-lite0")
    m.transform.config["size"] = 48  # small images keep the test fast
    return m.eval()


@pytest.fixture
def counting(monkeypatch):
    calls = []
    real = cache_mod.extract_features

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_mod, "extract_features", spy)
    return calls


def test_hit_after_miss_and_keyed_by_data_and_transform(model, tmp_path, counting):
    x = torch.rand(6, 20, 3, 10)
    cache = FeatureCache(tmp_path)
    first = cache.features(model, x, batch_size=4, progress=False)
    second = cache.features(model, x, batch_size=4, progress=False)
    assert (first.hit, second.hit, len(counting)) == (False, True, 1)
    assert torch.equal(first.features, second.features)
    with torch.no_grad():
        torch.testing.assert_close(first.features, model.forward_features(x))
    assert not cache.features(model, x + 0.1, progress=False).hit  # other data
    model.config["transform"]["config"]["size"] = 40
    model.transform.config["size"] = 40
    try:
        assert not cache.features(model, x, progress=False).hit  # other transform config
    finally:
        model.config["transform"]["config"]["size"] = 224
        model.transform.config["size"] = 48
    assert len(list(tmp_path.glob("*.safetensors"))) == 3
    assert not list(tmp_path.glob(".tmp-*"))  # atomic writes leave no temporaries


def test_weights_change_the_key(model, tmp_path):
    x = torch.rand(2, 20, 3, 10)
    cache = FeatureCache(tmp_path)
    rec = cache.record(model, x)
    with torch.no_grad():
        p = next(model.backbone.parameters())
        p.add_(1.0)
        try:
            assert cache.key_of(cache.record(model, x)) != cache.key_of(rec)
        finally:
            p.sub_(1.0)


@pytest.mark.parametrize("damage", ["truncate", "flip", "json", "stale"])
def test_corrupt_or_stale_entries_are_rebuilt(model, tmp_path, counting, damage):
    x = torch.rand(3, 20, 3, 10)
    cache = FeatureCache(tmp_path)
    good = cache.features(model, x, progress=False).features
    tensor_path, meta_path = cache.paths(cache.key_of(cache.record(model, x)))
    if damage == "truncate":
        tensor_path.write_bytes(tensor_path.read_bytes()[:50])
    elif damage == "flip":
        raw = bytearray(tensor_path.read_bytes())
        raw[-3] ^= 0xFF
        tensor_path.write_bytes(bytes(raw))
    elif damage == "json":
        meta_path.write_text("{not json")
    else:
        meta = json.loads(meta_path.read_text())
        meta["record"]["format"] = -1
        meta_path.write_text(json.dumps(meta))
    again = cache.features(model, x, progress=False)
    assert not again.hit and len(counting) == 2
    assert torch.equal(again.features, good)
    assert cache.features(model, x, progress=False).hit


def test_bf16_autocast_features_are_close(model):
    x = torch.rand(4, 20, 3, 10)
    fp32 = extract_features(model, x, progress=False)
    bf16 = extract_features(model, x, bf16=True, progress=False)
    assert bf16.dtype == torch.float32
    rel = (bf16 - fp32).norm() / fp32.norm()
    assert rel < 0.1, rel
