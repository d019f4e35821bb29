"""The registered tasks against independent computations (issue 9).

Every expected value here is written out from the textbook definition with plain loops or
elementary numpy, never by calling `zoo_core.data.metrics` or reusing the code of
`zoo_core.tasks`; the inputs are small fixed arrays (and one small city data set).
"""

from __future__ import annotations

import cmath
import copy
import math

import numpy as np
import pytest

from zoo_core.bench.splits import SplitError, label_subset, make_split
from zoo_core.data.generators.city import generate
from zoo_core.data.sample import WirelessData
from zoo_core.errors import UnknownNameError
from zoo_core.tasks import METRICS, Task, TaskError, get_task, task_names

CORE = ("activity", "beam", "channel-estimation", "csi-feedback", "los", "positioning", "retrieval",
        "rf-classification")


# ---------------------------------------------------------------------- helpers (independent)
def _argmax_rows(scores):
    """Predicted class of each row: the first index of the largest score."""
    out = []
    for row in scores:
        best = 0
        for j in range(1, len(row)):
            if row[j] > row[best]:
                best = j
        out.append(best)
    return out


def _accuracy(pred, y):
    return sum(1 for p, t in zip(pred, y) if p == t) / len(y)


def _balanced_accuracy(pred, y):
    """Recall averaged over the classes that occur in the true labels."""
    recalls = []
    for c in sorted(set(int(t) for t in y)):
        members = [i for i, t in enumerate(y) if t == c]
        recalls.append(sum(1 for i in members if pred[i] == c) / len(members))
    return sum(recalls) / len(recalls)


def _f1_positive(pred, y):
    """F1 of class 1 from precision and recall; 0 when precision or recall is 0 or undefined."""
    tp = sum(1 for p, t in zip(pred, y) if p == 1 and t == 1)
    predicted = sum(1 for p in pred if p == 1)
    actual = sum(1 for t in y if t == 1)
    if predicted == 0 or actual == 0:
        return 0.0
    precision, recall = tp / predicted, tp / actual
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _percentile_linear(values, q):
    """Linear interpolation between order statistics at rank q/100·(n−1) (numpy's default)."""
    v = sorted(values)
    pos = q / 100 * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


def _nmse_ratios(est, ref):
    """Per sample ‖Ĥ−H‖² / ‖H‖², summing |·|² over every element with Python complex numbers."""
    out = []
    for e, r in zip(est, ref):
        num = sum(abs(complex(a) - complex(b)) ** 2 for a, b in zip(e.ravel(), r.ravel()))
        den = sum(abs(complex(b)) ** 2 for b in r.ravel())
        out.append(num / den)
    return out


def _complex(rng, *shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _csi_data(csi, **kw):
    return WirelessData(csi=np.asarray(csi, dtype=np.complex64), **kw)


# ---------------------------------------------------------------------- registry and vocabulary
def test_core_tasks_are_registered_and_load():
    names = task_names()
    for name in CORE:
        assert name in names
        task = get_task(name)
        assert isinstance(task, Task)
        assert task.name == name
        assert task.primary in task.metric_names


def test_unknown_task_name_raises_with_close_matches():
    with pytest.raises(UnknownNameError) as info:
        get_task("nope")
    assert isinstance(info.value, KeyError)
    assert "nope" in str(info.value)
    with pytest.raises(UnknownNameError) as info:
        get_task("positoning")
    message = str(info.value)
    assert "positioning" in message and "Did you mean" in message
    assert "positioning" in info.value.suggestions
    with pytest.raises(UnknownNameError, match="beam"):
        get_task("beem")


def _fixed_inputs(name):
    """(pred, target, context) on which task `name` reports every one of its metrics."""
    rng = np.random.default_rng(11)
    if name in ("los", "activity", "rf-classification"):
        c = 2 if name == "los" else 3
        y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
        y = y if c == 2 else np.array([0, 1, 2, 2, 1, 0, 2, 1])
        return rng.normal(size=(len(y), c)), y, {}
    if name == "beam":
        return rng.normal(size=(6, 5)), np.array([0, 4, 2, 2, 1, 3]), {}
    if name == "positioning":
        return rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), {}
    if name in ("channel-estimation", "csi-feedback"):
        h = _complex(rng, 4, 1, 2, 3, 1)
        return h + 0.1 * _complex(rng, *h.shape), h, {"snr_db": np.array([0, 0, 10, 10])}
    if name == "retrieval":
        return rng.normal(size=(12, 12)), np.arange(12), {}
    raise AssertionError(name)


