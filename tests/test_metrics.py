"""Metrics against hand-computed cases and independent second implementations."""

import math

import numpy as np
import pytest

from zoo_core.data import metrics as M
from zoo_core.errors import WzooError


def _loop_nmse(est, ref):
    """Reference: per-sample NMSE with explicit Python loops over complex numbers."""
    out = []
    for e, r in zip(est, ref):
        num = sum(abs(complex(a) - complex(b)) ** 2 for a, b in zip(np.ravel(e), np.ravel(r)))
        den = sum(abs(complex(b)) ** 2 for b in np.ravel(r))
        out.append(num / den)
    return out


def test_nmse_hand_computed_complex():
    truth = np.array([[1 + 1j, 0], [2, 0]], dtype=np.complex64)
    est = np.array([[1, 0], [2, 2j]], dtype=np.complex64)
    per, mean = M.nmse_db(est, truth)
    # sample 0: |1j|^2 / 2 = 0.5 -> -3.0103 dB; sample 1: |2j|^2 / 4 = 1 -> 0 dB
    np.testing.assert_allclose(per, [10 * math.log10(0.5), 0.0], atol=1e-6)
    # mean of linear ratios, not mean of dB
    assert mean == pytest.approx(10 * math.log10(0.75))
    assert float(M.nmse_db(est, truth)) == pytest.approx(mean)


def test_nmse_matches_loop_reference_and_axis():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((5, 2, 3, 4)) + 1j * rng.standard_normal((5, 2, 3, 4))
    est = ref + 0.3 * (rng.standard_normal(ref.shape) + 1j * rng.standard_normal(ref.shape))
    per, mean = M.nmse_db(est, ref)
    expected = _loop_nmse(est, ref)
    np.testing.assert_allclose(per, 10 * np.log10(expected), rtol=1e-10)
    assert mean == pytest.approx(10 * math.log10(np.mean(expected)))
    # samples along the last axis instead: norm over axes (0, 1, 2)
    per_last, _ = M.nmse_db(est, ref, axis=(0, 1, 2))
    moved = np.moveaxis(ref, -1, 0), np.moveaxis(est, -1, 0)
    np.testing.assert_allclose(per_last, 10 * np.log10(_loop_nmse(moved[1], moved[0])), rtol=1e-10)
    # a 1-D input is one sample
    per1, mean1 = M.nmse_db(est[0].ravel(), ref[0].ravel())
    assert per1.shape == (1,) and mean1 == pytest.approx(per[0])


def test_nmse_accepts_torch_and_perfect_estimate():
    torch = pytest.importorskip("torch")
    t = torch.randn(3, 4, dtype=torch.complex64)
    per, mean = M.nmse_db(t, t)
    assert np.all(np.isneginf(per)) and mean == -np.inf
    per, mean = M.nmse_db(torch.zeros(3, 4, dtype=torch.bfloat16), torch.ones(3, 4))
    np.testing.assert_allclose(per, 0.0)  # all-zero estimate is 0 dB


@pytest.mark.parametrize(
    "est, ref, match",
    [
        (np.ones((2, 3)), np.ones((2, 4)), "shape"),
        (np.ones((0, 3)), np.ones((0, 3)), "empty"),
        (np.array([[1.0, np.nan]]), np.ones((1, 2)), "NaN"),
        (np.ones((2, 2)), np.array([[1.0, 1.0], [0.0, 0.0]]), "zero power"),
    ],
)
def test_nmse_errors(est, ref, match):
    with pytest.raises(M.MetricError, match=match) as info:
        M.nmse_db(est, ref)
    assert isinstance(info.value, ValueError) and isinstance(info.value, WzooError)


def test_accuracy_indices_and_scores():
    labels = np.array([0, 1, 2, 2])
    assert M.accuracy([0, 1, 1, 2], labels) == 0.75
    scores = np.array([[5, 1, 0], [0, 2, 1], [3, 0, 1], [0, 0, 9]], dtype=float)
    assert M.accuracy(scores, labels) == 0.75  # argmax = [0, 1, 0, 2]


