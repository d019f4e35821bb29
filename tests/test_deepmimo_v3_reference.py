"""DeepMIMO v3 loader against DeepMIMOv3 itself (PyPI `deepmimov3` 0.2.9), not a copy of its formula.

The test writes a small v3-layout scenario folder (params.mat + BS1_UE_0-n.mat, as the DeepMIMO
server ships them), runs DeepMIMOv3's own `generate_data` on it offline (its `dataset_folder`
parameter points at the local folder; nothing is downloaded) and compares the channels with
`load_deepmimo` at scenario transmit powers 0, 15 and 30 dBm.

Print the figures:  python -m pytest -q -s tests/test_deepmimo_v3_reference.py
(lines "v3 vs DeepMIMOv3: tx power ... max relative error ...").
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import scipy.io

from zoo_core.data.loaders.deepmimo import DeepMIMOVersionError, load_deepmimo

RTOL = 1e-4
N_USERS = 7
BS_SHAPE, UE_SHAPE = (4, 2), (2, 1)
K, BW_GHZ, MAX_PATHS = 32, 0.05, 5


def _user_paths(rng, n_paths, los):
    """(8, L) path table: phase, ToA, power (dBm), DoA phi/theta, DoD phi/theta, LoS."""
    m = np.zeros((8, n_paths))
    m[0] = rng.uniform(-180, 180, n_paths)
    m[1] = rng.uniform(20e-9, 900e-9, n_paths)  # 32 subcarriers at 50 MHz: a 640 ns window, some dropped
    m[2] = rng.uniform(-120, -60, n_paths)
    m[3], m[5] = rng.uniform(-180, 180, (2, n_paths))
    m[4], m[6] = rng.uniform(20, 160, (2, n_paths))
    if los:
        m[7, 0] = 1.0
    return m


def _write_scenario(folder, tx_power_dbm, seed=3):
    rng = np.random.default_rng(seed)
    counts = [3, 1, 0, 8, 5, 2, 6]  # user 2 has no path; user 3 has more than MAX_PATHS
    mats = [_user_paths(rng, n, los=(i % 2 == 0 and n > 0)) for i, n in enumerate(counts)]
    # path powers as the ray tracer reports them at this transmit power: same propagation loss
    for m in mats:
        m[2] += tx_power_dbm
    folder.mkdir(parents=True)
    scipy.io.savemat(folder / "params.mat", {
        "carrier_freq": 28e9, "transmit_power": float(tx_power_dbm), "num_BS": 1,
        "user_grids": np.array([[1, 1, N_USERS]], dtype=float),
        "doppler_available": 0, "dual_polar_available": 0,
    })
    cells = np.empty((1, N_USERS), dtype=object)
    for i, m in enumerate(mats):
        cells[0, i] = {"p": m}
    locs = np.column_stack([rng.uniform(0, 100, (N_USERS, 3)), rng.uniform(10, 200, N_USERS),
                            rng.uniform(80, 120, N_USERS)])
    scipy.io.savemat(folder / f"BS1_UE_0-{N_USERS}.mat",
                     {"channels": cells, "rx_locs": locs, "tx_loc": np.array([[1.0, 2.0, 10.0]])})
    return mats


def _deepmimov3_channels(root, scenario):
    DeepMIMOv3 = pytest.importorskip("DeepMIMOv3", reason="reference package: bash .ci/reference_data.sh")
    params = DeepMIMOv3.default_params()
    params.update({
        "dataset_folder": str(root), "scenario": scenario, "num_paths": MAX_PATHS,
        "active_BS": np.array([1]), "user_rows": np.array([0]), "enable_BS2BS": 0, "OFDM_channels": 1,
    })
    params["OFDM"].update({"subcarriers": K, "selected_subcarriers": np.arange(K), "bandwidth": BW_GHZ,
                           "RX_filter": 0})
    params["bs_antenna"].update({"shape": np.array(BS_SHAPE), "spacing": 0.5})
    params["ue_antenna"].update({"shape": np.array(UE_SHAPE), "spacing": 0.5})
    for side in ("bs_antenna", "ue_antenna"):
        params[side].pop("rotation")  # no rotation (the generator's None), full field of view
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        out = DeepMIMOv3.generate_data(params)
    return out[0]["user"]


def relative_error(ours, ref):
    """max |ours - ref| / max |ref|, per user, over all antennas and subcarriers."""
    return np.max(np.abs(ours - ref), axis=(1, 2, 3)) / np.maximum(np.max(np.abs(ref), axis=(1, 2, 3)), 1e-300)


@pytest.mark.parametrize("tx_power", [0.0, 15.0, 30.0])
def test_v3_channels_equal_deepmimov3(tmp_path, tx_power, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)  # DeepMIMOv3 pauses 0.3 s after each print
    scenario = f"wz_p{int(tx_power)}"
    _write_scenario(tmp_path / scenario, tx_power)
    ref = _deepmimov3_channels(tmp_path, scenario)
    ours = load_deepmimo(tmp_path / scenario, bs_shape=BS_SHAPE, ue_shape=UE_SHAPE, n_subcarriers=K,
                         bandwidth_ghz=BW_GHZ, max_paths=MAX_PATHS, keep_no_path=True)
    ref_ch = np.asarray(ref["channel"])
    assert ours.csi.shape == (*ref_ch.shape, 1) == (N_USERS, 2, 8, K, 1)
    has_path = np.abs(ref_ch).reshape(N_USERS, -1).max(axis=1) > 0
    assert has_path.sum() >= 4 and not ours.csi[~has_path].any()  # no path, or every path past the window
    err = relative_error(ours.csi[has_path, ..., 0].astype(np.complex128), ref_ch[has_path].astype(np.complex128))
    print(f"\nv3 vs DeepMIMOv3: tx power {tx_power:g} dBm, {has_path.sum()} users, "
          f"max relative error {err.max():.2e}")
    assert err.max() < RTOL
    # the same propagation at any transmit power gives the same channel (the old bug scaled by 2 Ptx - 30 dB)
    power = np.mean(np.abs(ref_ch[has_path]) ** 2)
    assert 1e-13 < power < 1e-5
    np.testing.assert_array_equal(ours.extras["los_status"], ref["LoS"])
    np.testing.assert_allclose(ours.ue_pos, ref["location"], rtol=1e-6)


def test_v3_power_is_independent_of_transmit_power(tmp_path):
    """Same propagation written at 0 and 30 dBm gives the same channel (DeepMIMOv3 normalises)."""
    _write_scenario(tmp_path / "a", 0.0)
    _write_scenario(tmp_path / "b", 30.0)
    a = load_deepmimo(tmp_path / "a", n_subcarriers=K, bandwidth_ghz=BW_GHZ)
    b = load_deepmimo(tmp_path / "b", n_subcarriers=K, bandwidth_ghz=BW_GHZ)
    np.testing.assert_allclose(a.csi, b.csi, rtol=1e-5, atol=1e-12)


def test_v4_folder_given_to_v3_reader(tmp_path):
    folder = tmp_path / "city_v4"
    folder.mkdir()
    (folder / "params.json").write_text("{}")
    np.savez(folder / "power_t001_tx000_r001.npz", power=np.zeros((2, 3)))
    for target in (folder, folder / "power_t001_tx000_r001.npz"):
        with pytest.raises(DeepMIMOVersionError) as err:
            load_deepmimo(target)
        msg = str(err.value)
        assert "\n" not in msg and "DeepMIMO v4" in msg and "DeepMIMO v3" in msg
        assert f"wzoo data convert deepmimo-v4 {folder} --out FILE" in msg
