"""The optional Sionna 3GPP UMi path of the OFDM pilot generator (channel_model="sionna-umi").

Skipped where Sionna (`pip install "wzoo[sionna]"`, i.e. `sionna-no-rt`) is not installed,
except the "not installed" error test, which hides Sionna itself and always runs.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from zoo_core.data.errors import OptionalDependencyError
from zoo_core.data.generators import ofdm

SMALL = {"n_rx": 4, "n_sc": 24}  # small grids keep the Sionna runs to a few seconds
SNR_DB = 10.0


def test_sionna_umi_missing_sionna_is_a_typed_error(monkeypatch):
    """With Sionna hidden (as when not installed) the model raises OptionalDependencyError."""
    for name in [m for m in sys.modules if m == "sionna" or m.startswith("sionna.")] + ["sionna"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules -> ImportError
    with pytest.raises(OptionalDependencyError, match=r"wzoo\[sionna\]") as err:
        ofdm.generate(2, seed=0, channel_model="sionna-umi", **SMALL)
    assert isinstance(err.value, ImportError)
    # the built-in default model does not need Sionna
    assert ofdm.generate(2, seed=0, **SMALL).csi.shape == (2, 4, 1, 24, 14)


@pytest.fixture(scope="module")
def umi():
    pytest.importorskip("sionna.phy")
    return ofdm.generate(96, seed=7, channel_model="sionna-umi", snr_db=SNR_DB, **SMALL)


@pytest.fixture(scope="module")
def umi_other_seed():
    pytest.importorskip("sionna.phy")
    return ofdm.generate(96, seed=8, channel_model="sionna-umi", snr_db=(-10.0, 20.0), **SMALL)


def test_layout_matches_the_builtin_model(umi):
    ref = ofdm.generate(96, seed=7, snr_db=SNR_DB, **SMALL)
    assert umi.csi.shape == ref.csi.shape == (96, 4, 1, 24, 14)
    assert umi.csi.dtype == ref.csi.dtype == np.complex64
    assert umi.extras.keys() == ref.extras.keys()
    for k in ref.extras:
        assert umi.extras[k].shape == ref.extras[k].shape, k
        assert umi.extras[k].dtype == ref.extras[k].dtype, k
    assert umi.shared.keys() == ref.shared.keys()
    assert list(umi.shared["pilot_symbols"]) == [2, 11]
    assert umi.meta.keys() == ref.meta.keys()
    assert umi.meta["params"]["channel_model"] == "sionna-umi"
    # same numpy stream for SNR and pilots: only the channel (and so Y) differs
    np.testing.assert_array_equal(umi.extras["pilots_tx"], ref.extras["pilots_tx"])
    assert np.all(np.isfinite(umi.csi))


def test_channel_is_not_trivial(umi):
    h = umi.csi[:, :, 0].astype(np.complex128)                    # (N, R, K, S)
    power = np.mean(np.abs(h) ** 2, axis=(1, 2, 3))
    # frequency selectivity from the UMi delay spread: present in every sample (strong-LoS
    # drops are nearly flat over 24 x 30 kHz), large in typical ones
    f_var = np.mean(np.abs(h - h.mean(axis=2, keepdims=True)) ** 2, axis=(1, 2, 3)) / power
    assert f_var.min() > 1e-7 and np.median(f_var) > 0.02
    # different drops give different channels; antennas differ (not a copied scalar)
    assert np.abs(h[0] - h[1]).max() > 0.1
    assert np.abs(h[:, 0] - h[:, 1]).max() > 0.1
    # 3 m/s over 14 symbols: time variation is tiny but present
    t_var = np.mean(np.abs(h - h.mean(axis=3, keepdims=True)) ** 2) / power.mean()
    assert 0 < t_var < 0.05


def test_channel_power_is_normalised_per_sample(umi):
    # cir_to_ofdm_channel(normalize=True): unit mean |H|^2 over each sample's grid
    power = np.mean(np.abs(umi.csi.astype(np.complex128)) ** 2, axis=(1, 2, 3, 4))
    np.testing.assert_allclose(power, 1.0, rtol=1e-4)


@pytest.mark.parametrize("which", ["umi", "umi_other_seed"])
def test_received_pilots_are_hx_plus_noise_at_the_snr(which, request):
    d = request.getfixturevalue(which)
    pil = d.shared["pilot_symbols"]
    x, y = d.extras["pilots_tx"], d.extras["pilots_rx"]
    snr = d.extras["snr_db"]
    np.testing.assert_allclose(d.extras["noise_var"], 10 ** (-snr / 10), rtol=1e-5)
    w = y - d.csi[:, :, 0][..., pil] * x[:, None]
    ratio = np.mean(np.abs(w) ** 2, axis=(1, 2, 3)) / d.extras["noise_var"]
    assert abs(ratio.mean() - 1) < 0.05
    assert np.all(np.abs(ratio - 1) < 0.35)  # 192 noise samples each
    # measured SNR = channel power / noise power at the requested SNR (in dB)
    measured = 10 * np.log10(np.mean(np.abs(d.csi) ** 2, axis=(1, 2, 3, 4)) / np.mean(np.abs(w) ** 2, axis=(1, 2, 3)))
    assert abs(np.mean(measured - snr)) < 0.2


def test_seeded(umi, umi_other_seed):
    again = ofdm.generate(96, seed=7, channel_model="sionna-umi", snr_db=SNR_DB, **SMALL)
    assert again.csi.tobytes() == umi.csi.tobytes()
    for k in umi.extras:
        assert again.extras[k].tobytes() == umi.extras[k].tobytes(), k
    assert not np.allclose(umi_other_seed.csi, umi.csi)


def test_torch_global_rng_is_left_alone():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sionna.phy")
    torch.manual_seed(123)
    want = torch.rand(4)
    torch.manual_seed(123)
    ofdm.generate(2, seed=5, channel_model="sionna-umi", **SMALL)
    assert torch.equal(torch.rand(4), want)


def test_ls_nmse_is_minus_snr(umi):
    from zoo_core.data import baselines

    pil = umi.shared["pilot_symbols"]
    h_p = umi.csi[:, :, 0][..., pil]
    est = baselines.ls_ofdm_pilots(umi)
    nmse_db = 10 * np.log10(np.mean(np.abs(est - h_p) ** 2) / np.mean(np.abs(h_p) ** 2))
    assert abs(nmse_db + SNR_DB) < 0.5
    # the sample-covariance LMMSE (no closed form for UMi) beats LS over the full grid
    full = lambda e: np.mean(np.abs(e - umi.csi) ** 2) / np.mean(np.abs(umi.csi) ** 2)
    assert full(baselines.lmmse(umi)) < full(baselines.ls(umi))


def test_chunked_generation(monkeypatch):
    """Several Sionna calls per dataset, with a smaller last chunk (topology re-shaped)."""
    pytest.importorskip("sionna.phy")
    monkeypatch.setattr(ofdm, "_SIONNA_ELEMENTS_PER_CHUNK", 4 * 24 * 14 * 20)  # 20 samples/call
    d = ofdm.generate(50, seed=3, channel_model="sionna-umi", **SMALL)
    assert d.csi.shape == (50, 4, 1, 24, 14) and np.all(np.isfinite(d.csi))
    np.testing.assert_allclose(np.mean(np.abs(d.csi) ** 2, axis=(1, 2, 3, 4)), 1.0, rtol=1e-4)
    assert np.abs(d.csi[45] - d.csi[5]).max() > 0.1  # chunks are fresh drops, not repeats
    again = ofdm.generate(50, seed=3, channel_model="sionna-umi", **SMALL)
    assert again.csi.tobytes() == d.csi.tobytes()
