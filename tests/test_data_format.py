"""The sample format: validation, HDF5 round trip, atomic writes, typed load errors, splits,
the torch dataset, and the cheap import of zoo_core.data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from zoo_core.data import errors as E
from zoo_core.data.sample import (
    CSI_AXES,
    FORMAT_VERSION,
    WirelessData,
    random_split,
    scene_split,
)
from zoo_core.errors import WzooError


def _complex(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


@pytest.fixture
def full():
    rng = np.random.default_rng(0)
    n = 12
    return WirelessData(
        csi=_complex(rng, (n, 2, 3, 8, 2)),
        cir=_complex(rng, (n, 2, 3, 8)),
        bs_pos=rng.uniform(0, 100, (n, 3)).astype(np.float32),
        ue_pos=rng.uniform(0, 100, (n, 3)).astype(np.float32),
        los=rng.integers(0, 2, n).astype(bool),
        scene_id=np.repeat(np.arange(4), 3),
        env_map=rng.integers(0, 2, (4, 16, 16)).astype(np.uint8),
        env_edges=rng.integers(0, 2, (4, 16, 16)).astype(np.uint8),
        map_scale=np.array([1.0, 1.5, 2.0, 0.5], np.float32),
        labels={"position": rng.standard_normal((n, 3)).astype(np.float32),
                "beam": rng.integers(0, 32, n), "class": rng.integers(0, 7, n).astype(np.int32)},
        extras={"Y": _complex(rng, (n, 2, 3, 8, 2)), "snr_db": rng.uniform(-5, 5, n),
                "mask": rng.integers(0, 2, (n, 4)).astype(bool)},
        shared={"codebook": _complex(rng, (5, 3)), "pilot_symbols": np.array([2, 11])},
        meta={"generator": "test", "seed": 1, "class_names": ["a", "b"], "units": {"snr_db": "dB"}},
    )


def _assert_same(a: WirelessData, b: WirelessData):
    for name in ("csi", "cir", "bs_pos", "ue_pos", "los", "scene_id", "env_map", "env_edges", "map_scale"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name
    for group in ("labels", "extras", "shared"):
        da, db = getattr(a, group), getattr(b, group)
        assert sorted(da) == sorted(db)
        for k in da:
            assert da[k].dtype == db[k].dtype and np.array_equal(da[k], db[k]), f"{group}.{k}"
    assert a.meta == b.meta


# ---------------------------------------------------------------------- construction
def test_axes_and_basics(full):
    assert CSI_AXES == ("rx", "tx", "subcarrier", "symbol")
    assert len(full) == 12 and (full.n_rx, full.n_tx, full.n_sc, full.n_sym) == (2, 3, 8, 2)
    assert full.n_scenes == 4
    sub = full.subset([0, 5, 11])
    assert len(sub) == 3 and np.array_equal(sub.csi, full.csi[[0, 5, 11]])
    assert np.array_equal(sub.labels["beam"], full.labels["beam"][[0, 5, 11]])
    assert sub.env_map is full.env_map  # scene arrays kept whole: scene_id stays valid
    assert np.array_equal(sub.field("env_map"), full.env_map[full.scene_id[[0, 5, 11]]])
    assert np.array_equal(full.field("map_scale", [3, 4]), [1.5, 1.5])
    assert len(full.subset(full.los)) == int(full.los.sum())
    assert "labels.position" in full.field_names()


def test_construction_casts_complex128_and_positions():
    d = WirelessData(csi=np.ones((2, 1, 1, 4, 1), np.complex128), bs_pos=np.zeros((2, 3)))
    assert d.csi.dtype == np.complex64 and d.bs_pos.dtype == np.float32


@pytest.mark.parametrize("kwargs, error", [
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.float32)), E.DataShapeError),              # real
    (dict(csi=np.ones((2, 4, 1), np.complex64)), E.DataShapeError),                  # ndim
    (dict(csi=np.ones((0, 1, 1, 4, 1), np.complex64)), E.DataShapeError),            # N = 0
    (dict(csi=np.full((2, 1, 1, 4, 1), np.nan, np.complex64)), E.NonFiniteDataError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), cir=np.ones((2, 2, 1, 4), np.complex64)), E.DataShapeError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), labels={"beam": np.zeros(3)}), E.DataShapeError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), ue_pos=np.zeros((2, 2))), E.DataShapeError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), scene_id=[0, 2],
          env_map=np.zeros((2, 4, 4), np.uint8)), E.DataShapeError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), env_map=np.zeros((2, 4, 4), np.uint8)), E.DataShapeError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), scene_id=[0, 1],
          env_map=np.zeros((2, 4, 4), np.float32)), E.DataShapeError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), extras={"names": np.array(["a", "b"])}), E.DataShapeError),
    (dict(csi=np.ones((2, 1, 1, 4, 1), np.complex64), meta={"x": object()}), E.DataFormatError),
])
def test_construction_validates(kwargs, error):
    with pytest.raises(error):
        WirelessData(**kwargs)
    assert issubclass(error, WzooError) and issubclass(error, E.DataError)


# ---------------------------------------------------------------------- files
def test_hdf5_round_trip_is_exact(tmp_path, full):
    path = full.save(tmp_path / "d.h5")
    back = WirelessData.load(path)
    _assert_same(full, back)
    import h5py

    with h5py.File(path, "r") as f:
        assert f.attrs["wzoo_format"] == "wireless-data"
        assert int(f.attrs["format_version"]) == FORMAT_VERSION
        units = json.loads(f.attrs["units"])
        assert units["bs_pos"] == "m" and units["snr_db"] == "dB" and units["map_scale"] == "m/pixel"
        assert json.loads(f.attrs["csi_axes"]) == ["sample", *CSI_AXES]


def test_hdf5_round_trip_compressed_minimal(tmp_path):
    d = WirelessData(csi=np.arange(8, dtype=np.complex64).reshape(1, 1, 1, 8, 1) * (1 + 2j))
    _assert_same(d, WirelessData.load(d.save(tmp_path / "sub" / "m.h5", compression="gzip")))


def _interrupt(monkeypatch):
    from zoo_core.data import sample

    def boom(data, f, compression):
        f.create_dataset("csi", data=data.csi)  # part of the data is on disk ...
        raise KeyboardInterrupt("simulated interruption mid-write")  # ... then it stops

    monkeypatch.setattr(sample, "_write_body", boom)


def test_atomic_write_new_file(tmp_path, full, monkeypatch):
    _interrupt(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        full.save(tmp_path / "d.h5")
    assert os.listdir(tmp_path) == []  # no target, no temp file


def test_atomic_write_keeps_old_content(tmp_path, full, monkeypatch):
    path = tmp_path / "d.h5"
    old = full.subset([0, 1])
    old.save(path)
    before = path.read_bytes()
    _interrupt(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        full.save(path)
    assert os.listdir(tmp_path) == ["d.h5"] and path.read_bytes() == before
    _assert_same(old, WirelessData.load(path))


def test_load_missing_file(tmp_path):
    with pytest.raises(E.DataFileNotFoundError) as info:
        WirelessData.load(tmp_path / "nope.h5")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, WzooError)
    assert "nope.h5" in str(info.value)


def test_load_not_hdf5(tmp_path):
    p = tmp_path / "x.h5"
    p.write_text("hello, not hdf5")
    with pytest.raises(E.CorruptDataFileError):
        WirelessData.load(p)


def test_load_truncated(tmp_path, full):
    p = full.save(tmp_path / "d.h5")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(E.CorruptDataFileError):
        WirelessData.load(p)


def _edit(path, fn):
    import h5py

    with h5py.File(path, "a") as f:
        fn(f)


def test_load_foreign_hdf5(tmp_path):
    import h5py

    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["csi"] = np.zeros((1, 1, 1, 1, 1), np.complex64)
    with pytest.raises(E.DataFormatError, match="wzoo_format"):
        WirelessData.load(p)


def test_load_wrong_version(tmp_path, full):
    p = full.save(tmp_path / "d.h5")
    _edit(p, lambda f: f.attrs.__setitem__("format_version", FORMAT_VERSION + 1))
    with pytest.raises(E.DataVersionError, match="version"):
        WirelessData.load(p)


def test_load_missing_dataset(tmp_path, full):
    p = full.save(tmp_path / "d.h5")
    _edit(p, lambda f: f.__delitem__("csi"))
    with pytest.raises(E.MissingFieldError, match="csi"):
        WirelessData.load(p)


def _replace(name, value):
    def fn(f):
        del f[name]
        f[name] = value
    return fn


@pytest.mark.parametrize("name, value, error", [
    ("csi", np.zeros((12, 2, 3), np.complex64), E.DataShapeError),
    ("csi", np.zeros((12, 2, 3, 8, 2), np.float32), E.DataShapeError),
    ("ue_pos", np.zeros((12, 2), np.float32), E.DataShapeError),
    ("labels/beam", np.zeros(5, np.int64), E.DataShapeError),
    ("env_map", np.zeros((4, 16, 16), np.float64), E.DataShapeError),
])
def test_load_wrong_shape_or_dtype(tmp_path, full, name, value, error):
    p = full.save(tmp_path / "d.h5")
    _edit(p, _replace(name, value))
    with pytest.raises(error) as info:
        WirelessData.load(p)
    assert str(p) in str(info.value)


def test_load_nan_in_csi(tmp_path, full):
    p = full.save(tmp_path / "d.h5")

    def poison(f):
        x = f["csi"][()]
        x[3, 0, 0, 0, 0] = np.nan
        f["csi"][...] = x

    _edit(p, poison)
    with pytest.raises(E.NonFiniteDataError):
        WirelessData.load(p)


# ---------------------------------------------------------------------- splits
def test_random_split_reproducible_and_partitions():
    a = random_split(1000, [0.8, 0.1, 0.1], seed=3)
    b = random_split(1000, [0.8, 0.1, 0.1], seed=3)
    c = random_split(1000, [0.8, 0.1, 0.1], seed=4)
    assert [len(x) for x in a] == [800, 100, 100]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(1000))
    assert [len(x) for x in random_split(10, [0.5, 0.2], seed=0)] == [5, 2]  # remainder unused
    with pytest.raises(ValueError):
        random_split(10, [0.8, 0.5])


def test_scene_split_keeps_scenes_whole(full):
    sid = np.repeat(np.arange(40), np.arange(40) % 5 + 1)
    parts = scene_split(sid, [0.7, 0.15, 0.15], seed=1)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(sid)))
    scenes = [set(sid[p]) for p in parts]
    assert all(not (scenes[i] & scenes[j]) for i in range(3) for j in range(i + 1, 3))
    assert all(len(p) > 0 for p in parts)
    assert abs(len(parts[0]) / len(sid) - 0.7) < 0.1
    again = scene_split(sid, [0.7, 0.15, 0.15], seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(parts, again))
    other = scene_split(sid, [0.7, 0.15, 0.15], seed=2)
    assert any(not np.array_equal(x, y) for x, y in zip(parts, other))
    tr, te = scene_split(full, [0.5, 0.5], seed=0)
    assert not set(full.scene_id[tr]) & set(full.scene_id[te])
    with pytest.raises(E.DataFormatError):
        scene_split(WirelessData(csi=np.ones((2, 1, 1, 1, 1), np.complex64)), [0.5, 0.5])


# ---------------------------------------------------------------------- torch dataset
def test_torch_dataset_and_collate(tmp_path, full):
    import torch

    from zoo_core.data.dataset import WirelessDataset, collate

    ds = WirelessDataset(full, fields=("csi", "labels.position", "env_edges", "los"), indices=[1, 4, 7])
    assert len(ds) == 3
    item = ds[1]
    assert item["csi"].dtype == torch.complex64 and tuple(item["csi"].shape) == (2, 3, 8, 2)
    assert torch.equal(item["csi"], torch.from_numpy(full.csi[4]))
    assert torch.equal(item["env_edges"], torch.from_numpy(full.env_edges[full.scene_id[4]]))
    item["csi"].zero_()
    assert np.abs(full.csi[4]).sum() > 0  # items never alias the data
    batch = collate([ds[0], ds[2]])
    assert tuple(batch["labels.position"].shape) == (2, 3) and batch["los"].dtype == torch.bool
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate)
    got = next(iter(loader))
    default = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert all(torch.equal(got[k], default[k]) for k in got)
    assert torch.equal(got["csi"], torch.from_numpy(full.csi[[1, 4, 7]]))
    real = WirelessDataset(full.save(tmp_path / "d.h5"), fields=("csi",), complex_as="real")[0]["csi"]
    assert tuple(real.shape) == (2, 3, 8, 2, 2) and real.dtype == torch.float32
    with pytest.raises(KeyError):
        WirelessDataset(full, fields=("labels.nope",))


def test_import_is_cheap():
    code = ("import sys, zoo_core.data, zoo_core.data.sample, zoo_core.data.generators;"
            "zoo_core.data.WirelessData; zoo_core.data.random_split;"
            "bad = [m for m in ('torch', 'h5py', 'scipy', 'matplotlib') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
