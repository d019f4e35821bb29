"""DeepMIMO v3 (`DeepMIMOv3` python package) scenarios and saved channels.

Two inputs are read:

1. **A v3 scenario folder** as the DeepMIMO server ships it: `params.mat` (`carrier_freq`,
   `transmit_power` in dBm, `num_BS`, `user_grids`, `doppler_available`,
   `dual_polar_available`) and `BS{b}_UE_{first}-{last+1}.mat` files. Each of these holds
   `channels`, a 1 x n cell of structs whose first field is an (8 or 10) x paths matrix with
   rows: phase (deg), time of arrival (s), received power (dBm, at the scenario's
   `transmit_power`), DoA phi, DoA theta, DoD phi, DoD theta (deg), LoS flag, [Doppler velocity and
   acceleration]; and `rx_locs` (n, 5) = x, y, z, distance, path loss. The BS position is
   `tx_loc`, or row b of `rx_locs` in `BS{b}_BS.mat`. Dual-polarised scenarios are read
   from `channels_VV`. The OFDM channel is then built as the DeepMIMO v3 generator does with
   its defaults (isotropic antennas, no rotation, full field of view, no receive filter, no
   Doppler): for BS panel `bs_shape` = (Ny, Nz), UE panel `ue_shape`, spacing in
   wavelengths, K = `n_subcarriers` over `bandwidth_ghz` (DeepMIMO v3 takes GHz), per path l
   with power P_l = 10^((dBm - transmit_power)/10), delay d_l = ToA_l * bandwidth (samples;
   paths with d_l >= K are dropped, as DeepMIMO does). The power is DeepMIMOv3 0.2.9's
   `dbm2pow(dBm + 30 - transmit_power)`: the received power relative to the transmit power,
   as a linear (unitless) path gain, so the same propagation gives the same channel whatever
   the scenario's transmit power (tests/test_deepmimo_v3_reference.py runs DeepMIMOv3 itself
   at 0, 15 and 30 dBm):

       H[r, t, k] = sum_l a_ue[r](DoA_l) a_bs[t](DoD_l) sqrt(P_l / K)
                    exp(j (phase_l - 2 pi k d_l / K))
       a[m](theta, phi) = exp(j 2 pi spacing (y_m sin theta sin phi + z_m cos theta)),
       antenna m = z_m * Ny + y_m.

   LoS status per user is DeepMIMO's: -1 when no path, else the count of LoS paths among
   the first `max_paths`. Users with no path (all-zero CSI) are dropped unless
   `keep_no_path=True`.

2. **Saved generator output**: a `.npz`, MATLAB `.mat` (v5 or v7.3) or HDF5 file holding
   `channel` (n_ue, rx, tx, subcarriers) as `DeepMIMOv3.generate_data` returns it, with
   optional `LoS` (n,) in {-1, 0, 1} and `location` (n, 3). (Arrays written by MATLAB to
   v7.3 files are transposed back.)

Axis mapping into `WirelessData.csi` (N, rx, tx, subcarrier, symbol) in both cases:

    csi[n, r, t, k, 0] = channel[n, r, t, k]      r: UE antenna, t: BS antenna (downlink)

`ue_pos` and `labels["position"]` = user location (m), `bs_pos` = BS location, `los` =
(LoS status == 1 or more LoS paths); `extras`: `los_status` (int8, DeepMIMO's -1/0/1),
`distance_m`, `pathloss_db`, `n_paths` (scenario input).

A DeepMIMO v4 folder (`params.json` plus one `.npz` per quantity) given here raises
`DeepMIMOVersionError`, which names both formats and the command that reads v4
(`zoo_core.data.loaders.deepmimo_v4`); that module raises it the other way round.
"""

from __future__ import annotations

import re
from pathlib import Path

from zoo_core.data.errors import DataFormatError, DataVersionError, check_declared_size

from . import existing, is_hdf5, load_mat_v5, load_npy, require_key, shape_error

