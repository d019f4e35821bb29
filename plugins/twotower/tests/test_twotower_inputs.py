"""The inputs against independent computations: the position vector, the CSI layout, the loss."""

import numpy as np
import pytest
import torch

from zoo_twotower.position import env_arrays, position_vector


def test_position_vector_from_raw_positions(city_small):
    d = city_small
    i = np.array([0, 7, 150, 299])
    got = env_arrays(d, i)["position_vector"]
    for row, k in zip(got, i):
        s = float(np.asarray(d.map_scale)[d.scene_id[k]])
        bx, by, bz = d.bs_pos[k]
        ux, uy, uz = d.ue_pos[k]
        want = [bx / s, by / s, bz, ux / s, uy / s, uz, float(d.los[k]), s]
        np.testing.assert_allclose(row, want, rtol=1e-5)
        # the pixel position lands on the map cell that contains it (row = y, column = x)
        assert 0 <= int(ux / s) < d.env_edges.shape[2] and 0 <= int(uy / s) < d.env_edges.shape[1]


def test_zero_shot_options_change_only_their_entry(city_small):
    i = np.arange(10)
    base = env_arrays(city_small, i)["position_vector"]
    flipped = env_arrays(city_small, i, los=0.0)["position_vector"]
    scaled = env_arrays(city_small, i, scale_factor=1.2)["position_vector"]
    np.testing.assert_array_equal(base[:, :6], flipped[:, :6])
    assert (flipped[:, 6] == 0).all()
    np.testing.assert_array_equal(base[:, :7], scaled[:, :7])
    np.testing.assert_allclose(scaled[:, 7], base[:, 7] * 1.2, rtol=1e-6)


def test_bad_positions_are_typed_errors():
    from zoo_twotower.errors import DataError

    with pytest.raises(DataError, match="must be positive"):
        position_vector(np.zeros((2, 3)), np.zeros((2, 3)), [1, 0], [1.0, 0.0])
    with pytest.raises(DataError, match=r"\(N, 3\)"):
        position_vector(np.zeros((2, 2)), np.zeros((2, 2)), [1, 0], 1.0)


def test_csi_layout_round_trips_and_is_rms_normalised(city_small):
    from zoo_twotower.transforms import CSIRealImag, csi_rms, real_to_csi

    csi = torch.from_numpy(city_small.csi[:5])
    x = CSIRealImag()(csi)
    assert x.shape == (5, 2, 32, 64)
    np.testing.assert_allclose(x.square().sum((1, 2, 3)).numpy() / (32 * 64), 1.0, rtol=1e-4)
    np.testing.assert_allclose(x[:, 0, 3, 7].numpy(), (csi[:, 0, 3, 7, 0].real / csi_rms(csi)).numpy(), rtol=1e-5)
    back = real_to_csi(x * csi_rms(csi)[:, None, None, None], tuple(csi.shape[1:]))
    np.testing.assert_allclose(back.numpy(), csi.numpy(), rtol=1e-4, atol=1e-12)


def test_contrastive_plus_reconstruction_loss_matches_numpy(city_small):
    import zoo_core  # noqa: F401
    from zoo_twotower.data import pair_batch
    from zoo_twotower.losses import TwoTowerObjective
    from zoo_twotower.model import create

    torch.manual_seed(0)
    model = create("tiny", "crnn-msnn").eval()
    batch = pair_batch(city_small, np.arange(12))
    objective = TwoTowerObjective(model)
    with torch.no_grad():
        loss = objective(batch).item()
        c = model.encode(batch, "csi").numpy().astype(np.float64)
        e = model.encode(batch, "env").numpy().astype(np.float64)
        recon = model.heads["csi-feedback"](model.encode(batch, "csi")).numpy()
        target = model.encoders["csi"].transform(batch["csi"]).numpy()
        scale = float(model.heads["retrieval"].scale())
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    logits = scale * c @ e.T

    def xent(z):  # rows against the diagonal
        z = z - z.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(1)) - np.diag(z)))

    want = (xent(logits) + xent(logits.T)) / 2 + float(np.mean((recon - target) ** 2))
    assert loss == pytest.approx(want, rel=1e-4)


def test_focal_loss_matches_eq_16():
    from zoo_twotower.losses import focal_loss

    logits = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 4, 2, 2, 1, 3])
    q = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True)
    qt = q[np.arange(6), target.numpy()]
    want = -np.mean((1 - qt) ** 2 * np.log(qt))
    assert focal_loss(logits, target, 2.0).item() == pytest.approx(want, rel=1e-5)
