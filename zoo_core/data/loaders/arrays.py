"""Any file of named arrays (`.npz`, HDF5 `.h5`/`.hdf5`, MATLAB `.mat` v5 or v7.3) into `WirelessData`.

    data = load_arrays("meas.mat", "csi=channel,los=LoS,ue_pos=location,labels.beam=best_beam",
                       csi_axes="sample,rx,tx,subcarrier")

The field map
-------------
`map` says which array of the file fills which field: a string `field=key,field=key,...` or a
dict {field: key}. Fields are those of `WirelessData`: `csi` (required), `cir`, `bs_pos`,
`ue_pos`, `los`, `scene_id`, `env_map`, `env_edges`, `map_scale`, and `labels.<name>`,
`extras.<name>`, `shared.<name>`. Keys are the file's array names; in HDF5 files a key may be a
path (`group/name`). A key the file does not have raises `MissingFieldError` listing the keys it
has. The source (file name, sha256 of the file, the map, the axes) is recorded in
`meta["source_file"]`.

Reading rules (none of them guessed from the data)
--------------------------------------------------
- Nothing is unpickled: `.npz` through `np.load(allow_pickle=False)`, `.mat` v5 through
  `scipy.io.loadmat`, HDF5 and `.mat` v7.3 through h5py; object, cell and struct arrays are
  refused. A declared size over WZOO_MAX_ARRAY_BYTES is refused before reading.
- MATLAB v7.3 datasets (those with a `MATLAB_class` attribute) are stored with their axes
  reversed: they are transposed back, so the array has MATLAB's shape (`matlab_order=False`
  keeps h5py's order). Compound `{real, imag}` datasets are read as complex.
- **CSI axes.** `csi` must end up (N, rx, tx, subcarrier, symbol). An array with exactly those
  5 axes is taken as is. Any other array needs `csi_axes`: the names of its axes in order,
  from `sample` (required), `rx`, `tx`, `subcarrier`, `symbol` and `complex` (a size-2 axis
  holding real and imaginary parts); axes not named get size 1. E.g. a (N, 64, 32) array of
  BS antennas x subcarriers for one single-antenna UE: `csi_axes="sample,tx,subcarrier"`. The
  same for `cir` with `cir_axes` over `sample`, `rx`, `tx`, `tap`, `complex`. A real CSI
  array without a `complex` axis is read as amplitudes (imaginary part 0; meta says so).
- `bs_pos`/`ue_pos` are (N, 3) metres; a single (3,) or (1, 3) position is repeated for all N.
- `los`: 0/1 or bool; DeepMIMO's -1/0/1 status (-1 = no path) gives los = (status == 1) and
  keeps the status in extras["los_status"].
- A MATLAB column or row vector (N, 1) / (1, N) counts as (N,) for `los`, `scene_id`,
  `labels.*` and `extras.*`.
- Every per-sample field must have the same N as `csi` (`DataShapeError` otherwise); NaN or
  inf in any mapped array raises `NonFiniteDataError`.
"""

from __future__ import annotations

import re
from pathlib import Path

from zoo_core.data.errors import (
    DataFormatError,
    DataShapeError,
    MissingFieldError,
    NonFiniteDataError,
    check_declared_size,
)
from zoo_core.fileio import sha256_file

from . import AMPLITUDE_UNITS, PICKLE_REFUSAL, existing, is_hdf5, load_mat_v5

TOP_FIELDS = ("csi", "cir", "bs_pos", "ue_pos", "los", "scene_id", "env_map", "env_edges", "map_scale")
GROUPS = ("labels", "extras", "shared")
CSI_AXIS_NAMES = ("sample", "rx", "tx", "subcarrier", "symbol")
CIR_AXIS_NAMES = ("sample", "rx", "tx", "tap")
_ALIASES = {"n": "sample", "samples": "sample", "sc": "subcarrier", "subcarriers": "subcarrier",
            "symbols": "symbol", "taps": "tap", "ri": "complex", "real_imag": "complex"}


