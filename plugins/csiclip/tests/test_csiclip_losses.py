"""The paper's eq. 2 as trained here: the core's ClipLoss through the ContrastiveObjective,
against a numpy InfoNCE; the temperature is learnt and clamped."""

import math

import numpy as np
import pytest
import torch

import zoo_core
from zoo_core.objectives import ContrastiveObjective


def _info_nce(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    """Symmetric InfoNCE in float64: mean over both directions of −log softmax of the diagonal."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    logits = scale * a @ b.T

    def ce(z):
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - np.diag(z)))

    return (ce(logits) + ce(logits.T)) / 2


@pytest.fixture
def pair():
    torch.manual_seed(0)
    model = zoo_core.create_model("csiclip/resnet18-tiny").eval()
    csi = torch.randn(6, 1, 32, 64, 1, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
    return model, {"csi": csi}


def test_clip_loss_is_numpy_info_nce(pair):
    model, batch = pair
    objective = ContrastiveObjective(model, "retrieval")
    with torch.no_grad():
        loss = objective(batch).item()
        a, b = (model.encode(batch, t).double().numpy() for t in ("csi", "cir"))
    assert loss == pytest.approx(_info_nce(a, b, 1 / 0.07), rel=1e-5)
    # and the head's logits are the same cosine similarities times the same scale
    with torch.no_grad():
        logits = model(batch, task="retrieval").double().numpy()
    an, bn = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_allclose(logits, an @ bn.T / 0.07, rtol=1e-4, atol=1e-4)


def test_temperature_is_learnt_and_clamped(pair):
    model, batch = pair
    head = model.heads["retrieval"]
    assert head.logit_scale.requires_grad and head.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    objective = ContrastiveObjective(model, "retrieval")
    objective(batch).backward()
    assert head.logit_scale.grad is not None and head.logit_scale.grad.abs().item() > 0
    with torch.no_grad():
        head.logit_scale.fill_(math.log(1000.0))
    assert head.scale().item() == pytest.approx(100.0)  # clamped at log 100, as CLIP
    with torch.no_grad():
        a, b = (model.encode(batch, t).double().numpy() for t in ("csi", "cir"))
        assert objective(batch).item() == pytest.approx(_info_nce(a, b, 100.0), rel=1e-5)


def test_one_fit_epoch_moves_the_temperature():
    from zoo_core.train import TrainConfig, fit

    torch.manual_seed(0)
    model = zoo_core.create_model("csiclip/resnet18-tiny")
    before = model.heads["retrieval"].logit_scale.item()
    csi = torch.randn(16, 1, 32, 64, 1, dtype=torch.complex64, generator=torch.Generator().manual_seed(2))
    objective = ContrastiveObjective(model, "retrieval")
    fit(objective, [{"csi": csi[:8]}, {"csi": csi[8:]}],
        config=TrainConfig(epochs=1, lr=1e-2, batch_size=None, progress=False))
    assert model.heads["retrieval"].logit_scale.item() != before