@pytest.mark.parametrize("name", CORE)
def test_metric_names_come_from_the_vocabulary(name):
    task = get_task(name)
    assert set(task.metric_names) <= set(METRICS)
    pred, target, context = _fixed_inputs(name)
    ev = task.evaluate(pred, target, **context)
    assert tuple(ev.metrics) == tuple(task.metric_names)
    assert all(isinstance(v, float) and math.isfinite(v) for v in ev.metrics.values())


def test_evaluate_refuses_a_name_outside_the_vocabulary():
    class Loose(Task):
        name = "loose"
        metric_names = ("test_accuracy",)
        primary = "accuracy"

        def metrics(self, pred, target, **context):
            return {"accuracy": 1.0, "test_accuracy": 1.0}

    with pytest.raises(TaskError, match="test_accuracy"):
        Loose().evaluate(np.zeros(3), np.zeros(3))


# ---------------------------------------------------------------------- los
LOS_Y = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]
LOS_SCORES = np.array([[0.2, 0.8], [0.7, 0.3], [0.6, 0.4], [0.1, 0.9], [0.45, 0.55],
                       [0.9, 0.1], [0.3, 0.7], [0.8, 0.2], [0.55, 0.45], [0.35, 0.65]])


def test_los_metrics_from_scores_and_indices():
    task = get_task("los")
    pred = _argmax_rows(LOS_SCORES)
    assert pred == [1, 0, 0, 1, 1, 0, 1, 0, 0, 1]  # tp 4, fn 2, fp 1, tn 3
    expected = {"accuracy": _accuracy(pred, LOS_Y), "mean_class_accuracy": _balanced_accuracy(pred, LOS_Y),
                "f1": _f1_positive(pred, LOS_Y)}
    assert expected == pytest.approx({"accuracy": 0.7, "mean_class_accuracy": (4 / 6 + 3 / 4) / 2,
                                      "f1": 8 / 11})
    for p in (LOS_SCORES, np.array(pred)):
        got = task.evaluate(p, np.array(LOS_Y)).metrics
        assert got == pytest.approx(expected, abs=1e-12)


def test_los_f1_when_no_positive_is_predicted():
    task = get_task("los")
    y = [1, 0, 0, 1, 0]
    pred = [0, 0, 0, 0, 0]
    got = task.evaluate(np.array(pred), np.array(y)).metrics
    assert got["f1"] == pytest.approx(_f1_positive(pred, y)) == 0.0
    assert got["accuracy"] == pytest.approx(_accuracy(pred, y)) == pytest.approx(0.6)
    assert got["mean_class_accuracy"] == pytest.approx(_balanced_accuracy(pred, y)) == pytest.approx(0.5)


def test_los_targets_from_the_los_field():
    data = _csi_data(np.ones((4, 1, 2, 2, 1)), los=np.array([True, False, False, True]))
    assert get_task("los").targets(data).tolist() == [1, 0, 0, 1]
    assert get_task("los").targets(data, [3, 1]).tolist() == [1, 0]
    with pytest.raises(TaskError):
        get_task("los").targets(_csi_data(np.ones((4, 1, 2, 2, 1))))