_USER_FILE = re.compile(r"^BS(\d+)_UE_(\d+)-(\d+)\.mat$")
_V4_FILE = re.compile(r"^[a-z_]+_t\d{3}_tx\d{3}_r\d{3}\.(npz|mat|npy)$")


class DeepMIMOVersionError(DataVersionError):
    """A DeepMIMO v4 scenario given to the v3 reader, or a v3 scenario given to the v4 reader."""


def looks_like_v3(folder: Path) -> bool:
    """A DeepMIMO v3 scenario folder: params.mat or BS*_UE_*.mat files."""
    return (folder / "params.mat").is_file() or any(_USER_FILE.match(p.name) for p in folder.iterdir())


def looks_like_v4(folder: Path) -> bool:
    """A DeepMIMO v4 scenario folder: params.json (next to {quantity}_tNNN_txNNN_rNNN.npz files)."""
    return (folder / "params.json").is_file()


def v3_not_v4(folder: Path) -> DeepMIMOVersionError:
    return DeepMIMOVersionError(
        f"{folder}: a DeepMIMO v3 scenario (params.mat + BS*_UE_*.mat), not DeepMIMO v4 (params.json + one .npz "
        f"per quantity): read it with `wzoo data convert deepmimo {folder} --out FILE`")


def v4_not_v3(folder: Path) -> DeepMIMOVersionError:
    return DeepMIMOVersionError(
        f"{folder}: a DeepMIMO v4 scenario (params.json + one .npz per quantity), not DeepMIMO v3 (params.mat + "
        f"BS*_UE_*.mat): read it with `wzoo data convert deepmimo-v4 {folder} --out FILE`")


# ---------------------------------------------------------------------- entry point
def load_deepmimo(
    path,
    bs: int = 1,
    users=None,
    max_paths: int = 25,
    bs_shape=(32, 1),
    ue_shape=(1, 1),
    n_subcarriers: int = 32,
    selected_subcarriers=None,
    bandwidth_ghz: float = 0.05,
    spacing: float = 0.5,
    keep_no_path: bool = False,
    chunk: int = 512,
):
    """Read a DeepMIMO v3 scenario folder (or one `BS*_UE_*.mat` file of it) and build OFDM
    channels, or read a file of saved `channel` arrays. `users`: None (all), an int (the
    first k users), or a list of user ids. See the module docstring for the model."""
    path = existing(path)
    if path.is_dir() and looks_like_v4(path) and not looks_like_v3(path):
        raise v4_not_v3(path)
    if path.is_file() and _V4_FILE.match(path.name) and looks_like_v4(path.parent):
        raise v4_not_v3(path.parent)
    if path.is_dir() or _USER_FILE.match(path.name):
        return _load_scenario(
            path, int(bs), users, int(max_paths), _shape(bs_shape, "bs_shape"), _shape(ue_shape, "ue_shape"),
            int(n_subcarriers), selected_subcarriers, float(bandwidth_ghz), float(spacing), bool(keep_no_path),
            int(chunk),
        )
    return _load_saved(path, keep_no_path=bool(keep_no_path))


def _shape(value, name: str) -> tuple[int, int]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[x,\s]+", value.strip("()[] ")) if v]
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise DataFormatError(f"{name} must be two positive integers (Ny, Nz), got {value!r}") from None
    if len(shape) != 2 or min(shape) < 1:
        raise DataFormatError(f"{name} must be two positive integers (Ny, Nz), got {value!r}")
    return shape


# ---------------------------------------------------------------------- scenario folders
def _scenario_params(folder: Path) -> dict:
    params_path = folder / "params.mat"
    if not params_path.is_file():
        raise DataFormatError(
            f"{folder}: no params.mat; a DeepMIMO v3 scenario folder holds params.mat and BS*_UE_*.mat files"
        )
    mat = load_mat_v5(params_path)
    out = {}
    for key in ("carrier_freq", "transmit_power"):
        value = require_key(mat, key, params_path, "a scalar")
        try:
            out[key] = float(value.squeeze())
        except (TypeError, ValueError):
            raise shape_error(params_path, key, value, "a scalar") from None
    for key in ("num_BS", "doppler_available", "dual_polar_available"):
        if key in mat:
            out[key] = int(mat[key].squeeze())
    return out