def test_mean_class_accuracy_is_balanced():
    # class 0: 8 samples all right; class 1: 2 samples, 1 right -> (1 + 0.5) / 2
    labels = np.array([0] * 8 + [1, 1])
    pred = np.array([0] * 8 + [1, 0])
    assert M.accuracy(pred, labels) == pytest.approx(0.9)
    assert M.mean_class_accuracy(pred, labels) == pytest.approx(0.75)
    # second implementation: mean of diag / row sums of the confusion matrix
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    cm = np.zeros((5, 5))
    for a, b in zip(y, p):
        cm[a, b] += 1
    assert M.mean_class_accuracy(p, y, n_classes=5) == pytest.approx(np.mean(np.diag(cm) / cm.sum(1)))


def test_topk_against_argsort_reference():
    rng = np.random.default_rng(2)
    scores = rng.standard_normal((50, 8))
    labels = rng.integers(0, 8, 50)
    for k in (1, 3, 8):
        top = np.argsort(-scores, axis=1)[:, :k]
        ref = np.mean([labels[i] in top[i] for i in range(50)])
        assert M.topk_accuracy(scores, labels, k) == pytest.approx(ref)
    assert M.topk_accuracy(scores, labels, 8) == 1.0
    assert M.topk_accuracy(scores, labels, 1) == pytest.approx(M.accuracy(scores, labels))


def test_topk_ties_do_not_depend_on_class_order():
    scores = np.array([[1.0, 1.0, 0.0]])
    assert M.topk_accuracy(scores, [0], 1) == M.topk_accuracy(scores, [1], 1) == 1.0


@pytest.mark.parametrize("k", [0, 4, 1.5])
def test_topk_bad_k(k):
    with pytest.raises(M.MetricError, match="k must be"):
        M.topk_accuracy(np.zeros((2, 3)), [0, 1], k)


def test_positioning_errors_hand_computed():
    truth = np.zeros((4, 3))
    pred = np.array([[3, 4, 0], [0, 0, 1], [0, 2, 0], [6, 8, 0]], dtype=float)  # 5, 1, 2, 10
    out = M.positioning_errors(pred, truth)
    assert out["mean_error_m"] == pytest.approx(4.5)
    assert out["median_error_m"] == pytest.approx(3.5)
    # 90th percentile of sorted [1, 2, 5, 10], linear: position 0.9*3 = 2.7 -> 5 + 0.7*5
    assert out["cdf90_error_m"] == pytest.approx(8.5)
    assert out["max_error_m"] == 10.0
    assert all(isinstance(v, float) for v in out.values())
    np.testing.assert_allclose(M.position_errors(pred, truth), [5, 1, 2, 10])


def test_positioning_errors_torch_and_errors():
    torch = pytest.importorskip("torch")
    out = M.positioning_errors(torch.ones(3, 2), torch.zeros(3, 2))
    assert out["mean_error_m"] == pytest.approx(math.sqrt(2))
    with pytest.raises(M.MetricError, match="shape"):
        M.positioning_errors(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(M.MetricError, match="NaN"):
        M.positioning_errors(np.full((2, 2), np.nan), np.zeros((2, 2)))
    with pytest.raises(M.MetricError, match="empty"):
        M.positioning_errors(np.zeros((0, 2)), np.zeros((0, 2)))


def test_confusion_matrix_against_loop():
    rng = np.random.default_rng(3)
    y, p = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    ref = np.zeros((4, 4), dtype=np.int64)
    for a, b in zip(y, p):
        ref[a, b] += 1  # row = true, column = predicted
    cm = M.confusion_matrix(p, y, 4)
    np.testing.assert_array_equal(cm, ref)
    assert cm.dtype == np.int64 and cm.sum() == 100
    np.testing.assert_array_equal(M.confusion_matrix([1], [0], 3), [[0, 1, 0], [0, 0, 0], [0, 0, 0]])


def test_classification_errors():
    with pytest.raises(M.MetricError, match="out of range"):
        M.confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(M.MetricError, match="samples"):
        M.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(M.MetricError, match="whole numbers"):
        M.accuracy([0, 1], [0.5, 1])
    with pytest.raises(M.MetricError, match="empty"):
        M.mean_class_accuracy([], [])
    with pytest.raises(M.MetricError, match="NaN"):
        M.accuracy(np.array([[np.nan, 1.0]]), [0])
    with pytest.raises(M.MetricError, match="negative"):
        M.accuracy([0], [-1])