# ---------------------------------------------------------------------- activity, rf-classification
@pytest.mark.parametrize("name,key", [("activity", "activity"), ("rf-classification", "class")])
def test_class_tasks_mean_class_accuracy(name, key):
    task = get_task(name)
    y = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 3]
    scores = np.zeros((len(y), 5))
    pred = [0, 0, 0, 0, 0, 1, 1, 0, 2, 4, 2, 1]  # class 4 is predicted but never true
    scores[np.arange(len(y)), pred] = 1.0
    expected = {"accuracy": _accuracy(pred, y), "mean_class_accuracy": _balanced_accuracy(pred, y)}
    assert expected == pytest.approx({"accuracy": 8 / 12, "mean_class_accuracy": (5 / 6 + 1 / 2 + 2 / 3 + 0) / 4})
    for p in (scores, np.array(pred)):
        assert task.evaluate(p, np.array(y)).metrics == pytest.approx(expected, abs=1e-12)
    data = _csi_data(np.ones((len(y), 1, 1, 2, 1)), labels={key: np.array(y)})
    assert task.targets(data).tolist() == y
    with pytest.raises(TaskError):
        task.targets(_csi_data(np.ones((3, 1, 1, 2, 1))))


# ---------------------------------------------------------------------- beam
def _topk_hits(scores, y, k):
    """Hit when the true class is among the k highest scores, ties in the sample's favour:
    fewer than k classes score strictly higher than the true class."""
    hits = 0
    for row, t in zip(scores, y):
        higher = sum(1 for s in row if s > row[t])
        hits += higher < k
    return hits / len(y)


def test_beam_topk_accuracy_with_ties():
    task = get_task("beam")
    scores = np.array([
        [0.1, 0.9, 0.3, 0.2, 0.0],   # true 1: top-1
        [0.5, 0.4, 0.3, 0.2, 0.1],   # true 2: third, top-3 only
        [0.5, 0.4, 0.3, 0.2, 0.1],   # true 4: last, miss
        [0.7, 0.7, 0.1, 0.1, 0.0],   # true 1: tied with beam 0 for first -> top-1 hit
        [0.2, 0.6, 0.6, 0.6, 0.6],   # true 4: four-way tie for first -> top-1 hit
        [0.9, 0.8, 0.1, 0.1, 0.1],   # true 3: tied for third with 2 and 4 -> top-3 hit
        [0.9, 0.8, 0.7, 0.6, 0.5],   # true 3: fourth, miss
    ])
    y = np.array([1, 2, 4, 1, 4, 3, 3])
    expected = {"top1_accuracy": _topk_hits(scores, y, 1), "top3_accuracy": _topk_hits(scores, y, 3)}
    assert expected == pytest.approx({"top1_accuracy": 3 / 7, "top3_accuracy": 5 / 7})
    assert task.evaluate(scores, y).metrics == pytest.approx(expected, abs=1e-12)
    # class indices: top-1 is plain accuracy
    idx = np.array([1, 0, 4, 0, 3, 3, 2])
    assert task.evaluate(idx, y).metrics == pytest.approx({"top1_accuracy": _accuracy(idx, y)})


def _loop_best_beam(csi, book):
    """argmax_b Σ_rx Σ_k Σ_sym |w_bᴴ h_{rx,k,sym}|² with w_bᴴ h = Σ_m conj(w_b[m]) h[m]."""
    n, n_rx, n_tx, n_sc, n_sym = csi.shape
    best, powers = [], []
    for i in range(n):
        power = []
        for w in book:
            total = 0.0
            for r in range(n_rx):
                for k in range(n_sc):
                    for s in range(n_sym):
                        g = sum(complex(w[m]).conjugate() * complex(csi[i, r, m, k, s]) for m in range(n_tx))
                        total += abs(g) ** 2
            power.append(total)
        powers.append(power)
        best.append(max(range(len(power)), key=lambda b: power[b]))
    return best, np.array(powers)


