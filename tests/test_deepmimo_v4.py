"""DeepMIMO v4 loader against DeepMIMO v4 itself (PyPI `deepmimo` 4.0.5), not a copy of its formula.

The scenario folder is written by deepmimo's own converter: a small MATLAB ray-tracer JSON export
(one BS, receivers with 0 to 30 rays, reflections, delays past the OFDM symbol) goes through
`deepmimo.converters.matlab_rt.converter.convert_matlab_rt_json`, offline. Then `dm.load` +
`Dataset.compute_channels` on that folder is compared with `load_deepmimo_v4` within 1e-4
relative, on the folder as written, on a copy whose path columns are shuffled (the first 25 by
index are kept, not the strongest), and with the carrier phase (deepmimo on a copy whose phases
include it).

Print the figures:  python -m pytest -q -s tests/test_deepmimo_v4.py
(lines "v4 vs deepmimo compute_channels: ... max relative error ...").
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from zoo_core.data.errors import DataFormatError
from zoo_core.data.loaders.deepmimo import DeepMIMOVersionError
from zoo_core.data.loaders.deepmimo_v4 import load_deepmimo_v4

REASON = "reference package: bash .ci/reference_data.sh"

RTOL = 1e-4
C = 299_792_458.0
FC = 28e9
K, BW = 64, 50e6  # a 1.28 us OFDM symbol
RAYS = [3, 0, 30, 12, 1, 27, 6]  # receiver 1 has no path; 2 and 5 have more than 25
QUANTITY_FILES = ("power", "phase", "delay", "aoa_az", "aoa_el", "aod_az", "aod_el", "inter", "inter_pos")


def _export(seed=5):
    """A MATLAB RT multi-link JSON export (the converter's documented input)."""
    rng = np.random.default_rng(seed)
    bs = [0.0, 0.0, 25.0]
    rx = [[float(x), float(y), 1.5] for x, y in rng.uniform(-150, 150, (len(RAYS), 2))]
    links = []
    for i, n in enumerate(RAYS):
        rays = []
        for r in range(n):
            los = r == 0 and i % 2 == 0
            inter = [] if los else [
                {"Type": "Reflection", "Location": [float(v) for v in rng.uniform(-100, 100, 3)]}
                for _ in range(int(rng.integers(1, 3)))]
            delay = float(rng.uniform(0.2e-6, 1.6e-6))  # some later than the symbol
            rays.append({
                "index": r + 1, "line_of_sight": los,
                "transmitter_location_m": bs, "receiver_location_m": rx[i],
                "path_loss_db": float(rng.uniform(80, 130)), "phase_shift_rad": float(rng.uniform(-np.pi, np.pi)),
                "propagation_delay_s": delay, "propagation_distance_m": delay * C,
                "angle_of_departure_deg": [float(rng.uniform(-180, 180)), float(rng.uniform(-80, 80))],
                "angle_of_arrival_deg": [float(rng.uniform(-180, 180)), float(rng.uniform(-80, 80))],
                "num_interactions": len(inter), "interactions": inter,
                "path_coordinates_m": [bs, *[x["Location"] for x in inter], rx[i]],
            })
        links.append({"index": i + 1, "tx_index": 1, "rx_index": i + 1, "tx_position_m": bs,
                      "rx_position_m": rx[i], "num_rays": n, "rays": rays})
    return {
        "metadata": {"experiment": "wzoo-test", "description": "tiny scene for the v4 loader test"},
        "scene": {"coordinate_system": "Cartesian", "frequency_hz": FC},
        "propagation_model": {"coordinate_system": "Cartesian"},
        "num_tx": 1, "num_rx": len(RAYS),
        "transmitters": [{"index": 1, "name": "bs", "antenna_position_m": bs}],
        "receivers": [{"index": i + 1, "antenna_position_m": p} for i, p in enumerate(rx)],
        "links": links,
    }


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory, request):
    """Folders written by deepmimo's converter: as written, shuffled, with carrier phases."""
    pytest.importorskip("deepmimo", reason=REASON)
    from deepmimo.converters.matlab_rt.converter import convert_matlab_rt_json

    root = tmp_path_factory.mktemp("dm4").resolve()
    if str(root) != str(root).lower():  # dm.load lower-cases the scenario name, path included
        root = Path(tempfile.mkdtemp(prefix="wzoo_dm4_", dir="/tmp")).resolve()
        request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    assert str(root) == str(root).lower()
    (root / "export.json").write_text(json.dumps(_export()))
    _quiet(convert_matlab_rt_json, root / "export.json", scenario_root=root, scenario_name="wzcity")
    base = root / "wzcity"
    files = sorted(p.name for p in base.glob("power_*.npz"))
    assert files == ["power_t000_tx000_r001.npz"], files
    pair = "t000_tx000_r001"

    def copy(name, edit):
        dst = root / name
        dst.mkdir()
        for p in base.iterdir():
            (dst / p.name).write_bytes(p.read_bytes())
        arrays = {q: np.load(base / f"{q}_{pair}.npz")[q] for q in QUANTITY_FILES}
        for q, a in edit(arrays).items():
            np.savez_compressed(dst / f"{q}_{pair}.npz", **{q: a})
        return dst

    def shuffle(arrays):
        rng = np.random.default_rng(1)
        out = {q: a.copy() for q, a in arrays.items()}
        n_valid = (~np.isnan(arrays["power"])).sum(axis=1)
        for u, n in enumerate(n_valid):
            perm = rng.permutation(n)
            for q in out:
                out[q][u, :n] = arrays[q][u, perm]
        return out

    def with_carrier(arrays):
        fc_tau = np.mod(FC * arrays["delay"], 1.0)
        return {"phase": arrays["phase"] - 360.0 * fc_tau}

    return {"base": base, "shuffled": copy("wzshuffled", shuffle), "carrier": copy("wzcarrier", with_carrier),
            "root": root}