def _user_files(folder: Path, bs: int) -> list[tuple[int, int, Path]]:
    found = []
    for p in folder.iterdir():
        m = _USER_FILE.match(p.name)
        if m and int(m.group(1)) == bs:
            found.append((int(m.group(2)), int(m.group(3)), p))
    if not found:
        names = sorted({m.group(1) for p in folder.iterdir() if (m := _USER_FILE.match(p.name))})
        raise DataFormatError(
            f"{folder}: no BS{bs}_UE_<first>-<last>.mat files"
            + (f" (files exist for BS {', '.join(names)})" if names else "")
        )
    return sorted(found)


def _path_matrix(cell, path: Path, user: int):
    """The (8|10, L) path-parameter matrix inside one cell of `channels`."""
    import numpy as np

    obj = cell
    for _ in range(8):
        if isinstance(obj, np.void) and obj.dtype.names:
            obj = obj[obj.dtype.names[0]]
        elif isinstance(obj, np.ndarray) and obj.dtype.names:
            if obj.size != 1:
                break
            obj = obj.ravel()[0][obj.dtype.names[0]]
        elif isinstance(obj, np.ndarray) and obj.dtype == object:
            if obj.size != 1:
                break
            obj = obj.ravel()[0]
        else:
            break
    arr = np.asarray(obj)
    if arr.size == 0:
        return np.zeros((8, 0))
    if arr.dtype.kind not in "iuf" or arr.ndim != 2 or arr.shape[0] not in (8, 10):
        raise shape_error(path, f"channels (user {user})", arr, "an (8 or 10) x paths matrix of path parameters")
    return arr.astype(np.float64)


def _read_user_file(path: Path, dual_polar: bool):
    import numpy as np

    mat = load_mat_v5(path)
    key = "channels" if "channels" in mat or not dual_polar else "channels_VV"
    cells = require_key(mat, key, path, "a 1 x n cell array of path structs")
    if not isinstance(cells, np.ndarray) or cells.dtype != object:
        raise shape_error(path, key, cells, "a 1 x n cell array of path structs")
    cells = cells.ravel()
    locs = np.asarray(require_key(mat, "rx_locs", path, "(n, 5): x, y, z, distance, path loss"))
    if locs.ndim != 2 or locs.shape[1] < 3 or locs.shape[0] != cells.size or locs.dtype.kind not in "iuf":
        raise shape_error(path, "rx_locs", locs, f"({cells.size}, 5) to match {cells.size} cells of {key!r}")
    tx_loc = None
    if "tx_loc" in mat:
        tx_loc = np.asarray(mat["tx_loc"], dtype=np.float64).ravel()[:3]
    return cells, locs.astype(np.float64), tx_loc


def _bs_location(folder: Path, bs: int, tx_loc):
    import numpy as np

    if tx_loc is not None and tx_loc.size == 3:
        return tx_loc
    bs_file = folder / f"BS{bs}_BS.mat"
    if not bs_file.is_file():
        raise DataFormatError(f"{folder}: the user files have no 'tx_loc' and {bs_file.name} is missing")
    locs = np.asarray(require_key(load_mat_v5(bs_file), "rx_locs", bs_file, "(num_BS, 5)"))
    if locs.ndim != 2 or locs.shape[0] < bs or locs.shape[1] < 3:
        raise shape_error(bs_file, "rx_locs", locs, f"at least {bs} rows of x, y, z, ...")
    return locs[bs - 1, :3].astype(np.float64)


def _select(users, n_total: int):
    import numpy as np

    if users is None:
        return np.arange(n_total)
    if isinstance(users, (int, np.integer)) and not isinstance(users, bool):
        if users < 1:
            raise DataFormatError(f"users must be >= 1, got {users}")
        return np.arange(min(int(users), n_total))
    if isinstance(users, str):
        users = [int(u) for u in re.split(r"[,\s]+", users.strip()) if u]
    ids = np.asarray(users, dtype=np.int64).ravel()
    if ids.size == 0 or ids.min() < 0 or ids.max() >= n_total:
        raise DataFormatError(f"user ids must lie in [0, {n_total}), got {users!r}")
    return ids


