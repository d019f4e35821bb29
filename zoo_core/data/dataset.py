"""A torch `Dataset` over `WirelessData` (or an HDF5 file written by `WirelessData.save`).

Items are dicts of torch tensors keyed by the requested field names, e.g.
``WirelessDataset(data, fields=("csi", "labels.position"))[0]`` ->
``{"csi": complex64 tensor (n_rx, n_tx, n_sc, n_sym), "labels.position": float32 (3,)}``.
Scene arrays ("env_map", "env_edges", "map_scale") are gathered per sample via scene_id.

Batches: `batch(positions)` (also `dataset[positions]` with a list or array of positions)
returns the stacked dict with one numpy gather per field. `batch_sampler(...)` / `loader(...)`
give torch's DataLoader those whole batches directly: no per-sample dicts, no re-stacking;
the same positions in the same order as
``DataLoader(dataset, batch_size=..., shuffle=..., generator=...)`` (and accelerate shards it
across processes as it shards that one). The per-sample path still works: `__getitems__`
(used by a DataLoader with a batch_size) splits one gather into item views, and `collate`
stacks a list of item dicts.
Complex arrays stay complex by default; ``complex_as="real"`` appends a trailing (re, im)
axis instead (for models that take real input).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from zoo_core.data.sample import WirelessData


def _to_tensor(arr: np.ndarray, complex_as: str) -> torch.Tensor:
    arr = np.asarray(arr)
    if np.iscomplexobj(arr) and complex_as == "real":
        arr = np.stack([arr.real, arr.imag], axis=-1)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    elif arr.dtype == np.complex128:
        arr = arr.astype(np.complex64)
    elif arr.dtype == np.uint16 or arr.dtype == np.uint32:
        arr = arr.astype(np.int64)
    if arr.base is not None or not arr.flags.c_contiguous or not arr.flags.writeable:
        arr = np.array(arr, order="C", copy=True)  # never alias the WirelessData's arrays
    return torch.from_numpy(arr)


class WirelessDataset(Dataset):
    """Torch view of a WirelessData: dict items of the requested fields.

    data: a WirelessData or a path to a saved one. fields: names accepted by
    `WirelessData.field`. indices: optional subset (e.g. from `random_split`).
    complex_as: "complex" (keep complex64) or "real" (trailing re/im axis of size 2).
    float64 arrays become float32.
    """

    def __init__(self, data: WirelessData | str | Path, fields: Sequence[str] = ("csi",),
                 indices=None, complex_as: str = "complex"):
        if not isinstance(data, WirelessData):
            data = WirelessData.load(data)
        if complex_as not in ("complex", "real"):
            raise ValueError(f"complex_as must be 'complex' or 'real', got {complex_as!r}")
        if isinstance(fields, str):
            fields = (fields,)
        available = set(data.field_names())
        missing = [f for f in fields if f not in available]
        if missing:
            raise KeyError(f"fields {missing} are not in this data; available: {sorted(available)}")
        self.data = data
        self.fields = tuple(fields)
        self.complex_as = complex_as
        self.indices = (np.arange(len(data)) if indices is None
                        else np.asarray(indices, dtype=np.int64).reshape(-1))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        """One sample (an int position), or a stacked batch (a list, array or 1-D tensor of positions)."""
        if isinstance(i, (list, tuple, np.ndarray, torch.Tensor)) and np.ndim(i) == 1:
            return self.batch(i)
        j = int(self.indices[i])
        return {f: _to_tensor(self.data.field(f, j), self.complex_as) for f in self.fields}

    def batch(self, positions) -> dict[str, torch.Tensor]:
        """Stacked dict for several positions at once (one gather per field)."""
        j = self.indices[np.asarray(positions, dtype=np.int64).reshape(-1)]
        return {f: _to_tensor(self.data.field(f, j), self.complex_as) for f in self.fields}

    def batch_sampler(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                      drop_last: bool = False) -> BatchSampler:
        """Lists of positions, one per batch: torch's `BatchSampler` over a `RandomSampler`
        (seeded by `generator`) or a `SequentialSampler`, exactly the batches a
        ``DataLoader(self, batch_size, shuffle, generator=generator)`` draws."""
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        base = RandomSampler(self, generator=generator) if shuffle else SequentialSampler(self)
        return BatchSampler(base, int(batch_size), drop_last)

    def loader(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
               drop_last: bool = False, **kwargs) -> DataLoader:
        """A DataLoader whose every batch is one `batch(positions)` call: a stacked dict, no
        per-sample dicts. Its `batch_sampler` is torch's (see `batch_sampler`), so accelerate
        and DistributedSampler-style sharding see the same loader as the per-sample one; its
        collate function passes the stacked dict through. Extra keyword arguments go to
        DataLoader (num_workers, pin_memory, ...)."""
        sampler = self.batch_sampler(batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last)
        return DataLoader(_Batched(self), batch_sampler=sampler, collate_fn=_stacked, generator=generator, **kwargs)

    def __getitems__(self, positions) -> list[dict[str, torch.Tensor]]:
        # DataLoader's batched fetch: one gather per field, then split into items (views), so
        # any collate function (ours or torch's default) still gets a list of item dicts.
        stacked = self.batch(positions)
        return [{k: v[i] for k, v in stacked.items()} for i in range(len(positions))]


class _Batched(Dataset):
    """What `WirelessDataset.loader` hands to DataLoader: its batched fetch (`__getitems__`,
    which DataLoader calls with the positions of a whole batch) returns the stacked dict.

    (DataLoader with ``batch_size=None`` and the batch sampler as `sampler` would do the same,
    but accelerate 1.x cannot prepare such a loader in a single process.)"""

    def __init__(self, dataset: WirelessDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]

    def __getitems__(self, positions) -> dict[str, torch.Tensor]:
        return self.dataset.batch(positions)


def _stacked(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Collate function of `WirelessDataset.loader`: the batch comes stacked already."""
    return batch


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack a list of item dicts into one dict of batched tensors."""
    if not items:
        return {}
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}