def _reference(folder, bs_shape, ue_shape):
    """deepmimo's own channels for the folder (dm.load + compute_channels)."""
    dm = pytest.importorskip("deepmimo", reason=REASON)
    old = dm.config.get("scenarios_folder")
    try:
        _quiet(dm.config.set, "scenarios_folder", str(folder.parent))
        ds = _quiet(dm.load, str(folder), max_paths=25)
        params = dm.ChannelParameters(
            bs_antenna={"shape": np.array(bs_shape), "spacing": 0.5},
            ue_antenna={"shape": np.array(ue_shape), "spacing": 0.5},
            ofdm={"subcarriers": K, "selected_subcarriers": np.arange(K), "bandwidth": BW},
        )
        channel = _quiet(ds.compute_channels, params)
        return np.asarray(channel), ds
    finally:
        dm.config.set("scenarios_folder", old)


def relative_error(ours, ref):
    """max |ours - ref| / max |ref| per user (users whose reference is not all zero)."""
    ours, ref = ours.astype(np.complex128), ref.astype(np.complex128)
    scale = np.abs(ref).reshape(len(ref), -1).max(axis=1)
    return np.abs(ours - ref).reshape(len(ref), -1).max(axis=1)[scale > 0] / scale[scale > 0]


@pytest.mark.parametrize("which", ["base", "shuffled"])
def test_v4_channels_equal_deepmimo(scenarios, which):
    folder = scenarios[which]
    ref, ds = _reference(folder, (4, 2), (2, 1))
    data = load_deepmimo_v4(folder, bs_shape=(4, 2), ue_shape=(2, 1), n_subcarriers=K, bandwidth_hz=BW,
                            keep_no_path=True)
    assert data.csi.shape == (len(RAYS), 2, 8, K, 1) == (*ref.shape, 1)
    err = relative_error(data.csi[..., 0], ref)
    print(f"\nv4 vs deepmimo compute_channels ({which} folder, UPA 4x2 BS, 2x1 UE, {K} subcarriers): "
          f"{err.size} users, max relative error {err.max():.2e}")
    assert err.size == len(RAYS) - 1 and err.max() < RTOL
    assert not data.csi[1].any()  # receiver 1 has no path
    # labels: positions, DeepMIMO's LoS status, and "has a kept path with no interaction"
    np.testing.assert_allclose(data.ue_pos, ds.rx_pos, rtol=1e-6)
    np.testing.assert_allclose(data.bs_pos[0], np.ravel(ds.tx_pos), rtol=1e-6)
    np.testing.assert_array_equal(data.extras["los_status"], ds.los)
    np.testing.assert_array_equal(data.los, (ds.inter[:, :25] == 0).any(axis=1))
    np.testing.assert_array_equal(data.extras["n_paths"], ds.num_paths)


