"""Loaders for the data sets users bring, each into a `WirelessData`.

    from zoo_core.data.loaders import load
    data = load("ut-har", "/data/UT_HAR", split="train")

They are registered as data sets of kind "loader" (`zoo_core.builtins.register_datasets`), so
`wzoo data convert NAME SRC` and every `--data NAME:SRC` reach them, and a plugin's loader
the same way.

| format          | function                         | what it reads                                   |
|-----------------|----------------------------------|-------------------------------------------------|
| deepmimo        | `deepmimo.load_deepmimo`         | DeepMIMO v3 scenario folder or saved channels   |
| ut-har          | `ut_har.load_ut_har`             | UT-HAR as SenseFi ships it (np.load-able files) |
| ntu-fi          | `ntu_fi.load_ntu_fi`             | NTU-Fi HAR `<split>_amp/<class>/*.mat`          |
| nr-positioning  | `nr_positioning.load_nr_positioning` | 5G NR positioning `.mat` v7.3 (HDF5)        |
| wair-d          | `wair_d.load_wair_d`             | WAIR-D `Info.npy` + paths per environment       |

Rules every loader keeps: nothing is ever unpickled (`np.load(..., allow_pickle=False)`,
`scipy.io.loadmat` for MATLAB v5, h5py for v7.3), and any file that is not the documented
layout raises `DataFormatError` naming the file, the key and the shape found vs expected.
Each module's docstring states how the source axes map onto `CSI_AXES`.

The helpers below are shared by the format modules; the modules themselves are imported
only when a loader is used (scipy and h5py are heavy to import).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from zoo_core.data.errors import DataFileNotFoundError, DataFormatError

__all__ = [
    "load", "loader", "load_deepmimo", "load_ut_har", "load_ntu_fi", "load_nr_positioning", "load_wair_d",
]

_PUBLIC = {
    "load_deepmimo": "zoo_core.data.loaders.deepmimo",
    "load_ut_har": "zoo_core.data.loaders.ut_har",
    "load_ntu_fi": "zoo_core.data.loaders.ntu_fi",
    "load_nr_positioning": "zoo_core.data.loaders.nr_positioning",
    "load_wair_d": "zoo_core.data.loaders.wair_d",
}


def loader(fmt: str):
    """The load function of a registered loader (`wzoo data list`); unknown names get close matches."""
    from zoo_core.data.sources import loader as registered_loader

    return registered_loader(fmt)


def load(fmt: str, path, **options):
    """Read `path` in format `fmt` into a `WirelessData` (options go to the loader)."""
    return loader(fmt)(path, **options)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------- shared helpers
PICKLE_REFUSAL = (
    "it needs pickle to load, and wzoo never unpickles (a pickle can run arbitrary code)"
)


def existing(path) -> Path:
    """`path` as a Path that exists, else DataFileNotFoundError."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataFileNotFoundError(p)
    return p


def load_npy(path, key_hint: str = "") -> Any:
    """np.load without pickle; a pickled or unreadable file becomes a DataFormatError."""
    import numpy as np

    path = Path(path)
    _check_npy_header(path)
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataFormatError(f"{path}{key_hint}: {PICKLE_REFUSAL}") from None
        raise DataFormatError(f"{path}{key_hint}: not a readable NumPy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: not a readable NumPy file ({type(exc).__name__}: {exc})") from None


def _check_npy_header(path: Path) -> None:
    """The shape a .npy file declares, checked against the size limit before it is read."""
    import numpy as np

    from zoo_core.data.errors import check_declared_size

    try:
        with open(path, "rb") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(fh)
    except (ValueError, OSError, EOFError):
        return  # not a plain .npy header (an .npz, a damaged file): np.load says what it is
    if dtype.hasobject:
        return  # refused by np.load(allow_pickle=False) with the pickle message
    check_declared_size(shape, dtype, str(path))


def load_mat_v5(path) -> dict:
    """scipy.io.loadmat for MATLAB v4-v7 files; v7.3 (HDF5) and non-MAT files raise clearly."""
    import scipy.io

    path = Path(path)
    try:
        return scipy.io.loadmat(path)
    except NotImplementedError:
        raise DataFormatError(
            f"{path}: a MATLAB v7.3 (HDF5) file where a v5 .mat was expected; re-save it with "
            "save(..., '-v7') or use a loader that reads v7.3"
        ) from None
    except Exception as exc:  # scipy raises many types on garbage (MatReadError, IndexError, ...)
        raise DataFormatError(
            f"{path}: not a readable MATLAB .mat file ({type(exc).__name__}: {exc})"
        ) from None


def is_hdf5(path) -> bool:
    import h5py

    try:
        return bool(h5py.is_hdf5(str(path)))
    except OSError:
        return False


def require_key(container, key: str, path, expected: str):
    """container[key], or a DataFormatError listing the keys that are there."""
    if key not in container:
        keys = sorted(k for k in container.keys() if not str(k).startswith("__"))
        raise DataFormatError(f"{path}: missing key {key!r} (expected {expected}); found keys {keys}")
    return container[key]


def shape_error(path, key: str, arr, expected: str) -> DataFormatError:
    shape = getattr(arr, "shape", None)
    dtype = getattr(arr, "dtype", type(arr).__name__)
    return DataFormatError(f"{path}: {key!r} has shape {shape} and dtype {dtype}; expected {expected}")


def as_real(arr, path, key: str, expected: str):
    """A finite real float array, or DataFormatError."""
    import numpy as np

    a = np.asarray(arr)
    if a.dtype.kind not in "biuf":
        raise shape_error(path, key, a, expected)
    a = a.astype(np.float64 if a.dtype.kind == "f" and a.dtype.itemsize > 4 else np.float32, copy=False)
    if not np.isfinite(a).all():
        raise DataFormatError(f"{path}: {key!r} contains NaN or inf values")
    return a


def class_indices(y, n_classes: int, path, key: str):
    """Labels as int64 class indices in [0, n_classes): accepts (N,), (N, 1) or one-hot (N, K)."""
    import numpy as np

    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise shape_error(path, key, y, f"class indices 0..{n_classes - 1}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[1] == n_classes and np.isin(y, (0, 1)).all() and (y.sum(1) == 1).all():
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise shape_error(path, key, y, f"(N,) class indices or (N, {n_classes}) one-hot")
    if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        raise DataFormatError(f"{path}: {key!r} holds non-integer class labels")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataFormatError(
            f"{path}: {key!r} has class labels in [{y.min()}, {y.max()}]; expected 0..{n_classes - 1}"
        )
    return y


def amplitude_csi(amplitude):
    """Real amplitudes into the complex64 CSI field (phase 0): these data sets carry no phase."""
    import numpy as np

    out = np.empty(amplitude.shape, dtype=np.complex64)
    out.real = amplitude
    out.imag = 0.0
    return out


AMPLITUDE_UNITS = {"csi": "CSI amplitude in the real part, imaginary part 0 (the source has no phase)"}