def _dft_book(m):
    """w_b[m] = exp(-j2π·0.5·m·u_b)/√M with u_b = −1 + 2b/M, b = 0..M−1."""
    book = np.empty((m, m), dtype=complex)
    for b in range(m):
        u = -1 + 2 * b / m
        for a in range(m):
            book[b, a] = cmath.exp(-2j * math.pi * 0.5 * a * u) / math.sqrt(m)
    return book


def test_beam_labels_with_the_data_codebook():
    rng = np.random.default_rng(3)
    book = _complex(rng, 5, 4) / 2   # (B, M), not a DFT codebook, not unit norm
    data = _csi_data(_complex(rng, 7, 2, 4, 3, 2), shared={"codebook": book})
    task = get_task("beam")
    best, powers = _loop_best_beam(data.csi, book)
    assert np.array_equal(task.codebook(data), book)
    assert task.targets(data).tolist() == best
    assert task.targets(data, [5, 0, 2]).tolist() == [best[5], best[0], best[2]]
    np.testing.assert_allclose(task.beam_power(data.csi, book), powers, rtol=1e-5)
    assert task.output_spec(data).num_outputs == 5
    assert len(set(best)) > 1  # the check is not trivially one beam


def test_beam_labels_with_the_default_dft_codebook():
    rng = np.random.default_rng(4)
    m = 8
    data = _csi_data(_complex(rng, 9, 2, m, 3, 1))
    task = get_task("beam")
    book = _dft_book(m)
    np.testing.assert_allclose(task.codebook(data), book, atol=1e-12)
    best, _ = _loop_best_beam(data.csi, book)
    assert task.targets(data).tolist() == best
    assert task.output_spec(data).num_outputs == m
    # a channel that is exactly beam b0's steering vector is labelled b0 (DFT beams are orthogonal)
    steer = np.zeros((m, 1, m, 2, 1), dtype=complex)
    for b0 in range(m):
        steer[b0, 0, :, :, 0] = (book[b0] * math.sqrt(m))[:, None]
    assert get_task("beam").targets(_csi_data(steer)).tolist() == list(range(m))


def test_beam_codebook_size_mismatch_is_a_task_error():
    data = _csi_data(np.ones((2, 1, 4, 2, 1)), shared={"codebook": np.ones((3, 6), dtype=complex)})
    with pytest.raises(TaskError):
        get_task("beam").targets(data)


@pytest.fixture(scope="module")
def city():
    return generate(600, seed=5, n_bs=2, n_ue=20, n_sc=8, n_ant=8)


def test_beam_targets_equal_the_city_labels(city):
    assert np.array_equal(get_task("beam").targets(city), city.labels["beam"])
    idx = np.array([7, 3, 500])
    assert np.array_equal(get_task("beam").targets(city, idx), city.labels["beam"][idx])


# ---------------------------------------------------------------------- positioning
def _loop_errors(pred, truth):
    return [math.sqrt(sum((float(a) - float(b)) ** 2 for a, b in zip(p, t))) for p, t in zip(pred, truth)]


@pytest.mark.parametrize("dim", [2, 3])
def test_positioning_errors(dim):
    truth = np.array([[0, 0, 0], [10, 5, 1], [3, 4, 0], [-2, 7, 2], [50, 50, 1.5], [1, 1, 1], [8, -3, 0]],
                     dtype=float)[:, :dim]
    pred = truth + np.array([[3, 4, 0], [0, 0, 0], [1, 1, 1], [-6, 8, 0], [0.5, -0.5, 0.5], [12, 5, 0],
                             [2, 2, 2]], dtype=float)[:, :dim]
    err = _loop_errors(pred, truth)
    expected = {"mean_error_m": sum(err) / len(err), "median_error_m": _median(err),
                "cdf90_error_m": _percentile_linear(err, 90)}
    assert expected["cdf90_error_m"] == pytest.approx(np.percentile(err, 90, method="linear"))
    if dim == 2:
        assert sorted(err) == pytest.approx([0, 1.0 / math.sqrt(2), math.sqrt(2), math.sqrt(8), 5, 10, 13])
        assert expected["cdf90_error_m"] == pytest.approx(10 + 0.4 * 3)
    got = get_task("positioning").evaluate(pred, truth).metrics
    assert got == pytest.approx(expected, abs=1e-12)


