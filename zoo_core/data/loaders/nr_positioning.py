"""5G NR positioning (Gao et al., JSAC 2022; the positioning task of WavesFM).

Files `dataset_SNR{10,20,50}_{outdoor,indoor}.mat` are MATLAB v7.3, i.e. HDF5, read with
h5py. As h5py shows them: `features` (N, C, H, W) with C = 4 base stations outdoor / 5
indoor and H x W = subcarriers x OFDM symbols of the sounding-reference-signal CSI, and
`labels/position` (N, 3) in metres. MATLAB writes arrays transposed relative to h5py's view;
a file whose arrays come the other way round ((W, H, C, N) and (3, N)) is recognised by
matching the sample count and transposed back. Also accepted: a top-level `position`
dataset, per-sample files (features (C, H, W), position (3,)), and a folder of such files
(read in sorted name order and concatenated). MATLAB complex data (compound real/imag) is
read as complex.

Axis mapping into `WirelessData.csi` (N, rx, tx, subcarrier, symbol):

    csi[n, 0, c, h, w] = features[n, c, h, w]

the tx axis indexes the C base stations, rx has size 1. Real features sit in the real part.
Positions go to `ue_pos` and `labels["position"]` (metres). When the file names carry the SNR
(`SNR20`), it is kept per sample in `extras["snr_db"]`; the scene (outdoor / indoor) goes to
`meta["scenes"]`.
"""

from __future__ import annotations

import re
from pathlib import Path

from zoo_core.data.errors import DataFormatError

from . import existing, is_hdf5, shape_error

_POSITION_KEYS = ("labels/position", "position", "labels")


def _read_dataset(f, key: str, path: Path):
    import h5py
    import numpy as np

    obj = f.get(key)
    if obj is None or not isinstance(obj, h5py.Dataset):
        return None
    from zoo_core.data.errors import check_declared_size

    check_declared_size(obj.shape, obj.dtype, f"{path}: dataset {key!r}")
    arr = obj[()]
    if arr.dtype.names and {"real", "imag"} <= set(arr.dtype.names):
        arr = arr["real"] + 1j * arr["imag"]
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biufc":
        raise shape_error(path, key, arr, "numeric data")
    return arr


def _read_file(path: Path):
    import h5py
    import numpy as np

    if not is_hdf5(path):
        raise DataFormatError(
            f"{path}: not a MATLAB v7.3 (HDF5) file; the 5G NR positioning files are saved with -v7.3"
        )
    try:
        with h5py.File(path, "r") as f:
            feats = _read_dataset(f, "features", path)
            if feats is None:
                raise DataFormatError(
                    f"{path}: missing dataset 'features' (expected (N, C, H, W)); found {sorted(f.keys())}"
                )
            pos, pos_key = None, None
            for key in _POSITION_KEYS:
                pos = _read_dataset(f, key, path)
                if pos is not None:
                    pos_key = key
                    break
            if pos is None:
                raise DataFormatError(
                    f"{path}: missing dataset 'labels/position' (expected (N, 3) metres); found {sorted(f.keys())}"
                )
    except OSError as exc:
        raise DataFormatError(f"{path}: unreadable HDF5 file ({exc})") from None

    if pos.dtype.kind == "c":
        raise shape_error(path, pos_key, pos, "real positions (N, 3)")
    if feats.ndim == 3:
        feats = feats[None]
    if pos.ndim == 1:
        pos = pos[None]
    if feats.ndim != 4:
        raise shape_error(path, "features", feats, "(N, C, H, W)")
    if pos.ndim != 2:
        raise shape_error(path, pos_key, pos, "(N, 3) positions in metres")

    def positions_for(n):
        if pos.shape == (n, 3):
            return pos
        if pos.shape == (3, n):
            return pos.T
        return None

    p = positions_for(feats.shape[0])
    if p is None and positions_for(feats.shape[3]) is not None:
        feats = feats.transpose(3, 2, 1, 0)  # MATLAB order (W, H, C, N) -> (N, C, H, W)
        p = positions_for(feats.shape[0])
    if p is None:
        raise DataFormatError(
            f"{path}: {pos_key!r} has shape {pos.shape} but 'features' has shape {feats.shape}; "
            "expected features (N, C, H, W) with positions (N, 3)"
        )
    if not np.isfinite(feats).all() or not np.isfinite(p).all():
        raise DataFormatError(f"{path}: NaN or inf in 'features' or {pos_key!r}")
    return feats, p.astype(np.float32)


def load_nr_positioning(path):
    """Read a 5G NR positioning `.mat` v7.3 file, or every `.mat` file of a folder."""
    import numpy as np

    from zoo_core.data.sample import WirelessData

    path = existing(path)
    files = sorted(path.glob("*.mat")) if path.is_dir() else [path]
    if not files:
        raise DataFormatError(f"{path}: no .mat files in this folder")

    feats, positions, snrs, scenes = [], [], [], set()
    for file in files:
        f, p = _read_file(file)
        if feats and f.shape[1:] != feats[0].shape[1:]:
            raise DataFormatError(
                f"{file}: 'features' samples have shape {f.shape[1:]} but {files[0].name} has {feats[0].shape[1:]}"
            )
        feats.append(f)
        positions.append(p)
        snr = re.search(r"SNR(-?\d+(?:\.\d+)?)", file.name, re.IGNORECASE)
        snrs.append(None if snr is None else np.full(len(f), float(snr.group(1)), dtype=np.float32))
        scenes |= {s for s in ("outdoor", "indoor") if s in file.name.lower()}

    features = np.concatenate(feats)
    pos = np.concatenate(positions)
    csi = features[:, None].astype(np.complex64)
    extras = {"snr_db": np.concatenate(snrs)} if all(s is not None for s in snrs) else {}
    return WirelessData(
        csi=csi, ue_pos=pos, labels={"position": pos}, extras=extras,
        meta={
            "source": "5G NR positioning", "loader": "nr-positioning", "path": str(path),
            "n_files": len(files), "scenes": sorted(scenes), "n_base_stations": int(features.shape[1]),
            "csi_kind": "complex" if np.iscomplexobj(features) else "real features",
            "axis_mapping": "csi[n, 0, base_station, h, w] = features[n, base_station, h, w]",
            **({} if np.iscomplexobj(features) else
               {"units": {"csi": "the file's real features in the real part, imaginary part 0"}}),
        },
    )
