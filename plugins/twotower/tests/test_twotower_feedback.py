"""Zero-shot CSI feedback, the part that needs no long training: the frozen path from data to
reconstructed CSI is exact when the encoder and CRNN are an identity, and the CRNN fitted
after a CRNN-less pre-training trains the CRNN alone."""

import numpy as np
import pytest
import torch
from torch import nn


class _Flatten(nn.Module):
    """Stands in for the CSI tower: the transform's output, flattened (an identity encoder)."""

    def __init__(self, transform):
        super().__init__()
        self.transform = transform

    def forward(self, batch, transform=True):
        return self.transform(batch["csi"]).flatten(1)


class _Unflatten(nn.Module):
    def forward(self, x):
        return x.view(len(x), 2, 32, 64)


def test_reconstruct_is_exact_through_an_identity_encoder_and_crnn(city_small):
    from zoo_core.tasks import CSIFeedback
    from zoo_twotower.model import create
    from zoo_twotower.zeroshot import reconstruct

    model = create("tiny", "crnn")
    model.encoders["csi"] = _Flatten(model.encoders["csi"].transform)
    model.encode = lambda batch, tower: model.encoders[tower](batch)
    model.heads["csi-feedback"] = _Unflatten()
    idx = np.array([3, 40, 41, 250])
    got = reconstruct(model, city_small, idx, batch_size=3)  # two chunks
    np.testing.assert_allclose(got, city_small.csi[idx], rtol=1e-5, atol=1e-12)
    assert CSIFeedback().metrics(got, city_small.csi[idx])["nmse_db"] < -80


def test_model_without_crnn_cannot_reconstruct(city_small):
    from zoo_twotower.errors import TwotowerError
    from zoo_twotower.model import create
    from zoo_twotower.zeroshot import reconstruct

    with pytest.raises(TwotowerError, match="no CRNN"):
        reconstruct(create("tiny", "two-tower"), city_small, [0, 1])


def test_crnn_fitted_after_trains_the_crnn_alone(city_small):
    from zoo_core.train import TrainConfig
    from zoo_twotower.data import PairDataset
    from zoo_twotower.model import create
    from zoo_twotower.recipes import fit_crnn_after, library_schedule

    torch.manual_seed(0)
    model = create("tiny", "two-tower")
    towers = {k: v.detach().clone() for k, v in model.encoders.state_dict().items()}
    pairs = PairDataset(city_small, np.arange(32))
    torch.manual_seed(7)  # the CRNN's initial weights, rebuilt below
    out = fit_crnn_after(model, pairs, "tiny", TrainConfig(epochs=2, lr=1e-3, batch_size=16, drop_last=True,
                                                           progress=False), library_schedule(1, 3))
    assert "csi-feedback" in model.heads and out["crnn_after_final_reconstruction"] > 0
    for k, v in model.encoders.state_dict().items():
        assert torch.equal(v, towers[k]), k
    assert all(p.requires_grad for p in model.heads["csi-feedback"].parameters())
    # the CRNN moved from its initial weights
    from zoo_twotower.plugin import SIZES

    other = create("tiny", "two-tower")
    torch.manual_seed(7)
    initial = other.add_task("csi-feedback", "twotower/crnn", towers=["csi"],
                                                    **SIZES["tiny"]["crnn"])
    trained = model.heads["csi-feedback"].state_dict()
    assert all(v.shape == trained[k].shape for k, v in initial.state_dict().items())
    assert any(not torch.equal(v, trained[k]) for k, v in initial.state_dict().items())


@pytest.mark.parametrize("domain,phase", [("angle-delay", False), ("angle-delay", True), ("antenna-frequency", True)])
def test_angle_delay_and_common_phase_keep_the_frozen_path_exact(city_small, domain, phase):
    """The angle-delay layout is a unitary 2-D DFT of the normalised CSI (norms kept, so L_R
    is the same number in either domain) and the common phase is sent alongside the RMS: an
    identity encoder and CRNN still give the CSI back exactly."""
    from zoo_core.tasks import CSIFeedback
    from zoo_twotower.model import create
    from zoo_twotower.transforms import CSIRealImag, csi_phase
    from zoo_twotower.zeroshot import reconstruct

    model = create("tiny", "crnn", csi_domain=domain, common_phase=phase)
    transform = model.encoders["csi"].transform
    assert transform.config == {"domain": domain, "common_phase": phase}
    csi = torch.from_numpy(city_small.csi[:6])
    x, plain = transform(csi), CSIRealImag()(csi)
    np.testing.assert_allclose(x.square().sum((1, 2, 3)).numpy(), plain.square().sum((1, 2, 3)).numpy(), rtol=1e-4)
    if phase:  # the strongest angle-delay coefficient is real and positive
        ad = CSIRealImag(domain="angle-delay", common_phase=True)(csi)
        c = torch.complex(ad[:, 0], ad[:, 1]).flatten(1)
        top = c.gather(1, c.abs().argmax(1, keepdim=True))[:, 0]
        assert float(top.imag.abs().max()) < 1e-3 * float(top.abs().min()) and bool((top.real > 0).all())
        np.testing.assert_allclose(csi_phase(csi).abs().numpy(), 1.0, rtol=1e-6)
    model.encoders["csi"] = _Flatten(transform)
    model.encode = lambda batch, tower: model.encoders[tower](batch)
    model.heads["csi-feedback"] = _Unflatten()
    idx = np.array([3, 40, 41, 250])
    got = reconstruct(model, city_small, idx, batch_size=3)
    np.testing.assert_allclose(got, city_small.csi[idx], rtol=1e-4, atol=1e-9)
    assert CSIFeedback().metrics(got, city_small.csi[idx])["nmse_db"] < -80


def test_crnn_starts_near_the_all_zero_guess():
    from zoo_twotower.heads import CRNNHead

    torch.manual_seed(0)
    head = CRNNHead(128, patch=(8, 16), width=64, heads=4, depth=1, mlp=128)
    with torch.no_grad():
        out = head(torch.randn(16, 128))
    assert out.shape == (16, 2, 32, 64) and float(out.square().mean()) < 0.05


def test_angle_delay_is_the_unitary_dft_matrix_product():
    """to_angle_delay against explicit DFT matrices: angle = A·H over the antennas (A[a, m] =
    e^{-2πi am/32}/√32), delay = H·D over the subcarriers (D[s, d] = e^{+2πi sd/64}/8)."""
    from zoo_twotower.transforms import from_angle_delay, to_angle_delay

    rng = np.random.default_rng(4)
    h = rng.standard_normal((3, 32, 64)) + 1j * rng.standard_normal((3, 32, 64))
    a = np.exp(-2j * np.pi * np.outer(np.arange(32), np.arange(32)) / 32) / np.sqrt(32)
    d = np.exp(2j * np.pi * np.outer(np.arange(64), np.arange(64)) / 64) / 8
    want = a @ h @ d
    x = torch.from_numpy(np.stack([h.real, h.imag], axis=1))
    got = to_angle_delay(x).numpy()
    np.testing.assert_allclose(got[:, 0] + 1j * got[:, 1], want, atol=1e-10)
    np.testing.assert_allclose(from_angle_delay(to_angle_delay(x)).numpy(), x.numpy(), atol=1e-12)