def test_v4_keeps_first_paths_by_index(scenarios):
    """Receiver 2 has 30 paths: the shuffled folder keeps a different 25 than the strongest-first one."""
    base = load_deepmimo_v4(scenarios["base"], bs_shape=(4, 1), n_subcarriers=K, bandwidth_hz=BW, n_beams=0)
    shuffled = load_deepmimo_v4(scenarios["shuffled"], bs_shape=(4, 1), n_subcarriers=K, bandwidth_hz=BW, n_beams=0)
    row = list(base.extras["user_id"]).index(2)
    assert base.extras["n_paths"][row] == 25
    assert np.abs(base.csi[row] - shuffled.csi[row]).max() > 1e-3 * np.abs(base.csi[row]).max()
    few = list(base.extras["user_id"]).index(0)  # 3 paths: the same set in any order
    np.testing.assert_allclose(base.csi[few], shuffled.csi[few], rtol=1e-5, atol=1e-6 * np.abs(base.csi[few]).max())


def test_v4_carrier_phase_equals_deepmimo_with_carrier_phases(scenarios):
    ref, _ = _reference(scenarios["carrier"], (8, 1), (1, 1))
    data = load_deepmimo_v4(scenarios["base"], bs_shape=(8, 1), n_subcarriers=K, bandwidth_hz=BW,
                            carrier_phase=True, keep_no_path=True)
    err = relative_error(data.csi[..., 0], ref)
    print(f"\nv4 carrier_phase=True vs deepmimo on phases - 360 f_c tau (ULA 8, {K} subcarriers): "
          f"{err.size} users, max relative error {err.max():.2e}")
    assert err.max() < RTOL
    plain = load_deepmimo_v4(scenarios["base"], bs_shape=(8, 1), n_subcarriers=K, bandwidth_hz=BW, keep_no_path=True)
    assert relative_error(plain.csi[..., 0], ref).max() > 1e-2  # the option changes the channel
    assert data.meta["carrier_freq_hz"] == FC and data.meta["params"]["carrier_phase"] is True


def test_v4_best_beam_is_the_argmax_of_codebook_power(scenarios):
    ref, _ = _reference(scenarios["base"], (8, 1), (1, 1))
    data = load_deepmimo_v4(scenarios["base"], bs_shape=(8, 1), n_subcarriers=K, bandwidth_hz=BW, n_beams=16)
    codebook = data.shared["codebook"]
    assert codebook.shape == (16, 8)
    ref = ref[data.extras["user_id"]]
    power = np.einsum("bt,nrtk->nbrk", codebook.conj(), ref)
    expected = np.argmax((np.abs(power) ** 2).sum(axis=(2, 3)), axis=1)
    np.testing.assert_array_equal(data.labels["beam"], expected)
    assert "beam" not in load_deepmimo_v4(scenarios["base"], bs_shape=(4, 2), n_subcarriers=K,
                                          bandwidth_hz=BW).labels  # a UPA: no DFT beam label


def test_v4_selection_and_errors(scenarios, tmp_path):
    data = load_deepmimo_v4(scenarios["base"], users=[3, 0], n_subcarriers=K, bandwidth_hz=BW, max_paths=2)
    np.testing.assert_array_equal(data.extras["user_id"], [3, 0])
    assert data.extras["n_paths"].max() == 2 and data.meta["loader"] == "deepmimo-v4"
    data.save(tmp_path / "v4.h5")  # into the sample format and back
    again = type(data).load(tmp_path / "v4.h5")
    np.testing.assert_array_equal(again.csi, data.csi)
    np.testing.assert_array_equal(again.labels["beam"], data.labels["beam"])
    with pytest.raises(DataFormatError, match="tx_set 5 is not a TX set"):
        load_deepmimo_v4(scenarios["base"], tx_set=5)
    with pytest.raises(DataFormatError, match="bandwidth in Hz"):
        load_deepmimo_v4(scenarios["base"], bandwidth_hz=0.05)


def test_v3_folder_given_to_v4_reader(tmp_path):
    v3 = tmp_path / "O1_28"
    v3.mkdir()
    scipy.io.savemat(v3 / "params.mat", {"carrier_freq": 28e9, "transmit_power": 0.0})
    with pytest.raises(DeepMIMOVersionError) as err:
        load_deepmimo_v4(v3)
    msg = str(err.value)
    assert "\n" not in msg and "DeepMIMO v3" in msg and "DeepMIMO v4" in msg
    assert f"wzoo data convert deepmimo {v3} --out FILE" in msg
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no params.json"):
        load_deepmimo_v4(tmp_path / "empty")