# ---------------------------------------------------------------------- entry point
def load_arrays(path, map, csi_axes=None, cir_axes=None, matlab_order: bool = True):  # noqa: A002 - the CLI's --map
    """Read the arrays `map` names from an .npz/.h5/.mat file into a `WirelessData`.

    `map`: "csi=channel,los=LoS,..." or {"csi": "channel", ...}; `csi_axes`/`cir_axes`: the
    source axes in order (see the module docstring), needed unless the array already has
    wzoo's axes. `matlab_order`: transpose MATLAB v7.3 datasets back to MATLAB's shape."""
    import numpy as np

    path = existing(path)
    if path.is_dir():
        raise DataFormatError(f"{path}: a folder; load_arrays reads one .npz, .h5 or .mat file")
    fields = parse_map(map)
    reader = _Reader(path, matlab_order=bool(matlab_order))
    raw = {field: reader.get(key, field) for field, key in fields.items()}

    csi_arr = raw["csi"]
    csi, csi_real, csi_order = _arrange(csi_arr, csi_axes, CSI_AXIS_NAMES, "csi", "csi_axes", fields["csi"], path)
    n = csi.shape[0]
    kwargs = {"csi": csi}
    extras, meta_notes = {}, {}
    if "cir" in raw:
        kwargs["cir"], _, _ = _arrange(raw["cir"], cir_axes, CIR_AXIS_NAMES, "cir", "cir_axes", fields["cir"], path)
    elif cir_axes is not None:
        raise DataFormatError("cir_axes given but the map has no cir field")
    for name in ("bs_pos", "ue_pos"):
        if name in raw:
            kwargs[name] = _positions(raw[name], n, name, fields[name], path)
    if "los" in raw:
        los, status = _los(raw["los"], n, fields["los"], path)
        kwargs["los"] = los
        if status is not None:
            extras["los_status"] = status
            meta_notes["los"] = f"{fields['los']!r} holds DeepMIMO's -1/0/1 status: los = (status == 1)"
    if "scene_id" in raw:
        kwargs["scene_id"] = _vector(raw["scene_id"], n, "scene_id", fields["scene_id"], path)
    for name in ("env_map", "env_edges"):
        if name in raw:
            arr = raw[name]
            if arr.dtype.kind in "biu" and arr.size and arr.min() >= 0 and arr.max() <= 255:
                arr = arr.astype(np.uint8)
            kwargs[name] = arr
    if "map_scale" in raw:
        kwargs["map_scale"] = raw["map_scale"].squeeze()
    groups = {"labels": {}, "extras": extras, "shared": {}}
    for field, key in fields.items():
        group, _, name = field.partition(".")
        if group in GROUPS:
            arr = raw[field]
            groups[group][name] = arr if group == "shared" else _per_sample(arr, n, field, key, path)

    meta = {
        "source": "arrays", "loader": "arrays", "path": str(path),
        "source_file": {"name": path.name, "sha256": sha256_file(path), "format": reader.kind, "map": fields,
                        "csi_axes": csi_order, "matlab_order": bool(matlab_order)},
        "axis_mapping": f"csi[n, rx, tx, subcarrier, symbol] from {fields['csi']!r} with axes {csi_order}",
    }
    if meta_notes:
        meta["notes"] = meta_notes
    if csi_real:
        meta["units"] = dict(AMPLITUDE_UNITS)
    from zoo_core.data.sample import WirelessData

    try:
        return WirelessData(**kwargs, **groups, meta=meta)
    except DataFormatError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def parse_map(spec) -> dict[str, str]:
    """{field: key} from "field=key,..." or a dict; checks field names, requires csi."""
    if isinstance(spec, str):
        pairs = {}
        for item in (s.strip() for s in spec.split(",")):
            if not item:
                continue
            field, sep, key = item.partition("=")
            if not sep or not field.strip() or not key.strip():
                raise DataFormatError(f"map item {item!r} is not field=key (e.g. csi=channel,los=LoS)")
            if field.strip() in pairs:
                raise DataFormatError(f"map names field {field.strip()!r} twice")
            pairs[field.strip()] = key.strip()
        spec = pairs
    if not isinstance(spec, dict) or not spec:
        raise DataFormatError("map must be 'field=key,...' or a non-empty dict, e.g. csi=channel,los=LoS")
    out = {}
    for field, key in spec.items():
        field, key = str(field).strip(), str(key).strip()
        group, dot, name = field.partition(".")
        ok = field in TOP_FIELDS or (dot and group in GROUPS and re.fullmatch(r"[A-Za-z0-9_\-]+", name))
        if not ok:
            raise DataFormatError(f"map field {field!r} is not a WirelessData field: use one of {', '.join(TOP_FIELDS)}"
                                  f" or labels.<name>, extras.<name>, shared.<name>")
        out[field] = key
    if "csi" not in out:
        raise DataFormatError(f"map has no csi field (got {', '.join(out)}); e.g. csi=channel")
    return out