def _antenna_indices(shape: tuple[int, int]):
    """DeepMIMO v3 panel indices (M, 3): x = 0, y fastest, then z."""
    import numpy as np

    ny, nz = shape
    y = np.tile(np.arange(ny), nz)
    z = np.repeat(np.arange(nz), ny)
    return np.stack([np.zeros_like(y), y, z], axis=1).astype(np.float64)


def _array_response(ind, theta, phi, spacing: float):
    """(n, M, L) responses exp(j kd (x sin th cos ph + y sin th sin ph + z cos th))."""
    import numpy as np

    kd = 2 * np.pi * spacing
    gx = np.sin(theta) * np.cos(phi)
    gy = np.sin(theta) * np.sin(phi)
    gz = np.cos(theta)
    phase = (ind[None, :, 0, None] * gx[:, None, :] + ind[None, :, 1, None] * gy[:, None, :]
             + ind[None, :, 2, None] * gz[:, None, :])
    return np.exp(1j * kd * phase)


def ofdm_channels(paths, tx_power_dbm: float, bs_shape, ue_shape, n_subcarriers: int, subcarriers,
                  bandwidth_hz: float, spacing: float):
    """DeepMIMO v3's OFDM channel (n, M_ue, M_bs, len(subcarriers)) from padded path arrays.

    `paths` maps 'phase', 'toa', 'power_dbm', 'doa_phi', 'doa_theta', 'dod_phi', 'dod_theta'
    (degrees, seconds, dBm) to (n, L) arrays and 'valid' to an (n, L) bool mask."""
    import numpy as np

    valid = paths["valid"]
    power = np.where(valid, 10.0 ** ((paths["power_dbm"] - tx_power_dbm) / 10.0), 0.0)  # DeepMIMOv3's
    delay = paths["toa"] * bandwidth_hz
    power = np.where(delay >= n_subcarriers, 0.0, power)  # beyond the FFT window: DeepMIMO drops them
    delay = np.minimum(delay, n_subcarriers)
    k = np.asarray(subcarriers, dtype=np.float64)
    coeff = np.sqrt(power / n_subcarriers)[..., None] * np.exp(
        1j * (np.deg2rad(paths["phase"])[..., None] - 2 * np.pi / n_subcarriers * delay[..., None] * k)
    )  # (n, L, K)
    a_bs = _array_response(_antenna_indices(bs_shape), np.deg2rad(paths["dod_theta"]),
                           np.deg2rad(paths["dod_phi"]), spacing)
    a_ue = _array_response(_antenna_indices(ue_shape), np.deg2rad(paths["doa_theta"]),
                           np.deg2rad(paths["doa_phi"]), spacing)
    return np.einsum("nrl,ntl,nlk->nrtk", a_ue, a_bs, coeff, optimize=True).astype(np.complex64)


