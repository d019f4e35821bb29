"""Train / validation / test splits that every method of a benchmark shares, and their hash.

Policies:

- `area`: whole scenes (city areas, ray-traced scenes) go to one split, so the test areas are
  unseen in training, as both contrastive papers evaluate (needs `scene_id`, 3+ scenes);
- `block`: a spatial block split where the data has positions but no areas: the plane is cut
  into square blocks of `block_m` metres and whole blocks are assigned to splits;
- `random`: a seeded random split of samples;
- `auto`: `area` where the data has 3 or more scenes, else `block` with positions, else `random`.

Early stopping and the best epoch are chosen on `val`, never on `test`. The split's hash is a
SHA-256 over each split's indices and the bytes of every array the task reads at them, so two
runs with the same hash scored the same samples with the same inputs and targets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from zoo_core.errors import WzooError

POLICIES = ("auto", "area", "block", "random")
SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)


class SplitError(WzooError, ValueError):
    """A split policy the data cannot follow (no scenes, too few blocks, an empty split)."""


@dataclass(frozen=True)
class Split:
    policy: str
    indices: dict[str, np.ndarray]
    sha256: str

    def describe(self) -> dict:
        return {"policy": self.policy, "sha256": self.sha256,
                "sizes": {k: int(len(v)) for k, v in self.indices.items()}}

    def to_json(self) -> dict:
        return {**self.describe(), "indices": {k: v.tolist() for k, v in self.indices.items()}}


def resolve_policy(policy: str, data) -> str:
    if policy not in POLICIES:
        raise SplitError(f"split policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    if policy != "auto":
        return policy
    if data.scene_id is not None and len(np.unique(data.scene_id)) >= 3:
        return "area"
    if data.ue_pos is not None:
        return "block"
    return "random"


def block_split(positions: np.ndarray, fractions, seed: int, block_m: float) -> list[np.ndarray]:
    """Whole square blocks of side `block_m` (x, y) to splits, shuffled, filled by sample share."""
    from zoo_core.data.sample import scene_split

    cells = np.floor(np.asarray(positions, dtype=np.float64)[:, :2] / block_m).astype(np.int64)
    _, block = np.unique(cells, axis=0, return_inverse=True)
    return scene_split(block.reshape(-1), fractions, seed=seed)


def make_split(data, task, policy: str = "auto", fractions=DEFAULT_FRACTIONS, seed: int = 0,
               block_m: float = 20.0) -> Split:
    """The benchmark's split of `data` for `task` (see the module docstring)."""
    from zoo_core.data.sample import random_split, scene_split

    resolved = resolve_policy(policy, data)
    try:
        if resolved == "area":
            if data.scene_id is None:
                raise SplitError("split 'area' needs data with scene_id (areas); use --split block or random")
            parts = scene_split(data, fractions, seed=seed)
        elif resolved == "block":
            if data.ue_pos is None:
                raise SplitError("split 'block' needs UE positions (ue_pos); use --split random")
            parts = block_split(data.ue_pos, fractions, seed, block_m)
        else:
            parts = random_split(len(data), fractions, seed=seed)
    except ValueError as exc:
        if isinstance(exc, SplitError):
            raise
        raise SplitError(f"cannot split {len(data)} samples by {resolved}: {exc}") from None
    indices = dict(zip(SPLITS, parts))
    for name, idx in indices.items():
        if len(idx) == 0:
            raise SplitError(f"the {name} split is empty ({resolved} split of {len(data)} samples): "
                             "use more data or another --split")
    return Split(resolved, indices, split_hash(data, task, indices))


def split_hash(data, task, indices: dict[str, np.ndarray]) -> str:
    """SHA-256 over each split's name, indices, and the task's inputs and targets at them."""
    h = hashlib.sha256()
    for name in SPLITS:
        idx = np.ascontiguousarray(indices[name], dtype=np.int64)
        h.update(name.encode())
        h.update(idx.tobytes())
        for field in _hashed_fields(data, task):
            h.update(field.encode())
            h.update(np.ascontiguousarray(data.field(field, idx)).tobytes())
        h.update(np.ascontiguousarray(task.targets(data, idx)).tobytes())
    return h.hexdigest()


def _hashed_fields(data, task) -> list[str]:
    available = set(data.field_names())
    return [f for f in task.inputs if f in available] or ["csi"]


def label_subset(train: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded share of the training indices (at least one sample): the same for every method."""
    if not 0 < fraction <= 1:
        raise SplitError(f"label fractions are in (0, 1], got {fraction}")
    if fraction == 1:
        return train
    n = max(1, int(round(fraction * len(train))))
    pick = np.random.default_rng(seed + 7919).choice(len(train), size=n, replace=False)
    return np.sort(train[pick])