# ---------------------------------------------------------------------- files
class _Reader:
    """Named arrays of one file, read one at a time, never unpickled."""

    def __init__(self, path: Path, matlab_order: bool):
        self.path, self.matlab_order = path, matlab_order
        suffix = path.suffix.lower()
        if is_hdf5(path):
            self.kind = "mat-v7.3" if suffix == ".mat" else "hdf5"
        elif suffix == ".npz":
            self.kind = "npz"
        elif suffix == ".mat":
            self.kind = "mat-v5"
            self._mat = load_mat_v5(path)
        else:
            raise DataFormatError(f"{path}: not an .npz, HDF5 (.h5/.hdf5) or MATLAB .mat file")

    def keys(self) -> list[str]:
        if self.kind == "npz":
            import zipfile

            try:
                with zipfile.ZipFile(self.path) as z:
                    return sorted(n[:-4] for n in z.namelist() if n.endswith(".npy"))
            except (zipfile.BadZipFile, OSError) as exc:
                raise DataFormatError(f"{self.path}: not a readable .npz archive ({exc})") from None
        if self.kind == "mat-v5":
            return sorted(k for k in self._mat if not k.startswith("__"))
        import h5py

        names = []
        with h5py.File(self.path, "r") as f:
            f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset)
                         and not name.startswith("#refs#") else None)
        return sorted(names)

    def _missing(self, key: str, field: str):
        keys = self.keys()
        shown = keys[:40] + ([f"... {len(keys) - 40} more"] if len(keys) > 40 else [])
        return MissingFieldError(f"{self.path}: no array {key!r} (mapped to {field}); the file has: {shown}")

    def get(self, key: str, field: str):
        import numpy as np

        if self.kind == "npz":
            arr = self._npz(key, field)
        elif self.kind == "mat-v5":
            if key not in self._mat:
                raise self._missing(key, field)
            arr = self._mat[key]
        else:
            arr = self._h5(key, field)
        arr = np.asarray(arr)
        if arr.dtype.kind not in "biufc":
            raise DataShapeError(f"{self.path}: {key!r} (mapped to {field}) has dtype {arr.dtype}; expected a numeric"
                                 " array (cell arrays, structs, strings and objects are not read)")
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise NonFiniteDataError(f"{self.path}: {key!r} (mapped to {field}) holds {bad} NaN or inf values of "
                                     f"{arr.size}; clean or drop them before loading")
        return arr

    def _npz(self, key: str, field: str):
        import zipfile

        import numpy as np

        member = key + ".npy"
        try:
            with zipfile.ZipFile(self.path) as z:
                if member not in z.namelist():
                    raise self._missing(key, field)
                with z.open(member) as fh:
                    major, _ = np.lib.format.read_magic(fh)
                    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(fh)
                    if dtype.hasobject:
                        raise DataFormatError(f"{self.path}: {key!r}: {PICKLE_REFUSAL}")
                    check_declared_size(shape, dtype, f"{self.path}: {key!r}")
                    fh.seek(0)
                    return np.lib.format.read_array(fh, allow_pickle=False)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise DataFormatError(f"{self.path}: {key!r} is not readable ({type(exc).__name__}: {exc})") from None

    def _h5(self, key: str, field: str):
        import h5py
        import numpy as np

        try:
            f = h5py.File(self.path, "r")
        except OSError as exc:
            raise DataFormatError(f"{self.path}: not a readable HDF5 file ({exc})") from None
        with f:
            obj = f.get(key)
            if obj is None:
                raise self._missing(key, field)
            if not isinstance(obj, h5py.Dataset):
                raise DataShapeError(f"{self.path}: {key!r} (mapped to {field}) is a group, not an array; "
                                     f"name one of its datasets ({key}/...)")
            check_declared_size(obj.shape, obj.dtype, f"{self.path}: {key!r}")
            if obj.dtype.kind == "O" or h5py.check_dtype(ref=obj.dtype) is not None:
                raise DataShapeError(f"{self.path}: {key!r} (mapped to {field}) holds references or objects "
                                     "(a MATLAB cell array or struct); save a numeric array instead")
            arr = obj[()]
            if arr.dtype.names and {"real", "imag"} <= set(arr.dtype.names):
                arr = arr["real"] + 1j * arr["imag"]
            if self.matlab_order and "MATLAB_class" in obj.attrs:
                arr = np.asarray(arr).T
        return arr


