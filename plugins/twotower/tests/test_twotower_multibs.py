"""Multi-BS positioning (Fig. 11): grouping by UE against a brute-force search, the k·128 head
input for k = 1, 2, 3, and the typed refusals."""

import dataclasses

import numpy as np
import pytest
import torch

from zoo_core.bench.strategy import ModelRef, StrategyError, Subset, get_strategy
from zoo_core.tasks import get_task


def _by_ue(data, task, n=150):
    """Train / val / test subsets of the first n samples with every UE in one of them (a UE's
    CSI at another BS in training would leak its position into the k-BS input)."""
    from zoo_twotower.multibs import ue_keys

    i = np.arange(n)
    part = ue_keys(data)[i] % 5
    return (Subset(data, i[part < 3], task), Subset(data, i[part == 3], task), Subset(data, i[part == 4], task))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from zoo_twotower.model import create

    torch.manual_seed(0)
    return create("tiny", "crnn-msnn").save_pretrained(tmp_path_factory.mktemp("tt") / "model")


def test_partners_are_the_same_ue_at_other_bss_strongest_first(city_small):
    from zoo_twotower.multibs import partners

    d = city_small
    idx = np.arange(0, len(d), 7)
    table = partners(d, idx, 4)
    ue, bs = d.extras["ue_id"], d.extras["bs_id"]
    power = (np.abs(d.csi) ** 2).reshape(len(d), -1).mean(1)
    for row, i in zip(table, idx):
        others = [j for j in range(len(d)) if ue[j] == ue[i] and j != i]  # brute force
        others = sorted(others, key=lambda j: -power[j])[:3]
        assert row[0] == i and list(row[1:1 + len(others)]) == others and (row[1 + len(others):] == -1).all()
        assert len(set(bs[row[row >= 0]])) == (row >= 0).sum()  # each BS once
    assert (table[:, 1] >= 0).mean() > 0.5  # most UEs have a 2nd BS (outage pairs and the cut last area lack some)


def test_bs_order_puts_the_other_bss_by_index(city_small):
    from zoo_twotower.multibs import bs_keys, partners

    d = city_small
    idx = np.arange(0, len(d), 5)
    table = partners(d, idx, 5, order="bs")
    ue, bs = d.extras["ue_id"], d.extras["bs_id"]
    for row, i in zip(table, idx):
        others = sorted((j for j in range(len(d)) if ue[j] == ue[i] and j != i), key=lambda j: bs[j])
        assert list(row[row >= 0]) == [i] + others
    plain = dataclasses.replace(d, extras={k: v for k, v in d.extras.items() if k != "bs_id"})
    assert len(set(zip(bs_keys(plain).tolist(), bs.tolist()))) == len(set(bs.tolist()))  # same partition
    with pytest.raises(ValueError, match="order must be one of"):
        partners(d, idx, 2, order="angle")


def test_ue_keys_without_ue_id_group_by_area_and_position(city_small):
    from zoo_twotower.multibs import ue_keys

    plain = dataclasses.replace(city_small, extras={k: v for k, v in city_small.extras.items() if k != "ue_id"})
    a, b = ue_keys(plain), city_small.extras["ue_id"]
    # the same partition: a bijection between the two labelings
    pairs = set(zip(a.tolist(), b.tolist()))
    assert len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_head_reads_k_concatenated_embeddings(city_small, saved, k):
    from zoo_twotower.model import load
    from zoo_twotower.multibs import concatenated, partners
    from zoo_twotower.strategies import _Rows, features

    task = get_task("positioning")
    train, val, test = _by_ue(city_small, task)
    pred = get_strategy("twotower/multi-bs").adapt(ModelRef("twotower/env-csi-tiny", str(saved)), task, train, val,
                                                   seed=0, progress=False, k=k, epochs=2, lr=2e-3, batch_size=32,
                                                   hidden=64)
    assert pred.trainable_parameters == (k * 128 * 64 + 64) + (64 * 3 + 3)  # head input k·128
    assert pred.predict(test).shape == (len(test), 3)
    # slot j of the input is the frozen CFENN embedding of partner j
    net = load(str(saved))
    x, short = concatenated(lambda d, j: features(net, _Rows(d, j), "csi"), city_small, test.indices, k)
    assert x.shape == (len(test), k * 128)
    table = partners(city_small, test.indices, k)
    direct = features(net, _Rows(city_small, table[:, -1].clip(0)), "csi")
    filled = table[:, -1] >= 0
    torch.testing.assert_close(x[filled, -128:], direct[filled], rtol=1e-4, atol=1e-5)
    assert (x[~filled, -128:] == 0).all() and short == int((~filled).sum())


def test_one_bs_per_ue_is_refused_with_a_reason(saved):
    from zoo_core.data.generators.city import generate

    single = generate(60, seed=2, n_bs=1, n_ue=30)
    task = get_task("positioning")
    s = get_strategy("twotower/multi-bs")
    assert "one BS per UE" in s.supports(task, single)
    sub = Subset(single, np.arange(40), task)
    with pytest.raises(StrategyError, match="one BS per UE"):
        s.adapt(ModelRef("twotower/env-csi-tiny", str(saved)), task, sub, sub, progress=False, k=2, epochs=1)


def test_one_bs_is_the_frozen_head(city_small, saved):
    task = get_task("positioning")
    train, val, test = _by_ue(city_small, task)
    ref = ModelRef("twotower/env-csi-tiny", str(saved))
    opts = dict(seed=0, progress=False, epochs=2, lr=2e-3, batch_size=32, hidden=64)
    one = get_strategy("twotower/multi-bs").adapt(ref, task, train, val, k=1, **opts).predict(test)
    head = get_strategy("twotower/frozen-head").adapt(ref, task, train, val, **opts).predict(test)
    np.testing.assert_allclose(one, head, rtol=1e-5, atol=1e-4)


def test_a_split_that_puts_one_ue_in_train_and_test_is_refused(city_small, saved):
    """A UE's pair at BS a in training and its pair at BS b in test share all k embeddings:
    the head could recall the position, so the strategy refuses such a split."""
    from zoo_twotower.multibs import ue_keys

    task = get_task("positioning")
    train, val, test = _by_ue(city_small, task)
    keys = ue_keys(city_small)
    leaky = np.concatenate([test.indices, train.indices[:5]])
    assert np.isin(keys[train.indices[:5]], keys[train.indices]).all()
    pred = get_strategy("twotower/multi-bs").adapt(ModelRef("twotower/env-csi-tiny", str(saved)), task, train, val,
                                                   seed=0, progress=False, k=2, epochs=1, lr=2e-3, batch_size=32,
                                                   hidden=64)
    assert pred.predict(test).shape == (len(test), 3)
    with pytest.raises(StrategyError, match="5 of .* evaluated samples are UEs"):
        pred.predict(Subset(city_small, leaky, task))
