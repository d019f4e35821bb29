"""Loaders on small files written here in each format, checked element by element against
the documented axis mapping, plus a wrong-layout file per loader that must be refused."""

import cmath
import math

import h5py
import numpy as np
import pytest
import scipy.io

from zoo_core.data.errors import DataFileNotFoundError, DataFormatError
from zoo_core.data.loaders import load, loader
from zoo_core.data.sources import _records
from zoo_core.data.sample import WirelessData
from zoo_core.errors import UnknownNameError

RNG = np.random.default_rng(0)


def _npsave(path, arr, **kw):
    """np.save to an exact file name (np.save would append .npy to 'X_train.csv')."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.save(f, arr, **kw)


def test_loaders_are_registered_data_sets():
    names = {r.name for r in _records("loader") if r.plugin == "core"}
    assert {"deepmimo", "ut-har", "ntu-fi", "nr-positioning", "wair-d"} <= names
    with pytest.raises(UnknownNameError, match="ut-har"):
        loader("ut_harr")
    with pytest.raises(DataFileNotFoundError):
        load("ut-har", "/nonexistent/folder")


# ---------------------------------------------------------------------- UT-HAR
def _ut_har(root, n=5, x_shape=None, y=None):
    x = RNG.random((n, 1, 250, 90)).astype(np.float32) if x_shape is None else RNG.random(x_shape)
    y = RNG.integers(0, 7, n) if y is None else y
    _npsave(root / "UT_HAR" / "data" / "X_train.csv", x)
    _npsave(root / "UT_HAR" / "label" / "y_train.csv", y)
    return x, y


def test_ut_har_axis_mapping(tmp_path):
    x, y = _ut_har(tmp_path)
    data = load("ut-har", tmp_path, split="train")
    assert isinstance(data, WirelessData)
    assert data.csi.shape == (5, 3, 1, 30, 250) and data.csi.dtype == np.complex64
    np.testing.assert_array_equal(data.labels["activity"], y)
    for n, a, s, t in [(0, 0, 0, 0), (4, 2, 29, 249), (2, 1, 7, 100), (3, 2, 0, 13)]:
        assert data.csi[n, a, 0, s, t] == pytest.approx(complex(x[n, 0, t, 30 * a + s]))
    assert np.all(data.csi.imag == 0)
    assert data.meta["class_names"][1] == "fall" and len(data.meta["class_names"]) == 7
    # the folder holding data/ and label/ works too, and the result survives save/load
    again = load("ut-har", tmp_path / "UT_HAR")
    np.testing.assert_array_equal(again.csi, data.csi)
    back = WirelessData.load(data.save(tmp_path / "ut.h5"))
    np.testing.assert_array_equal(back.labels["activity"], y)


def test_ut_har_wrong_layouts(tmp_path):
    _ut_har(tmp_path, x_shape=(5, 1, 250, 80))
    with pytest.raises(DataFormatError, match=r"X_train\.csv.*'X'.*\(5, 1, 250, 80\).*\(N, 1, 250, 90\)"):
        load("ut-har", tmp_path)
    _ut_har(tmp_path, y=np.array([0, 1, 2, 3, 9]))
    with pytest.raises(DataFormatError, match=r"y_train.*0\.\.6"):
        load("ut-har", tmp_path)
    _ut_har(tmp_path, y=np.array([0, 1, 2]))
    with pytest.raises(DataFormatError, match="3 labels for 5 samples"):
        load("ut-har", tmp_path)
    with pytest.raises(DataFileNotFoundError, match="X_test"):
        load("ut-har", tmp_path, split="test")


def test_ut_har_refuses_pickle(tmp_path):
    _ut_har(tmp_path)
    _npsave(tmp_path / "UT_HAR" / "label" / "y_train.csv", np.array([{"a": 1}] * 5, dtype=object),
            allow_pickle=True)
    with pytest.raises(DataFormatError, match="never unpickles"):
        load("ut-har", tmp_path)


# ---------------------------------------------------------------------- NTU-Fi
def _ntu(root, split, cls, name, amp):
    folder = root / f"{split}_amp" / cls
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / name, {"CSIamp": amp})


def test_ntu_fi_labels_and_axes(tmp_path):
    amps = {}
    for cls, name in [("walk", "walk1.mat"), ("box", "box1.mat"), ("box", "box2.mat")]:
        amps[cls, name] = RNG.random((342, 20)) * 50
        _ntu(tmp_path, "train", cls, name, amps[cls, name])
    _ntu(tmp_path, "test", "run", "run1.mat", RNG.random((342, 20)))  # a class only in test
    data = load("ntu-fi", tmp_path, split="train", packet_stride=4)
    # classes: sorted union over both splits -> box 0, run 1, walk 2
    assert data.meta["class_names"] == ["box", "run", "walk"]
    np.testing.assert_array_equal(data.labels["activity"], [0, 0, 2])
    assert data.csi.shape == (3, 3, 1, 114, 5)
    ref = amps["walk", "walk1.mat"]
    for a, s, t in [(0, 0, 0), (2, 113, 4), (1, 50, 2)]:
        assert data.csi[2, a, 0, s, t].real == pytest.approx(ref[114 * a + s, 4 * t], rel=1e-6)
    test = load("ntu-fi", tmp_path, split="test", packet_stride=1)
    np.testing.assert_array_equal(test.labels["activity"], [1])
    assert test.csi.shape[-1] == 20


def test_ntu_fi_wrong_layouts(tmp_path):
    _ntu(tmp_path, "train", "walk", "a.mat", RNG.random((340, 20)))
    with pytest.raises(DataFormatError, match=r"a\.mat.*'CSIamp'.*\(340, 20\).*\(342, 2000\)"):
        load("ntu-fi", tmp_path)
    folder = tmp_path / "other" / "train_amp" / "walk"
    folder.mkdir(parents=True)
    scipy.io.savemat(folder / "b.mat", {"amp": np.ones((342, 4))})
    with pytest.raises(DataFormatError, match=r"missing key 'CSIamp'.*\['amp'\]"):
        load("ntu-fi", tmp_path / "other")
    (folder / "b.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DataFormatError, match=r"b\.mat"):
        load("ntu-fi", tmp_path / "other")


# ---------------------------------------------------------------------- 5G NR positioning
def _nr(path, features, position, nested=True):
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=features)
        if nested:
            f.create_group("labels").create_dataset("position", data=position)
        else:
            f.create_dataset("position", data=position)


def test_nr_positioning_both_orientations(tmp_path):
    feats = RNG.standard_normal((6, 4, 12, 7)).astype(np.float32)
    pos = RNG.uniform(0, 60, (6, 3))
    _nr(tmp_path / "dataset_SNR20_outdoor.mat", feats, pos)
    data = load("nr-positioning", tmp_path / "dataset_SNR20_outdoor.mat")
    assert data.csi.shape == (6, 1, 4, 12, 7)
    np.testing.assert_allclose(data.csi[:, 0].real, feats)
    np.testing.assert_allclose(data.ue_pos, pos, rtol=1e-6)
    np.testing.assert_allclose(data.labels["position"], pos, rtol=1e-6)
    np.testing.assert_array_equal(data.extras["snr_db"], np.full(6, 20.0))
    assert data.meta["scenes"] == ["outdoor"] and data.meta["n_base_stations"] == 4

    # as MATLAB writes it: every array reversed -> (W, H, C, N) and (3, N)
    folder = tmp_path / "matlab"
    folder.mkdir()
    _nr(folder / "dataset_SNR10_indoor.mat", feats.transpose(3, 2, 1, 0), pos.T)
    _nr(folder / "dataset_SNR50_indoor.mat", feats[:2], pos[:2], nested=False)
    both = load("nr-positioning", folder)  # sorted: SNR10 then SNR50
    assert both.csi.shape == (8, 1, 4, 12, 7)
    np.testing.assert_allclose(both.csi[:6, 0].real, feats)
    np.testing.assert_allclose(both.csi[6:, 0].real, feats[:2])
    np.testing.assert_array_equal(both.extras["snr_db"], [10] * 6 + [50] * 2)


def test_nr_positioning_wrong_layouts(tmp_path):
    _nr(tmp_path / "a.mat", np.ones((6, 4, 12, 7)), np.ones((6, 2)))
    with pytest.raises(DataFormatError, match=r"a\.mat.*'labels/position'.*\(6, 2\).*\(N, 3\)"):
        load("nr-positioning", tmp_path / "a.mat")
    with h5py.File(tmp_path / "b.mat", "w") as f:
        f.create_dataset("feat", data=np.ones((2, 4, 3, 3)))
    with pytest.raises(DataFormatError, match=r"missing dataset 'features'"):
        load("nr-positioning", tmp_path / "b.mat")
    scipy.io.savemat(tmp_path / "c.mat", {"features": np.ones((2, 4, 3, 3))})
    with pytest.raises(DataFormatError, match="v7.3"):
        load("nr-positioning", tmp_path / "c.mat")


# ---------------------------------------------------------------------- DeepMIMO v3
def _struct_cells(mats):
    cells = np.empty((1, len(mats)), dtype=object)
    for i, m in enumerate(mats):
        cells[0, i] = {"p": m}
    return cells


def _deepmimo_scenario(folder, mats, locs, tx_power=3.0):
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / "params.mat", {
        "carrier_freq": 3.5e9, "transmit_power": tx_power, "num_BS": 1,
        "user_grids": np.array([[1, 1, len(mats)]], dtype=float),
        "doppler_available": 0, "dual_polar_available": 0,
    })
    scipy.io.savemat(folder / f"BS1_UE_0-{len(mats)}.mat",
                     {"channels": _struct_cells(mats), "rx_locs": locs, "tx_loc": np.array([[1.0, 2.0, 10.0]])})


def _paths(n_paths, los_first):
    m = np.zeros((8, n_paths))
    m[0] = RNG.uniform(-180, 180, n_paths)          # phase (deg)
    m[1] = RNG.uniform(50e-9, 400e-9, n_paths)      # ToA (s)
    m[2] = RNG.uniform(-110, -70, n_paths)          # power (dBm)
    m[3], m[5] = RNG.uniform(-180, 180, (2, n_paths))  # DoA / DoD phi
    m[4], m[6] = RNG.uniform(40, 140, (2, n_paths))    # DoA / DoD theta
    m[7, 0] = 1.0 if los_first else 0.0
    return m


def _deepmimo_reference(m, tx_power, bs_shape, ue_shape, K, bw_hz, max_paths):
    """Plain-loop DeepMIMO v3 OFDM channel for one user (no rotation, isotropic, no LPF)."""
    def index(shape, m_idx):  # antenna m -> (y, z), y fastest
        return m_idx % shape[0], m_idx // shape[0]

    def resp(shape, m_idx, theta, phi):
        y, z = index(shape, m_idx)
        return cmath.exp(1j * math.pi * (y * math.sin(theta) * math.sin(phi) + z * math.cos(theta)))

    n_ue, n_bs = ue_shape[0] * ue_shape[1], bs_shape[0] * bs_shape[1]
    h = np.zeros((n_ue, n_bs, K), dtype=complex)
    for l in range(min(m.shape[1], max_paths)):
        phase, toa, p_dbm, doa_phi, doa_th, dod_phi, dod_th = m[:7, l]
        power = 10 ** ((p_dbm - tx_power) / 10)  # DeepMIMOv3 itself: tests/test_deepmimo_v3_reference.py
        d = toa * bw_hz
        if d >= K:
            continue
        for r in range(n_ue):
            for t in range(n_bs):
                a = resp(ue_shape, r, math.radians(doa_th), math.radians(doa_phi)) * \
                    resp(bs_shape, t, math.radians(dod_th), math.radians(dod_phi))
                for k in range(K):
                    h[r, t, k] += a * math.sqrt(power / K) * cmath.exp(1j * (math.radians(phase) - 2 * math.pi * k * d / K))
    return h


def test_deepmimo_scenario_against_loop_reference(tmp_path):
    mats = [_paths(3, True), _paths(2, False), np.zeros((8, 0)), _paths(6, False)]
    locs = np.column_stack([RNG.uniform(0, 100, (4, 3)), RNG.uniform(10, 200, 4), RNG.uniform(80, 120, 4)])
    _deepmimo_scenario(tmp_path / "O1", mats, locs)
    opts = dict(bs_shape=(4, 2), ue_shape=(2, 1), n_subcarriers=16, bandwidth_ghz=0.02, max_paths=5)
    data = load("deepmimo", tmp_path / "O1", **opts)
    # user 2 has no path and is dropped; the others keep their order
    assert len(data) == 3 and data.meta["n_dropped_no_path"] == 1
    assert data.csi.shape == (3, 2, 8, 16, 1)
    for row, user in enumerate([0, 1, 3]):
        ref = _deepmimo_reference(mats[user], 3.0, (4, 2), (2, 1), 16, 0.02e9, 5)
        np.testing.assert_allclose(data.csi[row, ..., 0], ref, rtol=2e-4, atol=1e-9 * np.abs(ref).max())
    np.testing.assert_array_equal(data.los, [True, False, False])
    np.testing.assert_array_equal(data.extras["los_status"], [1, 0, 0])
    np.testing.assert_array_equal(data.extras["n_paths"], [3, 2, 5])  # max_paths caps user 3
    np.testing.assert_allclose(data.ue_pos, locs[[0, 1, 3], :3], rtol=1e-6)
    np.testing.assert_allclose(data.bs_pos, np.tile([1.0, 2.0, 10.0], (3, 1)))
    # keep_no_path keeps the all-zero channel with LoS status -1; users=2 takes the first two
    everyone = load("deepmimo", tmp_path / "O1", keep_no_path=True, **opts)
    assert len(everyone) == 4 and everyone.extras["los_status"][2] == -1 and not everyone.csi[2].any()
    assert len(load("deepmimo", tmp_path / "O1", users=2, **opts)) == 2


def test_deepmimo_saved_channels(tmp_path):
    ch = (RNG.standard_normal((4, 1, 8, 16)) + 1j * RNG.standard_normal((4, 1, 8, 16))).astype(np.complex64)
    los = np.array([1, 0, -1, 1])
    loc = RNG.uniform(0, 50, (4, 3))
    np.savez(tmp_path / "saved.npz", channel=ch, LoS=los, location=loc)
    data = load("deepmimo", tmp_path / "saved.npz")
    assert data.csi.shape == (3, 1, 8, 16, 1)
    np.testing.assert_array_equal(data.csi[..., 0], ch[[0, 1, 3]])
    np.testing.assert_array_equal(data.los, [True, False, True])
    # MATLAB v7.3: datasets carry MATLAB_class and are stored reversed
    with h5py.File(tmp_path / "saved.mat", "w") as f:
        d = f.create_dataset("channel", data=ch.T)
        d.attrs["MATLAB_class"] = np.bytes_("double")
    np.testing.assert_array_equal(load("deepmimo", tmp_path / "saved.mat").csi[..., 0], ch)


def test_deepmimo_wrong_layouts(tmp_path):
    bad = np.zeros((5, 2))  # 5 rows: not a path-parameter matrix
    _deepmimo_scenario(tmp_path / "A", [bad, bad], np.ones((2, 5)))
    with pytest.raises(DataFormatError, match=r"channels \(user 0\).*\(5, 2\).*\(8 or 10\) x paths"):
        load("deepmimo", tmp_path / "A")
    _deepmimo_scenario(tmp_path / "B", [_paths(2, True)] * 2, np.ones((3, 5)))
    with pytest.raises(DataFormatError, match=r"'rx_locs'.*\(3, 5\).*\(2, 5\)"):
        load("deepmimo", tmp_path / "B")
    (tmp_path / "C").mkdir()
    with pytest.raises(DataFormatError, match="no params.mat"):
        load("deepmimo", tmp_path / "C")
    np.savez(tmp_path / "x.npz", chan=np.ones((2, 1, 2, 2)))
    with pytest.raises(DataFormatError, match=r"missing key 'channel'.*\['chan'\]"):
        load("deepmimo", tmp_path / "x.npz")


# ---------------------------------------------------------------------- WAIR-D
C = 299_792_458.0


def _wair_env(env, links, paths, map_img=None):
    env.mkdir(parents=True, exist_ok=True)
    np.save(env / "Info.npy", np.concatenate([[120.0, 80.0], np.ravel(links)]))
    np.savez(env / "Path.npz", **{f"{k}/{f}": v for k, p in paths.items() for f, v in p.items()})
    if map_img is not None:
        from PIL import Image

        Image.fromarray(map_img).save(env / "environment.png")


def test_wair_d_csi_los_and_map(tmp_path):
    bs = np.array([[10.0, 10.0], [100.0, 60.0]])
    ue = np.array([[40.0, 50.0], [70.0, 20.0]])
    links = np.array([[*b, *u] for b in bs for u in ue])  # BS-major: bs0_ue0, bs0_ue1, bs1_ue0, bs1_ue1
    paths = {}
    for i, (b, u) in enumerate([(b, u) for b in range(2) for u in range(2)]):
        direct = math.dist([*links[i, :2], 6.0], [*links[i, 2:], 1.5])
        first = direct / C if i != 1 else (direct + 20.0) / C  # link 1: first path is a reflection
        paths[f"bs{b}_ue{u}"] = {
            "taud": np.array([first, first + 1e-7]),
            "dod": np.array([[1.5, 0.3 + i], [1.4, 2.0]]),  # (zenith, azimuth) in rad
            "pow": np.array([-80.0, -90.0]),
        }
    img = np.zeros((80, 120), dtype=np.uint8)
    img[:20, :30] = 255  # a building in the image's top-left = north-west corner
    _wair_env(tmp_path / "scenario_1" / "00001", links, paths, img)
    data = load("wair-d", tmp_path / "scenario_1", n_tx=4, n_subcarriers=8, map_size=24)
    assert data.csi.shape == (4, 1, 4, 8, 1)
    np.testing.assert_array_equal(data.los, [True, False, True, True])
    np.testing.assert_allclose(data.bs_pos[2], [100, 60, 6])
    np.testing.assert_allclose(data.ue_pos[1], [70, 20, 1.5])
    # plain-loop reference of the two-tower model (eqs. 1-3)
    fc, bw, K = 28e9, 46.08e6, 8
    p = paths["bs1_ue0"]
    for t in range(4):
        for k in range(K):
            f = fc + (k - K / 2) * bw / K
            ref = sum(math.sqrt(10 ** (p["pow"][l] / 10)) * cmath.exp(-2j * math.pi * f * p["taud"][l])
                      * cmath.exp(-1j * math.pi * t * math.cos(p["dod"][l, 1])) for l in range(2))
            assert data.csi[2, 0, t, k, 0] == pytest.approx(ref, rel=1e-4, abs=1e-10)
    # map: 120 x 80 m padded to 120 x 120 at the north edge, 24 px -> 5 m/px; building at
    # x in [0, 30), y in [60, 80) -> columns 0..5, rows 12..15
    assert data.env_map.shape == (1, 24, 24) and data.map_scale[0] == pytest.approx(5.0)
    expected = np.zeros((24, 24), dtype=np.uint8)
    expected[12:16, 0:6] = 1
    np.testing.assert_array_equal(data.env_map[0], expected)
    np.testing.assert_array_equal(data.scene_id, 0)


def test_wair_d_refuses_pickled_paths_and_bad_info(tmp_path):
    env = tmp_path / "00001"
    env.mkdir()
    np.save(env / "Info.npy", np.array([100.0, 100.0, 1, 2, 3, 4]))
    np.save(env / "Path.npy", np.array({"bs0_ue0": {"taud": np.ones(2)}}, dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"Path\.npy.*never unpickles.*Path\.npz"):
        load("wair-d", env)
    np.save(env / "Info.npy", np.array([100.0, 100.0, 1, 2, 3]))
    with pytest.raises(DataFormatError, match=r"Info\.npy.*'Info'.*\(5,\).*width, height"):
        load("wair-d", env)
    np.save(env / "Info.npy", np.array([100.0, 100.0, 1, 2, 3, 4]))
    np.savez(env / "Path.npz", **{"bs0_ue0/taud": np.ones(2), "bs0_ue0/dod": np.ones((2, 2))})
    with pytest.raises(DataFormatError, match=r"'bs0_ue0' has no field among \['pow'"):
        load("wair-d", env)
