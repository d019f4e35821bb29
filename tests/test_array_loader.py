"""Generic array loader: .npz, HDF5, MATLAB v5 and v7.3 files of named arrays into WirelessData."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest
import scipy.io

from zoo_core.data.errors import DataFormatError, DataShapeError, MissingFieldError, NonFiniteDataError
from zoo_core.data.loaders.arrays import load_arrays, parse_map

RNG = np.random.default_rng(7)
N, RX, TX, SC = 5, 2, 4, 6


def _arrays():
    ch = (RNG.standard_normal((N, RX, TX, SC)) + 1j * RNG.standard_normal((N, RX, TX, SC))).astype(np.complex64)
    return {"channel": ch, "LoS": np.array([1, 0, -1, 1, 0]), "location": RNG.uniform(0, 50, (N, 3)),
            "best_beam": np.arange(N) % 3}


MAP = "csi=channel,los=LoS,ue_pos=location,labels.beam=best_beam"


def _check(data, a, path, fmt):
    assert data.csi.shape == (N, RX, TX, SC, 1)
    np.testing.assert_array_equal(data.csi[..., 0], a["channel"])
    np.testing.assert_array_equal(data.los, [True, False, False, True, False])
    np.testing.assert_array_equal(data.extras["los_status"], a["LoS"])
    np.testing.assert_allclose(data.ue_pos, a["location"], rtol=1e-6)
    np.testing.assert_array_equal(data.labels["beam"], a["best_beam"])
    src = data.meta["source_file"]
    assert src["name"] == path.name and src["format"] == fmt
    assert src["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert src["map"] == parse_map(MAP) and data.meta["loader"] == "arrays"


def test_npz(tmp_path):
    a = _arrays()
    np.savez(tmp_path / "m.npz", **a)
    data = load_arrays(tmp_path / "m.npz", MAP, csi_axes="sample,rx,tx,subcarrier")
    _check(data, a, tmp_path / "m.npz", "npz")
    # a dict map is the same, and the data round-trips through the sample format
    same = load_arrays(tmp_path / "m.npz", parse_map(MAP), csi_axes=["sample", "rx", "tx", "subcarrier"])
    np.testing.assert_array_equal(same.csi, data.csi)
    data.save(tmp_path / "out.h5")
    assert type(data).load(tmp_path / "out.h5").meta["source_file"]["map"]["csi"] == "channel"


def test_hdf5_with_groups_and_mat_v5(tmp_path):
    a = _arrays()
    with h5py.File(tmp_path / "m.h5", "w") as f:
        f["channel"] = a["channel"]
        g = f.create_group("meta")
        g["LoS"], g["location"], g["best_beam"] = a["LoS"], a["location"], a["best_beam"]
    m = "csi=channel,los=meta/LoS,ue_pos=meta/location,labels.beam=meta/best_beam"
    data = load_arrays(tmp_path / "m.h5", m, csi_axes="sample,rx,tx,subcarrier")
    np.testing.assert_array_equal(data.csi[..., 0], a["channel"])
    np.testing.assert_array_equal(data.labels["beam"], a["best_beam"])
    assert data.meta["source_file"]["format"] == "hdf5"
    # MATLAB v5: vectors come as (1, N) rows
    scipy.io.savemat(tmp_path / "m5.mat", a)
    _check(load_arrays(tmp_path / "m5.mat", MAP, csi_axes="sample,rx,tx,subcarrier"), a, tmp_path / "m5.mat", "mat-v5")


def test_mat_v73_is_transposed_back_and_complex_compound(tmp_path):
    a = _arrays()
    path = tmp_path / "m73.mat"
    with h5py.File(path, "w") as f:  # what MATLAB's save -v7.3 writes: reversed axes, {real, imag}
        comp = np.dtype([("real", "<f4"), ("imag", "<f4")])
        ch = np.empty(a["channel"].T.shape, comp)
        ch["real"], ch["imag"] = a["channel"].T.real, a["channel"].T.imag
        rows = {"LoS": a["LoS"][None, :].astype(float), "best_beam": a["best_beam"][None, :].astype(float)}  # 1 x N
        for key, arr in {"channel": ch, "location": a["location"].T, **{k: v.T for k, v in rows.items()}}.items():
            d = f.create_dataset(key, data=arr)
            d.attrs["MATLAB_class"] = np.bytes_("double")
    _check(load_arrays(path, MAP, csi_axes="sample,rx,tx,subcarrier"), a, path, "mat-v7.3")


def test_explicit_csi_axes(tmp_path):
    h = RNG.standard_normal((N, SC, TX, 2)).astype(np.float32)  # real/imag on the last axis
    np.savez(tmp_path / "ri.npz", H=h, amp=np.abs(h[..., 0]))
    data = load_arrays(tmp_path / "ri.npz", "csi=H", csi_axes="sample,subcarrier,tx,complex")
    assert data.csi.shape == (N, 1, TX, SC, 1)
    np.testing.assert_allclose(data.csi[:, 0, :, :, 0], (h[..., 0] + 1j * h[..., 1]).transpose(0, 2, 1))
    assert data.meta["source_file"]["csi_axes"] == ["sample", "subcarrier", "tx"]
    # a real array without a complex axis: amplitudes, and meta says so
    amp = load_arrays(tmp_path / "ri.npz", "csi=amp", csi_axes="n,sc,tx")
    assert not amp.csi.imag.any() and "amplitude" in amp.units()["csi"].lower()
    # five axes are wzoo's own order and need no csi_axes
    np.savez(tmp_path / "five.npz", H=np.ones((N, 1, 2, 3, 4), np.complex64))
    assert load_arrays(tmp_path / "five.npz", "csi=H").csi.shape == (N, 1, 2, 3, 4)


def test_errors_are_typed_one_line(tmp_path):
    a = _arrays()
    np.savez(tmp_path / "m.npz", **a)

    def one_line(exc_type, match, *args, **kwargs):
        with pytest.raises(exc_type, match=match) as err:
            load_arrays(*args, **kwargs)
        assert "\n" not in str(err.value) and isinstance(err.value, DataFormatError)

    f = tmp_path / "m.npz"
    one_line(MissingFieldError, r"no array 'chan'.*has: \['LoS', 'best_beam', 'channel', 'location'\]", f, "csi=chan")
    one_line(DataShapeError, r"\(5, 2, 4, 6\).*csi_axes", f, "csi=channel")  # 4 axes: never guessed
    one_line(DataShapeError, r"4 axes.*names 3", f, "csi=channel", csi_axes="sample,tx,subcarrier")
    one_line(DataFormatError, "name each source axis once", f, "csi=channel", csi_axes="sample,tx,tx,subcarrier")
    one_line(DataFormatError, "no csi field", f, "los=LoS")
    one_line(DataFormatError, "not a WirelessData field", f, "csi=channel,label.x=LoS", csi_axes="n,rx,tx,sc")
    np.savez(tmp_path / "short.npz", channel=a["channel"], location=a["location"][:3])
    one_line(DataShapeError, r"'location'.*\(3, 3\).*\(5, 3\)", tmp_path / "short.npz",
             "csi=channel,ue_pos=location", csi_axes="sample,rx,tx,subcarrier")
    bad = a["channel"].copy()
    bad[1, 0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", channel=bad)
    one_line(NonFiniteDataError, "1 NaN or inf", tmp_path / "nan.npz", "csi=channel", csi_axes="n,rx,tx,sc")
    np.savez(tmp_path / "obj.npz", channel=np.array([{"a": 1}], dtype=object))
    one_line(DataFormatError, "never unpickles", tmp_path / "obj.npz", "csi=channel")
    scipy.io.savemat(tmp_path / "cell.mat", {"channel": np.array([[np.ones(2), np.ones(3)]], dtype=object)})
    one_line(DataShapeError, "cell arrays", tmp_path / "cell.mat", "csi=channel")
    (tmp_path / "x.csv").write_text("1,2\n")
    one_line(DataFormatError, "not an .npz, HDF5", tmp_path / "x.csv", "csi=a")
    np.savez(tmp_path / "los.npz", channel=a["channel"], LoS=np.array([0, 2, 1, 1, 0]))
    one_line(DataShapeError, "expected 0/1", tmp_path / "los.npz", "csi=channel,los=LoS", csi_axes="n,rx,tx,sc")
