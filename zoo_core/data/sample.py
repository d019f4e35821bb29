"""The one sample format of wzoo: `WirelessData`, a batch of N wireless samples.

Every generator returns it, every loader produces it, `WirelessDataset` feeds it to torch,
metrics and plots read it. It is plain numpy arrays with a leading sample axis N, so a
whole data set is vectorised code, never a list of per-sample objects.

Fields (N = number of samples, S = number of scenes/areas)
----------------------------------------------------------
csi        (N, n_rx, n_tx, n_sc, n_sym) complex64, axes `CSI_AXES` =
           ("rx", "tx", "subcarrier", "symbol"). Required. A single-snapshot channel has
           n_sym = 1; a single-antenna side has size 1 (uplink: rx = BS antennas).
cir        (N, n_rx, n_tx, n_taps) complex64, optional (city: IFFT of csi over subcarriers).
bs_pos     (N, 3) float32 metres, optional.
ue_pos     (N, 3) float32 metres, optional.
los        (N,) bool, optional.
scene_id   (N,) int64 index into the per-scene arrays below, optional (required with them).
env_map    (S, H, W) uint8 top-view building occupancy (1 = building), optional, stored
           once per scene; row i / column j cover y in [i*s, (i+1)*s), x in [j*s, (j+1)*s)
           with s = map_scale[scene] (row 0 at y = 0).
env_edges  (S, H, W) uint8 building edge image (1 = edge), optional.
map_scale  (S,) float32 metres per pixel, optional (a scalar is broadcast).
labels     dict name -> (N, ...) array: task targets, e.g. "class", "position" (metres),
           "beam", "los", "activity".
extras     dict name -> (N, ...) array: generator-specific per-sample arrays (noisy pilots
           "Y", "snr_db", path parameters, ...).
shared     dict name -> array: arrays that are NOT per sample (a codebook, a pilot
           pattern, subcarrier frequencies). Kept whole by `subset`.
meta       JSON-serialisable dict: "generator", "params", "seed", "units", "class_names", ...

Construction validates and normalises dtypes (complex128 -> complex64, float -> float32 for
positions); errors are `zoo_core.data.errors.DataFormatError` subclasses.

Files
-----
`save(path)` writes HDF5 (h5py) atomically: a temp file in the same folder, fsync,
`os.replace`; on any exception the temp file is removed and the target keeps its old
content. Layout: datasets /csi, /cir, /bs_pos, ..., groups /labels, /extras, /shared; root
attributes `wzoo_format` = "wireless-data" (written last: a partial file never looks
complete), `format_version`, `meta`, `units`, `csi_axes` (JSON strings).
`WirelessData.load(path)` raises typed errors: `DataFileNotFoundError` (missing),
`CorruptDataFileError` (not HDF5 / truncated), `DataFormatError` (not a wzoo file),
`DataVersionError`, `MissingFieldError`, `DataShapeError`, `NonFiniteDataError`.

Splits
------
`random_split(data_or_n, fractions, seed)` and `scene_split(data, fractions, seed)` return
a list of sorted int64 index arrays, one per fraction; `scene_split` keeps every scene
(area) whole inside one split, for "unseen area" evaluation. Both are reproducible.

Field names for `field()` / `WirelessDataset(fields=...)`: "csi", "cir", "bs_pos",
"ue_pos", "los", "scene_id", "env_map", "env_edges", "map_scale" (the scene arrays are
gathered per sample through scene_id), "labels.<name>", "extras.<name>".
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import numpy as np

from zoo_core.data.errors import (
    CorruptDataFileError,
    DataFileNotFoundError,
    DataFormatError,
    DataShapeError,
    DataVersionError,
    MissingFieldError,
    NonFiniteDataError,
    check_declared_size,
)

CSI_AXES = ("rx", "tx", "subcarrier", "symbol")
CIR_AXES = ("rx", "tx", "tap")
FORMAT_NAME = "wireless-data"
FORMAT_VERSION = 1

#: Units written into every file (meta["units"] entries override or extend them).
DEFAULT_UNITS = {
    "csi": "complex baseband channel coefficient (linear, unitless)",
    "cir": "complex channel tap (linear, unitless)",
    "bs_pos": "m",
    "ue_pos": "m",
    "map_scale": "m/pixel",
    "env_map": "1 = building, 0 = free",
    "env_edges": "1 = building edge, 0 = other",
}

PER_SAMPLE_FIELDS = ("csi", "cir", "bs_pos", "ue_pos", "los", "scene_id")
SCENE_FIELDS = ("env_map", "env_edges", "map_scale")
_DICT_FIELDS = ("labels", "extras", "shared")


@dataclass(eq=False)
class WirelessData:
    """A batch of N wireless samples as numpy arrays (see the module docstring)."""

    csi: np.ndarray
    cir: np.ndarray | None = None
    bs_pos: np.ndarray | None = None
    ue_pos: np.ndarray | None = None
    los: np.ndarray | None = None
    scene_id: np.ndarray | None = None
    env_map: np.ndarray | None = None
    env_edges: np.ndarray | None = None
    map_scale: np.ndarray | float | None = None
    labels: dict[str, np.ndarray] = dc_field(default_factory=dict)
    extras: dict[str, np.ndarray] = dc_field(default_factory=dict)
    shared: dict[str, np.ndarray] = dc_field(default_factory=dict)
    meta: dict[str, Any] = dc_field(default_factory=dict)

    def __post_init__(self) -> None:
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        csi = self.csi
        if not isinstance(csi, np.ndarray):
            csi = np.asarray(csi)
        if csi.ndim != 5:
            raise DataShapeError(
                f"csi must have 5 axes (N, {', '.join(CSI_AXES)}), got shape {csi.shape}")
        if not np.iscomplexobj(csi):
            raise DataShapeError(f"csi must be complex, got dtype {csi.dtype}")
        if csi.shape[0] == 0 or 0 in csi.shape:
            raise DataShapeError(f"csi must be non-empty (N > 0), got shape {csi.shape}")
        self.csi = csi.astype(np.complex64, copy=False)
        if not np.isfinite(self.csi).all():
            raise NonFiniteDataError("csi contains NaN or inf")
        n, n_rx, n_tx = self.csi.shape[:3]

        if self.cir is not None:
            cir = np.asarray(self.cir)
            if cir.ndim != 4 or cir.shape[:3] != (n, n_rx, n_tx):
                raise DataShapeError(
                    f"cir must have shape (N, n_rx, n_tx, n_taps) = ({n}, {n_rx}, {n_tx}, T),"
                    f" got {cir.shape}")
            if not np.iscomplexobj(cir):
                raise DataShapeError(f"cir must be complex, got dtype {cir.dtype}")
            self.cir = cir.astype(np.complex64, copy=False)

        for name in ("bs_pos", "ue_pos"):
            v = getattr(self, name)
            if v is None:
                continue
            v = np.asarray(v)
            if v.shape != (n, 3) or v.dtype.kind not in "iuf":
                raise DataShapeError(f"{name} must be a real (N, 3) = ({n}, 3) array, got"
                                     f" {v.shape} {v.dtype}")
            setattr(self, name, v.astype(np.float32, copy=False))

        if self.los is not None:
            v = np.asarray(self.los)
            if v.shape != (n,) or v.dtype.kind not in "biu":
                raise DataShapeError(f"los must be a bool (N,) = ({n},) array, got {v.shape} {v.dtype}")
            if v.dtype.kind != "b" and not np.isin(v, (0, 1)).all():
                raise DataShapeError("los must hold only 0/1 or True/False")
            self.los = v.astype(bool, copy=False)

        n_scenes = None
        for name in ("env_map", "env_edges"):
            v = getattr(self, name)
            if v is None:
                continue
            v = np.asarray(v)
            if v.ndim != 3 or v.dtype != np.uint8 or 0 in v.shape:
                raise DataShapeError(f"{name} must be a non-empty uint8 (S, H, W) array, got"
                                     f" {v.shape} {v.dtype}")
            if n_scenes is not None and v.shape != self.env_map.shape:
                raise DataShapeError(f"env_edges {v.shape} and env_map {self.env_map.shape} differ")
            n_scenes = v.shape[0]
            setattr(self, name, v)

        if self.scene_id is not None:
            v = np.asarray(self.scene_id)
            if v.shape != (n,) or v.dtype.kind not in "iu":
                raise DataShapeError(f"scene_id must be an integer (N,) = ({n},) array, got"
                                     f" {v.shape} {v.dtype}")
            v = v.astype(np.int64, copy=False)
            if v.min() < 0 or (n_scenes is not None and v.max() >= n_scenes):
                raise DataShapeError(f"scene_id values must lie in [0, {n_scenes}), got"
                                     f" [{v.min()}, {v.max()}]")
            self.scene_id = v
            if n_scenes is None:
                n_scenes = int(v.max()) + 1
        elif n_scenes is not None:
            raise DataShapeError("env_map/env_edges need scene_id (N,) to index them")

        if self.map_scale is not None:
            v = np.asarray(self.map_scale, dtype=np.float64)
            if n_scenes is None:
                raise DataShapeError("map_scale needs scene_id (and usually env_map)")
            if v.ndim == 0:
                v = np.full(n_scenes, float(v))
            if v.shape != (n_scenes,) or not np.isfinite(v).all() or (v <= 0).any():
                raise DataShapeError(f"map_scale must be positive, scalar or ({n_scenes},), got"
                                     f" shape {v.shape}")
            self.map_scale = v.astype(np.float32)

        for group in ("labels", "extras", "shared"):
            d = getattr(self, group)
            if d is None:
                d = {}
            if not isinstance(d, dict):
                raise DataShapeError(f"{group} must be a dict of arrays, got {type(d).__name__}")
            out = {}
            for key, arr in d.items():
                if not isinstance(key, str) or not key or "/" in key or "." in key:
                    raise DataShapeError(f"{group} key {key!r} must be a non-empty str without '/' or '.'")
                arr = np.asarray(arr)
                if arr.dtype.kind not in "biufc":
                    raise DataShapeError(f"{group}[{key!r}] must be numeric or bool, got dtype"
                                         f" {arr.dtype} (put names and strings in meta)")
                if group != "shared" and (arr.ndim == 0 or arr.shape[0] != n):
                    raise DataShapeError(f"{group}[{key!r}] must have leading axis N = {n}, got"
                                         f" shape {arr.shape}")
                out[key] = arr
            setattr(self, group, out)

        if self.meta is None:
            self.meta = {}
        if not isinstance(self.meta, dict):
            raise DataFormatError(f"meta must be a dict, got {type(self.meta).__name__}")
        try:
            json.dumps(self.meta)
        except (TypeError, ValueError) as e:
            raise DataFormatError(f"meta must be JSON-serialisable: {e}") from None

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return int(self.csi.shape[0])

    @property
    def n_rx(self) -> int:
        return int(self.csi.shape[1])

    @property
    def n_tx(self) -> int:
        return int(self.csi.shape[2])

    @property
    def n_sc(self) -> int:
        return int(self.csi.shape[3])

    @property
    def n_sym(self) -> int:
        return int(self.csi.shape[4])

    @property
    def n_scenes(self) -> int | None:
        if self.env_map is not None:
            return int(self.env_map.shape[0])
        if self.env_edges is not None:
            return int(self.env_edges.shape[0])
        if self.map_scale is not None:
            return int(self.map_scale.shape[0])
        return None if self.scene_id is None else int(self.scene_id.max()) + 1

    def field_names(self) -> list[str]:
        """Every name `field()` accepts for this data."""
        names = [f for f in PER_SAMPLE_FIELDS + SCENE_FIELDS if getattr(self, f) is not None]
        names += [f"labels.{k}" for k in self.labels] + [f"extras.{k}" for k in self.extras]
        return names

    def field(self, name: str, index=None) -> np.ndarray:
        """Per-sample array of a field ("csi", "labels.position", "env_map", ...).

        Scene arrays (env_map, env_edges, map_scale) are gathered through scene_id. `index`
        (int, slice, index array or mask) selects samples; None means all.
        """
        idx = slice(None) if index is None else index
        if name in PER_SAMPLE_FIELDS:
            arr = getattr(self, name)
            if arr is None:
                raise KeyError(f"field {name!r} is not present; available: {self.field_names()}")
            return arr[idx]
        if name in SCENE_FIELDS:
            arr = getattr(self, name)
            if arr is None:
                raise KeyError(f"field {name!r} is not present; available: {self.field_names()}")
            return arr[self.scene_id[idx]]
        group, _, key = name.partition(".")
        if group in ("labels", "extras") and key:
            d = getattr(self, group)
            if key not in d:
                raise KeyError(f"field {name!r} is not present; available: {self.field_names()}")
            return d[key][idx]
        raise KeyError(f"unknown field {name!r}; available: {self.field_names()}")

    def subset(self, indices) -> WirelessData:
        """A new WirelessData with the selected samples (index array, mask or slice).

        Scene arrays and `shared` are kept whole, so scene_id stays valid.
        """
        idx = indices
        if not isinstance(idx, slice):
            idx = np.asarray(idx)
            if idx.dtype == bool:
                if idx.shape != (len(self),):
                    raise IndexError(f"boolean mask must have shape ({len(self)},), got {idx.shape}")
            elif idx.dtype.kind not in "iu":
                raise IndexError(f"indices must be integers or a boolean mask, got {idx.dtype}")
            elif idx.ndim != 1:
                raise IndexError("indices must be one-dimensional")

        def take(a):
            return None if a is None else a[idx]

        return WirelessData(
            csi=self.csi[idx], cir=take(self.cir), bs_pos=take(self.bs_pos),
            ue_pos=take(self.ue_pos), los=take(self.los), scene_id=take(self.scene_id),
            env_map=self.env_map, env_edges=self.env_edges, map_scale=self.map_scale,
            labels={k: v[idx] for k, v in self.labels.items()},
            extras={k: v[idx] for k, v in self.extras.items()},
            shared=dict(self.shared), meta=copy.deepcopy(self.meta),
        )

    def units(self) -> dict[str, str]:
        return {**DEFAULT_UNITS, **self.meta.get("units", {})}

    def __repr__(self) -> str:
        parts = [f"N={len(self)}", f"csi={tuple(self.csi.shape[1:])}"]
        parts += [f for f in PER_SAMPLE_FIELDS[1:] + SCENE_FIELDS if getattr(self, f) is not None]
        for group in _DICT_FIELDS:
            d = getattr(self, group)
            if d:
                parts.append(f"{group}={sorted(d)}")
        gen = self.meta.get("generator")
        if gen:
            parts.append(f"generator={gen!r}")
        return f"WirelessData({', '.join(parts)})"

    # ------------------------------------------------------------------ files
    def save(self, path, compression: str | None = None) -> Path:
        """Write HDF5 atomically (temp file in the same folder, fsync, os.replace)."""
        import h5py

        from zoo_core.fileio import atomic_write

        def write(tmp: Path) -> None:
            with h5py.File(tmp, "w") as f:
                _write_body(self, f, compression)
                # The format marker goes last: an interrupted write never looks complete.
                f.attrs["wzoo_format"] = FORMAT_NAME

        path = atomic_write(path, write)
        return path

    @classmethod
    def load(cls, path) -> WirelessData:
        """Read a file written by `save`, with typed errors (see the module docstring)."""
        path = Path(path)
        if not path.exists():
            raise DataFileNotFoundError(path)
        if path.is_dir():
            raise CorruptDataFileError(f"{path}: is a directory, not an HDF5 data file")
        import h5py

        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise CorruptDataFileError(
                f"{path}: not a readable HDF5 file (corrupt, truncated or another format): {e}"
            ) from None
        try:
            with f:
                return cls._from_h5(f, path)
        except DataFormatError as e:
            msg = str(e)
            if not msg.startswith(str(path)):
                e.args = (f"{path}: {msg}",)
            raise
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            raise CorruptDataFileError(f"{path}: unreadable data ({type(e).__name__}: {e})") from None

    @classmethod
    def _from_h5(cls, f, path: Path) -> WirelessData:
        import h5py

        fmt = f.attrs.get("wzoo_format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT_NAME:
            raise DataFormatError(
                "not a complete wzoo wireless-data file (no 'wzoo_format' marker; written by"
                " another tool, or an interrupted write)")
        version = f.attrs.get("format_version")
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise DataVersionError(f"missing or invalid format_version {version!r}") from None
        if not 1 <= version <= FORMAT_VERSION:
            raise DataVersionError(
                f"format version {version} is not supported (this wzoo reads 1..{FORMAT_VERSION});"
                " upgrade wzoo")
        try:
            meta = json.loads(f.attrs.get("meta", "{}"))
        except (TypeError, ValueError) as e:
            raise DataFormatError(f"meta attribute is not valid JSON: {e}") from None
        if "csi" not in f:
            raise MissingFieldError("required dataset 'csi' is missing")

        def read(name):
            if name not in f:
                return None
            obj = f[name]
            if not isinstance(obj, h5py.Dataset):
                raise DataShapeError(f"{name!r} must be a dataset, found a group")
            check_declared_size(obj.shape, obj.dtype, f"{path}: dataset {name!r}")
            return obj[()]

        kwargs = {name: read(name) for name in PER_SAMPLE_FIELDS + SCENE_FIELDS}
        for group in _DICT_FIELDS:
            g = f.get(group)
            d = {}
            if g is not None:
                if not isinstance(g, h5py.Group):
                    raise DataShapeError(f"{group!r} must be a group")
                for key in g:
                    d[key] = read(f"{group}/{key}")
            kwargs[group] = d
        return cls(meta=meta, **kwargs)


def _write_body(data: WirelessData, f, compression: str | None) -> None:
    """Everything but the completion marker (separate so tests can interrupt it)."""
    opts = {"compression": compression} if compression else {}
    for name in PER_SAMPLE_FIELDS + SCENE_FIELDS:
        arr = getattr(data, name)
        if arr is not None:
            f.create_dataset(name, data=arr, **(opts if arr.ndim > 0 else {}))
    for group in _DICT_FIELDS:
        d = getattr(data, group)
        if d:
            g = f.create_group(group)
            for key, arr in d.items():
                g.create_dataset(key, data=arr, **(opts if arr.ndim > 0 else {}))
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["meta"] = json.dumps(data.meta)
    f.attrs["units"] = json.dumps(data.units())
    f.attrs["csi_axes"] = json.dumps(["sample", *CSI_AXES])


# ---------------------------------------------------------------------- splits
def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or fr.size == 0 or (fr < 0).any() or not np.isfinite(fr).all():
        raise ValueError(f"fractions must be a non-empty sequence of non-negative numbers, got {fractions}")
    if fr.sum() > 1 + 1e-9:
        raise ValueError(f"fractions sum to {fr.sum():g} > 1")
    return fr


def random_split(data_or_n, fractions: Sequence[float], seed: int = 0) -> list[np.ndarray]:
    """Seeded random split of N samples into sorted index arrays, one per fraction.

    `data_or_n` is an int N or anything with a length. Sizes are round(cumsum(fractions)*N)
    differences, so fractions summing to 1 use every sample exactly once.
    """
    n = int(data_or_n) if isinstance(data_or_n, (int, np.integer)) else len(data_or_n)
    fr = _check_fractions(fractions)
    perm = np.random.default_rng(seed).permutation(n)
    bounds = np.concatenate([[0], np.round(np.cumsum(fr) * n).astype(np.int64)])
    bounds = np.minimum(bounds, n)
    return [np.sort(perm[a:b]).astype(np.int64) for a, b in zip(bounds[:-1], bounds[1:])]


def scene_split(data, fractions: Sequence[float], seed: int = 0) -> list[np.ndarray]:
    """Seeded split that keeps every scene (area) whole: "unseen area" evaluation.

    Scenes are shuffled; each goes to the split in which the middle of its sample range falls
    on the cumulative-fraction axis, so split sizes follow the fractions as closely as whole
    scenes allow. `data` is a WirelessData with scene_id, or a (N,) scene-id array.
    """
    sid = data.scene_id if isinstance(data, WirelessData) else np.asarray(data)
    if sid is None:
        raise DataFormatError("scene_split needs scene_id; use random_split for data without scenes")
    sid = np.asarray(sid)
    fr = _check_fractions(fractions)
    scenes, inverse, counts = np.unique(sid, return_inverse=True, return_counts=True)
    if len(scenes) < int((fr > 0).sum()):
        raise ValueError(f"{len(scenes)} scenes cannot fill {int((fr > 0).sum())} non-empty splits")
    order = np.random.default_rng(seed).permutation(len(scenes))
    n = len(sid)
    cum = np.cumsum(counts[order])
    middle = (cum - counts[order] / 2.0) / n
    edges = np.cumsum(fr)
    which = np.searchsorted(edges, middle, side="right")  # == len(fr) -> unused remainder
    split_of_scene = np.empty(len(scenes), dtype=np.int64)
    split_of_scene[order] = which
    sample_split = split_of_scene[inverse.reshape(-1)]
    return [np.flatnonzero(sample_split == k).astype(np.int64) for k in range(len(fr))]