def test_positioning_targets_prefer_labels_position():
    ue = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.float32)
    label = np.array([[10, 20], [30, 40], [50, 60]], dtype=np.float32)
    task = get_task("positioning")
    both = _csi_data(np.ones((3, 1, 1, 2, 1)), ue_pos=ue, labels={"position": label})
    assert task.targets(both).tolist() == label.tolist()
    assert task.targets(both, [2]).tolist() == [[50, 60]]
    assert task.output_spec(both).num_outputs == 2
    only_ue = _csi_data(np.ones((3, 1, 1, 2, 1)), ue_pos=ue)
    assert task.targets(only_ue).tolist() == ue.tolist()
    assert task.output_spec(only_ue).num_outputs == 3
    neither = _csi_data(np.ones((3, 1, 1, 2, 1)))
    with pytest.raises(TaskError):
        task.targets(neither)
    with pytest.raises(TaskError):
        task.check_data(neither)


# ---------------------------------------------------------------------- channel estimation, csi feedback
def _channel_case():
    rng = np.random.default_rng(7)
    h = _complex(rng, 6, 2, 2, 3, 2).astype(np.complex64)
    noise = _complex(rng, *h.shape) * np.array([0.5, 0.05, 0.3, 0.01, 1.0, 0.2])[:, None, None, None, None]
    return h, (h + noise).astype(np.complex64)


def test_channel_estimation_nmse_and_per_snr_curve():
    h, est = _channel_case()
    snr = np.array([0.0, 10.0, 0.0, 20.0, 10.0, 10.0])
    data = _csi_data(h, extras={"snr_db": snr})
    task = get_task("channel-estimation")
    target = task.targets(data)
    assert np.array_equal(target, data.csi)
    ratios = _nmse_ratios(est, h)
    expected = 10 * math.log10(sum(ratios) / len(ratios))
    ev = task.evaluate(est, target, snr_db=data.extras["snr_db"])
    assert ev.metrics == pytest.approx({"nmse_db": expected}, abs=1e-9)
    curve = {}
    for s in (0, 10, 20):
        group = [r for r, v in zip(ratios, snr) if v == s]
        curve[str(s)] = 10 * math.log10(sum(group) / len(group))
    assert set(ev.curves) == {"nmse_db_vs_snr_db"}
    assert ev.curves["nmse_db_vs_snr_db"] == pytest.approx(curve, abs=1e-9)
    assert task.evaluate(est, target).curves == {}


def test_channel_estimation_curve_key_of_zero_snr_has_no_sign():
    h, est = _channel_case()
    curve = get_task("channel-estimation").evaluate(est, h, snr_db=[-0.04, 0.0, 0.02, 10, 10, 10]).curves
    assert set(curve["nmse_db_vs_snr_db"]) == {"0", "10"}


