"""WavesFM preprocessing: statistics fitted in one call, carried in the config."""

import numpy as np
import pytest
import torch

from zoo_wavesfm.transforms import PilotGrid, TransformInputError, WirelessImage


def test_spectrogram_transform_steps_and_fit():
    x = torch.rand(6, 1, 20, 30) * 1e3 + 1e-3
    t = WirelessImage.fit(x, log=True, size=32)
    db = 10 * np.log10(x.numpy().astype(np.float64))
    assert t.config["min"] == pytest.approx(db.min(), rel=1e-5)
    assert t.config["max"] == pytest.approx(db.max(), rel=1e-5)
    y = t(x)
    assert y.shape == (6, 1, 32, 32)
    assert abs(y.mean().item()) < 1e-4 and y.std().item() == pytest.approx(1.0, abs=1e-3)
    # independent: log → [0,1] → bicubic → standardise
    scaled = (torch.from_numpy(db).float() - t.config["min"]) / (t.config["max"] - t.config["min"])
    ref = torch.nn.functional.interpolate(scaled, size=(32, 32), mode="bicubic", align_corners=False)
    ref = (ref - t.config["mean"][0]) / t.config["std"][0]
    assert torch.allclose(y, ref, atol=1e-4)
    again = WirelessImage.from_config(t.config)
    assert torch.equal(again(x), y)


def test_csi_transform_takes_complex_magnitude_per_channel():
    x = torch.randn(4, 3, 16, 16, dtype=torch.complex64)
    t = WirelessImage.fit(x, size=16)
    y = t(x)
    assert len(t.config["mean"]) == 3
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    with pytest.raises(TransformInputError):
        t(torch.randn(5))


def test_pilot_transform_normalises_to_unit_range_then_standardises():
    x = torch.randn(5, 2, 16, 14, dtype=torch.complex64) * torch.tensor([1.0, 3.0]).view(1, 2, 1, 1)
    t = PilotGrid.fit(x, size=32)
    real = PilotGrid.as_real(x)
    assert real.shape == (5, 4, 16, 14)
    assert torch.equal(real[:, 2], x[:, 1].real) and torch.equal(real[:, 1], x[:, 0].imag)
    scaled = t._scaled(x)
    assert scaled.abs().amax().item() == pytest.approx(1.0)
    assert torch.allclose(scaled.abs().amax((0, 2, 3)), torch.ones(4))
    y = t(x)
    assert y.shape == (5, 4, 32, 32)
    assert torch.equal(PilotGrid.from_config(t.config)(x), y)
    with pytest.raises(TransformInputError, match="reference, received"):
        t(torch.randn(5, 3, 16, 14, dtype=torch.complex64))