def _load_scenario(path: Path, bs, users, max_paths, bs_shape, ue_shape, n_subcarriers, selected,
                   bandwidth_ghz, spacing, keep_no_path, chunk):
    import numpy as np

    from zoo_core.data.sample import WirelessData

    folder = path if path.is_dir() else path.parent
    params = _scenario_params(folder)
    if max_paths < 1 or n_subcarriers < 1 or bandwidth_ghz <= 0 or spacing <= 0 or chunk < 1:
        raise DataFormatError("max_paths, n_subcarriers, bandwidth_ghz, spacing and chunk must be positive")
    subcarriers = np.arange(n_subcarriers) if selected is None else np.asarray(
        [int(s) for s in (re.split(r"[,\s]+", selected.strip()) if isinstance(selected, str) else selected)]
    )
    if subcarriers.size == 0 or subcarriers.min() < 0 or subcarriers.max() >= n_subcarriers:
        raise DataFormatError(f"selected_subcarriers must lie in [0, {n_subcarriers}), got {selected!r}")

    if path.is_dir():
        files = _user_files(folder, bs)
    else:
        m = _USER_FILE.match(path.name)
        bs = int(m.group(1))
        files = [(int(m.group(2)), int(m.group(3)), path)]
    dual = bool(params.get("dual_polar_available", 0))

    cells, locs, tx_loc, user_ids, sources = [], [], None, [], []
    for first, _, file in files:
        c, l, t = _read_user_file(file, dual)
        cells.append(c)
        locs.append(l)
        user_ids.append(first + np.arange(len(c)))
        sources += [file] * len(c)
        tx_loc = t if tx_loc is None else tx_loc
    all_cells = np.concatenate(cells)
    all_locs = np.concatenate(locs)
    user_ids = np.concatenate(user_ids)
    bs_loc = _bs_location(folder, bs, tx_loc)

    chosen = _select(users, len(all_cells))
    mats = [_path_matrix(all_cells[i], sources[i], int(user_ids[i])) for i in chosen]
    n_paths = np.array([min(m.shape[1], max_paths) for m in mats], dtype=np.int64)
    n_max = max(int(n_paths.max()), 1)
    table = np.zeros((len(mats), 8, n_max))
    for i, m in enumerate(mats):
        table[i, :, : n_paths[i]] = m[:8, : n_paths[i]]
    valid = np.arange(n_max)[None, :] < n_paths[:, None]
    los_status = np.where(n_paths == 0, -1, np.sum((table[:, 7] > 0) & valid, axis=1)).astype(np.int8)

    keep = np.ones(len(mats), dtype=bool) if keep_no_path else n_paths > 0
    if not keep.any():
        raise DataFormatError(f"{folder}: none of the {len(mats)} selected users has a propagation path")
    names = ("phase", "toa", "power_dbm", "doa_phi", "doa_theta", "dod_phi", "dod_theta")
    idx = np.flatnonzero(keep)
    parts = []
    for start in range(0, idx.size, chunk):
        sel = idx[start:start + chunk]
        paths = {name: table[sel, row] for row, name in enumerate(names)}
        paths["valid"] = valid[sel]
        parts.append(ofdm_channels(paths, params["transmit_power"], bs_shape, ue_shape, n_subcarriers,
                                   subcarriers, bandwidth_ghz * 1e9, spacing))
    channel = np.concatenate(parts)

    ue = all_locs[chosen][keep]
    ue_pos = ue[:, :3].astype(np.float32)
    extras = {"los_status": los_status[keep], "n_paths": n_paths[keep], "user_id": user_ids[chosen][keep]}
    if ue.shape[1] >= 5:
        extras["distance_m"] = ue[:, 3].astype(np.float32)
        extras["pathloss_db"] = ue[:, 4].astype(np.float32)
    return WirelessData(
        csi=channel[..., None],
        bs_pos=np.tile(bs_loc.astype(np.float32), (len(idx), 1)),
        ue_pos=ue_pos,
        los=los_status[keep] > 0,
        labels={"position": ue_pos},
        extras=extras,
        shared={"subcarriers": subcarriers.astype(np.int64)},
        meta={
            "source": "DeepMIMO v3", "loader": "deepmimo", "scenario": folder.name, "path": str(path),
            "bs": bs, "carrier_freq_hz": params["carrier_freq"], "transmit_power_dbm": params["transmit_power"],
            "params": {"max_paths": max_paths, "bs_shape": list(bs_shape), "ue_shape": list(ue_shape),
                       "n_subcarriers": n_subcarriers, "bandwidth_ghz": bandwidth_ghz, "spacing": spacing},
            "n_dropped_no_path": int((~keep).sum()),
            "axis_mapping": "csi[n, ue_antenna, bs_antenna, subcarrier, 0] = DeepMIMO channel[n, rx, tx, k]",
        },
    )


