"""Multi-BS positioning inputs (the paper's Fig. 11): the CSI of the SAME UE at several BSs,
each through the frozen CFENN, the k embeddings concatenated.

The sample format holds one BS–UE pair per sample, so the BSs of one UE are the samples that
share its UE: `extras["ue_id"]` where the data has it (the city generator), else the same
area (`scene_id`) and UE position to the millimetre. Each sample's own BS comes first (the
positioning target is relative to it), then the UE's other BSs: `order="power"`, strongest
first, for data with many areas, where BS numbering means nothing across areas; `order="bs"`,
the others by BS index (`extras["bs_id"]`, else BS position), for one fixed deployment, as the
paper's Fig. 12 (three given BSs of one scene): the slots after the first then follow one fixed
order, but slot 0 is always the serving BS, so which BS fills which slot depends on it. A UE
seen by fewer than k BSs gets zeros in the missing slots, and the predictor says how many
samples had them.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError


def _ids(data, extra: str, positions, what: str) -> np.ndarray:
    """(N,) integer ids: `extras[extra]` where the data has it, else the same area and position
    (to the millimetre)."""
    given = data.extras.get(extra) if data.extras else None
    if given is not None:
        return np.asarray(given, np.int64)
    if positions is None:
        raise DataError(what)
    area = np.zeros(len(data), np.int64) if data.scene_id is None else np.asarray(data.scene_id, np.int64)
    where = np.round(np.asarray(positions, np.float64) * 1000).astype(np.int64)
    return np.unique(np.column_stack([area, where]), axis=0, return_inverse=True)[1].reshape(-1)


def ue_keys(data) -> np.ndarray:
    """(N,) integer id of each sample's UE."""
    return _ids(data, "ue_id", data.ue_pos,
                "multi-BS positioning groups samples by UE: the data needs extras['ue_id'] or ue_pos")


def bs_per_ue(data) -> int:
    """The largest number of BSs (samples) that share one UE."""
    return int(np.bincount(np.unique(ue_keys(data), return_inverse=True)[1].reshape(-1)).max())


ORDERS = ("power", "bs")


def bs_keys(data) -> np.ndarray:
    """(N,) integer id of each sample's BS (its index, or its position to the millimetre)."""
    return _ids(data, "bs_id", data.bs_pos, "order='bs' needs extras['bs_id'] or bs_pos in the data")


def partners(data, indices, k: int, order: str = "power") -> np.ndarray:
    """(n, k) sample indices into `data`: column 0 the sample itself, then the other samples of
    its UE by received power (strongest first) or by BS index; −1 where the UE has fewer than k BSs."""
    if k < 1:
        raise DataError(f"the number of BSs k must be at least 1, got {k}")
    if order not in ORDERS:
        raise DataError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    idx = np.asarray(indices)
    keys = ue_keys(data)
    if order == "power":
        rank = -(np.abs(np.asarray(data.csi)).reshape(len(data), -1).astype(np.float64) ** 2).mean(1)
    else:
        rank = bs_keys(data)
    ranked = np.lexsort((rank, keys))          # grouped by UE, then by rank within a UE
    sorted_keys = keys[ranked]
    out = np.full((len(idx), k), -1, np.int64)
    out[:, 0] = idx
    lows = np.searchsorted(sorted_keys, keys[idx], side="left")
    highs = np.searchsorted(sorted_keys, keys[idx], side="right")
    for row, (i, lo, hi) in enumerate(zip(idx, lows, highs)):
        others = ranked[lo:hi]
        others = others[others != i][: k - 1]
        out[row, 1:1 + len(others)] = others
    return out


def concatenated(embed, data, indices, k: int, order: str = "power"):
    """(n, k·d) concatenated embeddings and the number of rows with a missing BS; `embed(data,
    unique_indices)` gives the (m, d) embeddings of those samples."""
    import torch

    table = partners(data, indices, k, order)
    need = np.unique(table[table >= 0])
    emb = embed(data, need)
    position = {int(j): r for r, j in enumerate(need)}
    out = torch.zeros(len(table), k, emb.shape[1], dtype=emb.dtype)
    rows, cols = np.nonzero(table >= 0)
    out[rows, cols] = emb[[position[int(j)] for j in table[rows, cols]]]
    return out.reshape(len(table), -1), int((table < 0).any(1).sum())