def test_csi_feedback_nmse_and_rho():
    h, est = _channel_case()
    task = get_task("csi-feedback")
    n, n_rx, n_tx, n_sc, n_sym = h.shape
    ratios = _nmse_ratios(est, h)
    rhos = []
    for i in range(n):
        for k in range(n_sc):
            for s in range(n_sym):
                a = [complex(est[i, r, t, k, s]) for r in range(n_rx) for t in range(n_tx)]
                b = [complex(h[i, r, t, k, s]) for r in range(n_rx) for t in range(n_tx)]
                inner = abs(sum(x.conjugate() * y for x, y in zip(a, b)))
                norm = math.sqrt(sum(abs(x) ** 2 for x in a)) * math.sqrt(sum(abs(y) ** 2 for y in b))
                rhos.append(inner / norm)
    expected = {"nmse_db": 10 * math.log10(sum(ratios) / len(ratios)), "rho": sum(rhos) / len(rhos)}
    assert 0.5 < expected["rho"] < 1
    # in double precision the two agree to rounding; complex64 input is scored in single precision
    assert task.evaluate(est.astype(np.complex128), h.astype(np.complex128)).metrics == \
        pytest.approx(expected, abs=1e-12)
    assert task.evaluate(est, h).metrics == pytest.approx(expected, rel=1e-6)
    # ρ ignores a common complex gain per (subcarrier, symbol); NMSE does not
    gain = np.exp(1j * np.linspace(0, 3, n_sc))[None, None, None, :, None] * 2.0
    scaled = task.evaluate((h * gain).astype(np.complex64), h).metrics
    assert scaled["rho"] == pytest.approx(1.0, abs=1e-6)
    assert scaled["nmse_db"] > 0


# ---------------------------------------------------------------------- retrieval
def test_retrieval_recall_and_median_rank():
    rng = np.random.default_rng(8)
    n = 14
    sim = rng.integers(0, 6, size=(n, n)).astype(float)   # small integers: many ties
    for i in range(n):
        sim[i, i] = [5, 5, 4, 3, 5, 1, 0, 2, 5, 4, 3, 0, 1, 5][i]
    ranks = []
    for i in range(n):
        row = sorted(sim[i], reverse=True)
        ranks.append(row.index(sim[i, i]) + 1)   # first place of the true score: ties in its favour
    assert 1 in ranks and any(1 < r <= 5 for r in ranks) and any(5 < r <= 10 for r in ranks)
    assert any(r > 10 for r in ranks)
    expected = {f"recall_at_{k}": sum(r <= k for r in ranks) / n for k in (1, 5, 10)}
    expected["median_rank"] = _median(ranks)
    task = get_task("retrieval")
    assert task.evaluate(sim, task.targets(_csi_data(np.ones((n, 1, 1, 1, 1))))).metrics == \
        pytest.approx(expected, abs=1e-12)
    assert task.targets(_csi_data(np.ones((n, 1, 1, 1, 1)))).tolist() == list(range(n))
    with pytest.raises(TaskError):
        task.evaluate(np.ones((3, 4)), np.arange(3))


def test_retrieval_perfect_and_reversed():
    n = 12
    task = get_task("retrieval")
    perfect = task.evaluate(np.eye(n), np.arange(n)).metrics
    assert perfect == {"recall_at_1": 1.0, "recall_at_5": 1.0, "recall_at_10": 1.0, "median_rank": 1.0}
    worst = task.evaluate(-np.eye(n), np.arange(n)).metrics   # every partner scores lowest: rank n
    assert worst == {"recall_at_1": 0.0, "recall_at_5": 0.0, "recall_at_10": 0.0, "median_rank": float(n)}


# ---------------------------------------------------------------------- bench splits
def test_area_split_keeps_every_scene_in_one_split(city):
    split = make_split(city, get_task("los"), policy="area", seed=0)
    assert split.policy == "area"
    assert set(split.indices) == {"train", "val", "test"}
    all_idx = np.concatenate(list(split.indices.values()))
    assert sorted(all_idx.tolist()) == list(range(len(city)))   # a partition of the samples
    where = {}
    for name, idx in split.indices.items():
        assert len(idx) > 0
        for i in idx:
            where.setdefault(int(city.scene_id[i]), set()).add(name)
    assert len(where) == len(np.unique(city.scene_id)) >= 3
    assert all(len(s) == 1 for s in where.values())


