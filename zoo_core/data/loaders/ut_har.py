"""UT-HAR (Yousefi et al. 2017) as the SenseFi benchmark distributes it.

Layout: `UT_HAR/data/X_{train,val,test}.csv` and `UT_HAR/label/y_{...}.csv`. Despite the
`.csv` suffix these are NumPy `.npy` files (SenseFi reads them with `np.load`). X holds
amplitudes of shape (N, 1, 250, 90) = 250 packets x (3 antennas x 30 subcarriers); y holds
class indices 0..6. The LVM4CSI paper uses 3,977 train / 996 test samples.

Axis mapping into `WirelessData.csi` (N, rx, tx, subcarrier, symbol):

    csi[n, a, 0, s, t] = X[n, 0, t, 30 * a + s]      a < 3 antennas, s < 30, t < 250

i.e. the 90 columns are antenna-major (antenna 0's 30 subcarriers first), packets become
the symbol axis, the transmitter axis has size 1. The source has amplitudes only: they sit in
the real part, the imaginary part is 0 (`meta["csi_kind"] = "amplitude"`). Raw amplitudes are
kept; SenseFi's min-max scaling is a transform, not part of the data.
Labels: `labels["activity"]` (int64), names in `meta["class_names"]`.
"""

from __future__ import annotations

from pathlib import Path

from zoo_core.data.errors import DataFileNotFoundError, DataFormatError

from . import AMPLITUDE_UNITS, amplitude_csi, as_real, class_indices, existing, load_npy, shape_error

CLASS_NAMES = ("lie down", "fall", "walk", "pick up", "run", "sit down", "stand up")
N_PACKETS, N_ANTENNAS, N_SUBCARRIERS = 250, 3, 30
SPLITS = ("train", "val", "test")
_SUFFIXES = (".csv", "", ".npy")


def _find(root: Path, stem: str, subdirs: tuple[str, ...]) -> Path:
    tried = []
    for sub in subdirs:
        for suffix in _SUFFIXES:
            candidate = root / sub / f"{stem}{suffix}" if sub else root / f"{stem}{suffix}"
            tried.append(candidate)
            if candidate.is_file():
                return candidate
    shown = ", ".join(str(p.relative_to(root)) for p in tried[:6])
    raise DataFileNotFoundError(f"{root}: no UT-HAR file {stem!r} (looked for {shown}, ...)")


def load_ut_har(root, split: str = "train"):
    """Read one split of UT-HAR from the folder `root` (the one holding `data/` and `label/`,
    its parent with `UT_HAR/`, or a folder with the X_*/y_* files directly)."""
    import numpy as np

    from zoo_core.data.sample import WirelessData

    if split not in SPLITS:
        raise DataFormatError(f"UT-HAR split must be one of {SPLITS}, got {split!r}")
    root = existing(root)
    if root.is_file():
        raise DataFormatError(f"{root}: UT-HAR is read from its folder (with data/ and label/), not a file")
    x_path = _find(root, f"X_{split}", ("data", "UT_HAR/data", ""))
    y_path = _find(root, f"y_{split}", ("label", "UT_HAR/label", ""))

    x = as_real(load_npy(x_path), x_path, "X", "real amplitudes (N, 1, 250, 90)")
    per_sample = N_PACKETS * N_ANTENNAS * N_SUBCARRIERS
    if x.ndim < 2 or x.shape[0] == 0 or int(np.prod(x.shape[1:])) != per_sample or x.shape[-1] not in (90, per_sample):
        raise shape_error(x_path, "X", x, "(N, 1, 250, 90) amplitudes: 250 packets x (3 antennas x 30 subcarriers)")
    n = x.shape[0]
    y = class_indices(load_npy(y_path), len(CLASS_NAMES), y_path, "y")
    if y.shape[0] != n:
        raise DataFormatError(f"{y_path}: {y.shape[0]} labels for {n} samples in {x_path}")

    amp = x.reshape(n, N_PACKETS, N_ANTENNAS, N_SUBCARRIERS).transpose(0, 2, 3, 1)[:, :, None]
    return WirelessData(
        csi=amplitude_csi(amp),
        labels={"activity": y},
        meta={
            "source": "UT-HAR", "loader": "ut-har", "split": split, "files": [str(x_path), str(y_path)],
            "class_names": list(CLASS_NAMES), "csi_kind": "amplitude",
            "axis_mapping": "csi[n, antenna, 0, subcarrier, packet] = X[n, 0, packet, 30*antenna + subcarrier]",
            "units": dict(AMPLITUDE_UNITS),
        },
    )