# ---------------------------------------------------------------------- saved channels
def _read_saved(path: Path) -> dict:
    import numpy as np

    if path.suffix.lower() == ".npz":
        archive = load_npy(path)
        if not hasattr(archive, "files"):
            raise DataFormatError(f"{path}: expected an .npz archive with 'channel'")
        with archive:
            out = {}
            for key in ("channel", "LoS", "location"):
                if key in archive.files:
                    try:
                        out[key] = archive[key]
                    except ValueError as exc:
                        raise DataFormatError(f"{path}: key {key!r}: {exc}") from None
            out["__keys__"] = archive.files
            return out
    if is_hdf5(path):
        import h5py

        out = {}
        with h5py.File(path, "r") as f:
            for key in ("channel", "LoS", "location"):
                if key in f and isinstance(f[key], h5py.Dataset):
                    check_declared_size(f[key].shape, f[key].dtype, f"{path}: dataset {key!r}")
                    arr = f[key][()]
                    if arr.dtype.names and {"real", "imag"} <= set(arr.dtype.names):
                        arr = arr["real"] + 1j * arr["imag"]
                    if "MATLAB_class" in f[key].attrs:
                        arr = np.asarray(arr).T  # MATLAB stores column-major: undo the reversal
                    out[key] = arr
            out["__keys__"] = list(f.keys())
        return out
    if path.suffix.lower() == ".mat":
        mat = load_mat_v5(path)
        mat["__keys__"] = [k for k in mat if not k.startswith("__")]
        return mat
    if path.suffix.lower() == ".npy":
        return {"channel": load_npy(path), "__keys__": ["channel"]}
    raise DataFormatError(f"{path}: not a DeepMIMO scenario folder, .mat, .npz, .npy or HDF5 file")


def _load_saved(path: Path, keep_no_path: bool):
    import numpy as np

    from zoo_core.data.sample import WirelessData

    d = _read_saved(path)
    if "channel" not in d:
        raise DataFormatError(
            f"{path}: missing key 'channel' (expected (n_ue, rx, tx, subcarriers)); found keys {d['__keys__']}"
        )
    ch = np.asarray(d["channel"])
    if ch.ndim != 4 or ch.dtype.kind not in "fc" or 0 in ch.shape:
        raise shape_error(path, "channel", ch, "complex (n_ue, rx, tx, subcarriers)")
    n = ch.shape[0]
    los_status = None
    if "LoS" in d:
        los_status = np.asarray(d["LoS"]).ravel()
        if los_status.shape != (n,) or not np.isin(los_status, (-1, 0, 1)).all():
            raise shape_error(path, "LoS", np.asarray(d["LoS"]), f"({n},) values in {{-1, 0, 1}}")
        los_status = los_status.astype(np.int8)
    loc = None
    if "location" in d:
        loc = np.asarray(d["location"])
        if loc.ndim != 2 or loc.shape[0] != n or loc.shape[1] < 3 or loc.dtype.kind not in "iuf":
            raise shape_error(path, "location", loc, f"({n}, 3) positions in metres")
        loc = loc[:, :3].astype(np.float32)
    if not np.isfinite(ch).all():
        raise DataFormatError(f"{path}: 'channel' contains NaN or inf")
    keep = np.ones(n, dtype=bool)
    if los_status is not None and not keep_no_path:
        keep = los_status != -1
        if not keep.any():
            raise DataFormatError(f"{path}: every user has LoS = -1 (no path)")
    extras = {} if los_status is None else {"los_status": los_status[keep]}
    labels = {} if loc is None else {"position": loc[keep]}
    return WirelessData(
        csi=ch[keep].astype(np.complex64)[..., None],
        ue_pos=None if loc is None else loc[keep],
        los=None if los_status is None else los_status[keep] > 0,
        labels=labels, extras=extras,
        meta={
            "source": "DeepMIMO v3 (saved channels)", "loader": "deepmimo", "path": str(path),
            "n_dropped_no_path": int((~keep).sum()),
            "axis_mapping": "csi[n, rx, tx, subcarrier, 0] = channel[n, rx, tx, subcarrier]",
        },
    )