# ---------------------------------------------------------------------- fields
def _axis_names(spec, allowed, option: str) -> list[str]:
    names = [s.strip().lower() for s in (re.split(r"[,\s]+", spec.strip()) if isinstance(spec, str) else spec)]
    names = [_ALIASES.get(s, s) for s in names if s]
    unknown = [s for s in names if s not in allowed + ("complex",)]
    if unknown or len(set(names)) != len(names) or "sample" not in names:
        raise DataFormatError(f"{option}={spec!r}: name each source axis once from {', '.join(allowed)}, complex; "
                              "'sample' is required")
    return names


def _arrange(arr, axes, target, field: str, option: str, key: str, path: Path):
    """arr -> target axis order (sizes 1 for unnamed axes), complex; (array, was_real, names)."""
    import numpy as np

    if axes is None:
        if arr.ndim != len(target):
            example = ",".join(("sample",) + target[1:arr.ndim]) if 1 < arr.ndim < len(target) else "sample,..."
            raise DataShapeError(
                f"{path}: {key!r} (mapped to {field}) has shape {arr.shape}, not ({', '.join(['N', *target[1:]])}); "
                f"name its axes with {option}, e.g. {option}={example}")
        names = list(target)
    else:
        names = _axis_names(axes, target, option)
        if len(names) != arr.ndim:
            raise DataShapeError(f"{path}: {key!r} (mapped to {field}) has {arr.ndim} axes {arr.shape} but {option} "
                                 f"names {len(names)}: {','.join(names)}")
    was_real = False
    if "complex" in names:
        c = names.index("complex")
        if arr.shape[c] != 2 or arr.dtype.kind not in "iuf":
            raise DataShapeError(f"{path}: {key!r}: the 'complex' axis must be a real axis of size 2 (real, imag), "
                                 f"got size {arr.shape[c]} of dtype {arr.dtype}")
        arr = np.take(arr, 0, axis=c) + 1j * np.take(arr, 1, axis=c)
        names = names[:c] + names[c + 1:]
    elif arr.dtype.kind != "c":
        was_real = True
        arr = arr.astype(np.float32) + 0j
    order = [names.index(a) for a in target if a in names]
    arr = np.transpose(arr, order)
    present = [a for a in target if a in names]
    shape = [arr.shape[present.index(a)] if a in present else 1 for a in target]
    return arr.reshape(shape).astype(np.complex64), was_real, names


def _squeeze_vector(arr, n: int):
    if arr.ndim == 2 and (arr.shape == (n, 1) or (arr.shape == (1, n) and n != 1)):
        return arr.reshape(n)
    return arr


def _vector(arr, n: int, field: str, key: str, path: Path):
    arr = _squeeze_vector(arr, n)
    if arr.shape != (n,):
        raise DataShapeError(f"{path}: {key!r} (mapped to {field}) has shape {arr.shape}; expected ({n},) to match "
                             f"the {n} CSI samples")
    return arr


def _per_sample(arr, n: int, field: str, key: str, path: Path):
    arr = _squeeze_vector(arr, n)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise DataShapeError(f"{path}: {key!r} (mapped to {field}) has shape {arr.shape}; its first axis must be "
                             f"the {n} CSI samples")
    return arr


def _positions(arr, n: int, field: str, key: str, path: Path):
    import numpy as np

    if arr.shape in ((3,), (1, 3)):
        return np.tile(arr.reshape(1, 3).astype(np.float32), (n, 1))
    if arr.shape != (n, 3) or arr.dtype.kind not in "iuf":
        raise DataShapeError(f"{path}: {key!r} (mapped to {field}) has shape {arr.shape} and dtype {arr.dtype}; "
                             f"expected real ({n}, 3) positions in metres, or one (3,) position for all")
    return arr.astype(np.float32)


def _los(arr, n: int, key: str, path: Path):
    import numpy as np

    arr = _vector(arr, n, "los", key, path)
    if arr.dtype.kind == "b":
        return arr, None
    values = set(np.unique(arr).tolist())
    if values <= {0, 1}:
        return arr.astype(bool), None
    if values <= {-1, 0, 1}:
        return arr == 1, arr.astype(np.int8)
    raise DataShapeError(f"{path}: {key!r} (mapped to los) holds values {sorted(values)[:6]}; expected 0/1, bool, "
                         "or DeepMIMO's -1/0/1 status")
