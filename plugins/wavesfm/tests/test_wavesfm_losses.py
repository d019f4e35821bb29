"""Losses against the paper's formulas, computed independently here."""

import math

import pytest
import torch

from zoo_wavesfm.losses import class_weights, label_smoothing_ce, mse, snr_weight, snr_weighted_mse, weighted_ce


@pytest.mark.parametrize("snr", [-10.0, 0.0, 20.0])
def test_snr_weight_is_the_paper_formula(snr):
    expected = 10.6 * math.exp(0.226 * snr) - 0.764
    assert snr_weight(snr) == pytest.approx(expected, rel=1e-12)
    assert snr_weight(torch.tensor([snr], dtype=torch.float64)).item() == pytest.approx(expected, rel=1e-12)


def test_snr_weight_values_and_the_ratio_the_paper_misstates():
    assert snr_weight(0.0) == pytest.approx(9.836)
    assert snr_weight(-10.0) == pytest.approx(0.3421, abs=1e-4)
    assert snr_weight(20.0) == pytest.approx(972.7, abs=0.1)
    ratio = snr_weight(20.0) / snr_weight(-10.0)
    assert 2700 < ratio < 2900  # the paper says 100x; its formula gives ~2,800x


def test_snr_weighted_mse_is_equation_21():
    pred, target = torch.randn(3, 2, 4, 5), torch.randn(3, 2, 4, 5)
    snr = torch.tensor([-10.0, 0.0, 20.0])
    expected = sum((10.6 * math.exp(0.226 * float(s)) - 0.764) * float(((p - t) ** 2).sum())
                   for p, t, s in zip(pred, target, snr)) / 3
    assert snr_weighted_mse(pred, target, snr).item() == pytest.approx(expected, rel=1e-5)
    assert mse(pred, target).item() == pytest.approx(float(((pred - target) ** 2).sum()) / 3, rel=1e-5)


def test_label_smoothing_ce_is_equation_17():
    logits, y, theta = torch.randn(5, 6), torch.tensor([0, 1, 5, 2, 2]), 0.1
    logp = torch.log_softmax(logits, 1)
    onehot = torch.nn.functional.one_hot(y, 6).float()
    expected = -((onehot * (1 - theta) + theta / 6) * logp).sum(1).mean()
    assert label_smoothing_ce(logits, y, theta).item() == pytest.approx(expected.item(), rel=1e-6)


def test_weighted_ce_is_equation_18():
    logits, y = torch.randn(6, 4), torch.tensor([0, 0, 0, 1, 2, 3])
    beta = class_weights(y, 4)
    assert beta.tolist() == pytest.approx([6 / (4 * 3), 6 / 4, 6 / 4, 6 / 4])
    logp = torch.log_softmax(logits, 1)
    expected = -sum(beta[c] * logp[i, c] for i, c in enumerate(y.tolist())) / 6
    assert weighted_ce(logits, y, beta).item() == pytest.approx(float(expected), rel=1e-6)


def test_normalized_snr_weighted_mse_divides_by_the_batch_mean_weight():
    pred, target = torch.randn(4, 2, 3, 5), torch.randn(4, 2, 3, 5)
    snr = torch.tensor([-10.0, 0.0, 10.0, 20.0])
    w = torch.tensor([snr_weight(float(s)) for s in snr])
    err = ((pred - target) ** 2).reshape(4, -1).sum(1)
    assert snr_weighted_mse(pred, target, snr, normalize=True).item() == pytest.approx(
        float((w * err).sum() / w.sum()), rel=1e-5)
    # a constant SNR makes it the plain MSE
    same = torch.full((4,), 17.0)
    assert snr_weighted_mse(pred, target, same, normalize=True).item() == pytest.approx(mse(pred, target).item(), rel=1e-5)