def test_block_split_keeps_every_block_whole(city):
    block_m = 20.0
    split = make_split(city, get_task("positioning"), policy="block", seed=1, block_m=block_m)
    assert split.policy == "block"
    where = {}
    for name, idx in split.indices.items():
        assert len(idx) > 0
        for i in idx:
            x, y = float(city.ue_pos[i, 0]), float(city.ue_pos[i, 1])
            where.setdefault((math.floor(x / block_m), math.floor(y / block_m)), set()).add(name)
    assert len(where) > 3
    assert all(len(s) == 1 for s in where.values())
    assert sum(len(v) for v in split.indices.values()) == len(city)


def test_split_hash_is_reproducible_and_sees_every_value(city):
    task = get_task("los")
    a = make_split(city, task, policy="area", seed=2)
    b = make_split(city, task, policy="area", seed=2)
    assert len(a.sha256) == 64 and int(a.sha256, 16) >= 0
    assert a.sha256 == b.sha256
    assert all(np.array_equal(a.indices[k], b.indices[k]) for k in a.indices)
    assert make_split(city, task, policy="random", seed=2).sha256 != a.sha256
    assert make_split(city, task, policy="random", seed=3).sha256 != \
        make_split(city, task, policy="random", seed=2).sha256

    changed_input = copy.deepcopy(city)
    i = int(a.indices["test"][0])
    changed_input.csi[i, 0, 0, 0, 0] += np.complex64(1e-3)
    c = make_split(changed_input, task, policy="area", seed=2)
    assert all(np.array_equal(a.indices[k], c.indices[k]) for k in a.indices)
    assert c.sha256 != a.sha256

    changed_target = copy.deepcopy(city)
    changed_target.los[i] = not changed_target.los[i]
    assert make_split(changed_target, task, policy="area", seed=2).sha256 != a.sha256


def test_label_subset(city):
    train = make_split(city, get_task("los"), policy="area", seed=0).indices["train"]
    for fraction in (0.1, 0.25, 0.5):
        sub = label_subset(train, fraction, seed=4)
        assert len(sub) == max(1, round(fraction * len(train)))
        assert len(set(sub.tolist())) == len(sub)
        assert set(sub.tolist()) <= set(train.tolist())
        assert sub.tolist() == sorted(sub.tolist())
        assert np.array_equal(sub, label_subset(train, fraction, seed=4))
    assert len(label_subset(train, 1e-6, seed=0)) == 1
    assert np.array_equal(label_subset(train, 1.0, seed=0), train)
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(SplitError):
            label_subset(train, bad, seed=0)


def test_beam_has_no_target_where_the_channel_has_no_power():
    """Outage pairs (keep_outage=True) have no best beam: the task marks them, the bench drops them."""
    from zoo_core.data.generators import city

    data = city.generate(300, seed=1, n_sc=8, n_ant=8, keep_outage=True)
    task = get_task("beam")
    valid = task.valid(data)
    assert np.array_equal(valid, data.labels["beam"] >= 0)
    assert np.array_equal(task.targets(data)[valid], data.labels["beam"][valid])


def test_snrs_drawn_from_a_range_are_binned_by_5_db():
    rng = np.random.default_rng(0)
    truth = (rng.normal(size=(200, 1, 2, 4, 1)) + 1j * rng.normal(size=(200, 1, 2, 4, 1))).astype(np.complex64)
    est = truth + 0.3 * rng.normal(size=truth.shape)
    snr = rng.uniform(-10, 20, size=200)
    curve = get_task("channel-estimation").evaluate(est, truth, snr_db=snr).curves["nmse_db_vs_snr_db"]
    centres = np.round(snr / 5) * 5
    assert set(curve) == {f"{c:g}" for c in np.unique(centres)}
    for c in np.unique(centres):
        pick = centres == c
        ratio = [np.sum(np.abs(est[i] - truth[i]) ** 2) / np.sum(np.abs(truth[i]) ** 2) for i in np.flatnonzero(pick)]
        assert curve[f"{c:g}"] == pytest.approx(10 * np.log10(np.mean(ratio)), abs=1e-6)
