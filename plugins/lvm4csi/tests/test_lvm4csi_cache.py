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
    assert len(list(tmp_path.glob("*.safetensors"))) == 2
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # atomic writes leave no temporaries


def test_live_transform_config_is_the_key(model, tmp_path, counting):
    """Only the live transform changes (model.config still records the creation-time config):
    the features change, so the cache must miss and give what a fresh extraction gives."""
    x = torch.rand(4, 20, 3, 10)
    cache = FeatureCache(tmp_path)
    recorded = json.dumps(model.config.to_json()["encoders"][0]["transform"], sort_keys=True)
    at_48 = cache.features(model, x, progress=False)
    model.transform.config["size"] = 40
    try:
        at_40 = cache.features(model, x, progress=False)
        fresh = extract_features(model, x, progress=False)
    finally:
        model.transform.config["size"] = 48
    assert json.dumps(model.config.to_json()["encoders"][0]["transform"], sort_keys=True) == recorded  # untouched
    assert not at_40.hit and len(counting) == 2
    assert at_40.path != at_48.path
    assert torch.equal(at_40.features, fresh)
    assert not torch.allclose(at_40.features, at_48.features)
    assert cache.features(model, x, progress=False).hit  # back at 48: the first entry again


def test_weights_are_hashed_once_per_model_until_they_change(model, tmp_path, monkeypatch):
    x = torch.rand(2, 20, 3, 10)
    n_tensors = len(model.backbone.state_dict())
    calls = []
    real = cache_mod.tensor_digest

    def spy(t, h=None):
        calls.append(1)
        return real(t, h)

    monkeypatch.setattr(cache_mod, "tensor_digest", spy)
    FeatureCache.record(model, x)  # may or may not hash the weights (other tests built the model)
    calls.clear()
    rec = FeatureCache.record(model, x)
    assert len(calls) == 1  # only the data
    with torch.no_grad():
        p = next(model.backbone.parameters())
        saved = p.clone()
        p.add_(1.0)  # an in-place change is detected without hashing
        try:
            calls.clear()
            changed = FeatureCache.record(model, x)
            assert len(calls) == n_tensors + 1 and changed["weights"] != rec["weights"]
        finally:
            p.copy_(saved)  # exactly (x + 1 - 1 is not always x in float)
    calls.clear()
    assert FeatureCache.record(model, x)["weights"] == rec["weights"] and len(calls) == n_tensors + 1
    state = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model.backbone.load_state_dict(state)  # same values, new version counters: hashed again, same digest
    calls.clear()
    assert FeatureCache.record(model, x)["weights"] == rec["weights"] and len(calls) == n_tensors + 1


def test_weights_change_the_key(model, tmp_path):
    x = torch.rand(2, 20, 3, 10)
    cache = FeatureCache(tmp_path)
    rec = cache.record(model, x)
    with torch.no_grad():
        p = next(model.backbone.parameters())
        saved = p.clone()
        p.add_(1.0)
        try:
            assert cache.key_of(cache.record(model, x)) != cache.key_of(rec)
        finally:
            p.copy_(saved)  # exactly (x + 1 - 1 is not always x in float)


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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_features_run_on_the_model_device_with_its_autocast(model):
    import copy

    x = torch.rand(4, 20, 3, 10)  # CPU inputs: moved to the model's device batch by batch
    gpu = copy.deepcopy(model).cuda()
    cpu = extract_features(model, x, progress=False)
    for bf16, tol in ((False, 1e-3), (True, 0.1)):
        feats = extract_features(gpu, x, bf16=bf16, progress=False)
        assert feats.device.type == "cpu" and feats.dtype == torch.float32
        assert (feats - cpu).norm() / cpu.norm() < tol
