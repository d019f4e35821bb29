"""NTU-Fi HAR (EfficientFi; the human activity sensing task of WavesFM).

Layout: `train_amp/<class>/*.mat` and `test_amp/<class>/*.mat`, MATLAB v5 files with key
`CSIamp` of shape (342, 2000) = (3 antennas x 114 subcarriers) x 2000 packets; 6 classes.
Labels follow the *sorted* class-folder names (an unsorted glob mislabels); the class list is
the union over the train and test folders, so both splits share one numbering.

Axis mapping into `WirelessData.csi` (N, rx, tx, subcarrier, symbol):

    csi[n, a, 0, s, t] = CSIamp[114 * a + s, packet_stride * t]    a < 3, s < 114

(antenna-major rows, as SenseFi's reshape(3, 114, T)). `packet_stride` (default 4, as SenseFi
and WavesFM use: 2000 -> 500 packets) keeps every k-th packet; 1 keeps all. Amplitudes only:
real part, imaginary 0 (`meta["csi_kind"] = "amplitude"`). Labels: `labels["activity"]`.
"""

from __future__ import annotations

from pathlib import Path

from zoo_core.data.errors import DataFormatError

from . import AMPLITUDE_UNITS, amplitude_csi, as_real, existing, load_mat_v5, require_key, shape_error

N_ANTENNAS, N_SUBCARRIERS = 3, 114
SPLITS = ("train", "test")


def _class_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_folder(root: Path, split: str) -> tuple[Path, list[str]]:
    """The folder of class sub-folders for `split`, and the class names (sorted union)."""
    named = {s: root / f"{s}_amp" for s in SPLITS}
    if any(p.is_dir() for p in named.values()):
        folder = named[split]
        if not folder.is_dir():
            raise DataFormatError(f"{root}: no {folder.name}/ folder (found {[p.name for p in named.values() if p.is_dir()]})")
        classes = sorted(set().union(*(_class_dirs(p) for p in named.values() if p.is_dir())))
        return folder, classes
    # `root` is itself a split folder holding class folders
    return root, _class_dirs(root)


def load_ntu_fi(root, split: str = "train", packet_stride: int = 4):
    """Read one split of NTU-Fi HAR from the dataset root (holding `train_amp/`, `test_amp/`)
    or from a split folder of class sub-folders."""
    import numpy as np

    from zoo_core.data.sample import WirelessData

    if split not in SPLITS:
        raise DataFormatError(f"NTU-Fi split must be one of {SPLITS}, got {split!r}")
    if not isinstance(packet_stride, int) or isinstance(packet_stride, bool) or packet_stride < 1:
        raise DataFormatError(f"packet_stride must be a positive integer, got {packet_stride!r}")
    root = existing(root)
    if not root.is_dir():
        raise DataFormatError(f"{root}: NTU-Fi is read from a folder (train_amp/<class>/*.mat), not a file")
    folder, classes = _split_folder(root, split)
    if not classes:
        raise DataFormatError(f"{folder}: no class sub-folders (expected {folder}/<class>/*.mat)")

    amps, labels = [], []
    n_packets = None
    for label, name in enumerate(classes):
        class_dir = folder / name
        if not class_dir.is_dir():
            continue  # a class seen only in the other split
        for path in sorted(class_dir.glob("*.mat")):
            mat = load_mat_v5(path)
            amp = as_real(require_key(mat, "CSIamp", path, "(342, 2000) amplitudes"), path, "CSIamp",
                          "real (342, 2000) amplitudes")
            if amp.ndim != 2 or amp.shape[0] != N_ANTENNAS * N_SUBCARRIERS:
                raise shape_error(path, "CSIamp", amp, "(342, 2000) = (3 antennas x 114 subcarriers, packets)")
            if n_packets is None:
                n_packets = amp.shape[1]
            elif amp.shape[1] != n_packets:
                raise DataFormatError(
                    f"{path}: 'CSIamp' has {amp.shape[1]} packets but earlier files have {n_packets}"
                )
            amps.append(amp[:, ::packet_stride].astype(np.float32))
            labels.append(label)
    if not amps:
        raise DataFormatError(f"{folder}: no .mat files under its class folders {classes}")

    stacked = np.stack(amps)  # (N, 342, T)
    n, _, t = stacked.shape
    amp = stacked.reshape(n, N_ANTENNAS, N_SUBCARRIERS, t)[:, :, None]
    return WirelessData(
        csi=amplitude_csi(amp),
        labels={"activity": np.asarray(labels, dtype=np.int64)},
        meta={
            "source": "NTU-Fi HAR", "loader": "ntu-fi", "split": split, "root": str(root),
            "class_names": classes, "csi_kind": "amplitude", "packet_stride": packet_stride,
            "axis_mapping": "csi[n, antenna, 0, subcarrier, t] = CSIamp[114*antenna + subcarrier, stride*t]",
            "units": dict(AMPLITUDE_UNITS),
        },
    )
