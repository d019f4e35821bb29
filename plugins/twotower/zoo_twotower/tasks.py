"""The paper's environment-sensing zero-shot tasks as registered `zoo_core.tasks.Task`s.

Each asks which of K options is the true environment of a sample's CSI; the options are
made from the data deterministically, and the true option's position among them is
`(index * 7 + 3) mod K` of the sample's index in the data (so "always pick option 0" scores
chance, not 100 %). A prediction is (n, K) scores; the metric is accuracy (chance 1/K).

- `twotower/multi-user` (Fig. 7): K candidate environments, the sample's own and those of
  K−1 other UEs served by the same BS in the same area.
- `twotower/map-scale` (Sec. IV-B): the metres-per-pixel entry scaled by 0.8, 1 and 1.2; map
  and pixel positions unchanged.
- `twotower/layout-change` (Fig. 8): the true edge map, and one with the building nearest
  the BS-UE link moved by a fifth of the area side (re-rasterised as the city generator does).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from zoo_core.tasks import OutputSpec, Task, TaskError

from .errors import DataError


def true_position(indices, k: int) -> np.ndarray:
    return (np.asarray(indices, dtype=np.int64) * 7 + 3) % k


class OptionTask(Task):
    default_data = ("city", 2000, {})
    inputs = ("csi", "env_edges", "bs_pos", "ue_pos", "los", "map_scale")
    metric_names = ("accuracy",)
    primary = "accuracy"
    output_kind = "classes"
    plot_kind = "bars"
    k: ClassVar[int] = 2

    def check_data(self, data) -> None:
        from .position import require_environment

        try:
            require_environment(data)
        except DataError as exc:
            raise TaskError(str(exc)) from None

    def targets(self, data, indices=None):
        idx = np.arange(len(data)) if indices is None else np.asarray(indices)
        return true_position(idx, self.k)

    def output_spec(self, data):
        return OutputSpec(self.k)

    def class_names(self, data):
        return tuple(f"option {i}" for i in range(self.k))

    def loss(self, outputs, batch):
        import torch.nn.functional as F

        return F.cross_entropy(outputs, batch["target"].long())

    def metrics(self, pred, target, **context):
        from zoo_core.data.metrics import accuracy

        return {"accuracy": accuracy(pred, target)}

    def options(self, data, indices) -> list[dict]:
        """K dicts of `env_arrays` options, each with per-sample arrays, in option order."""
        raise NotImplementedError

    def zero_shot(self, model, data, indices) -> np.ndarray:
        from .zeroshot import option_scores

        return option_scores(model, data, indices, self.options(data, indices))


def _place(true_opt: np.ndarray, others: list[np.ndarray], truth: np.ndarray) -> list[np.ndarray]:
    """Per-sample option values: the true value at `true_opt`, the others in order elsewhere."""
    k = len(others) + 1
    out = []
    for slot in range(k):
        rank = slot - (slot > true_opt)  # which of the others lands in this slot
        vals = np.where(slot == true_opt, 0, 1)
        other = np.choose(np.clip(rank, 0, k - 2), others) if others else truth
        out.append(np.where(vals == 0, truth, other))
    return out


class MapScale(OptionTask):
    name = "twotower/map-scale"
    description = "The true metres per pixel among [0.8 s, s, 1.2 s] (chance 1/3)"
    target = "position of the true scale among three options"
    k = 3

    def options(self, data, indices):
        idx = np.asarray(indices)
        n = len(idx)
        factors = _place(true_position(idx, 3), [np.full(n, 0.8), np.full(n, 1.2)], np.ones(n))
        return [{"scale_factor": f} for f in factors]


class MultiUser(OptionTask):
    name = "twotower/multi-user"
    description = "Which of 5 candidate UEs (same BS, same area) produced this CSI (chance 1/5)"
    target = "position of the true UE among five candidates"
    k = 5

    def check_data(self, data):
        super().check_data(data)
        if "bs_id" not in data.extras:
            raise TaskError("multi-user matching needs extras.bs_id (the BS of each sample; the city generator "
                            "writes it)")

    def valid(self, data) -> np.ndarray:
        """Samples whose BS has at least K samples in the data (the last BS of a generated set
        can be cut short at n): the others have no K candidates of their own BS."""
        bs = np.asarray(data.extras["bs_id"], np.int64)
        return np.bincount(bs)[bs] >= self.k

    def candidates(self, data, indices) -> np.ndarray:
        """(n, K) sample indices: the sample itself at its true position, and the next K−1
        samples of the same BS in index order (cyclically)."""
        idx = np.asarray(indices)
        bs = np.asarray(data.extras["bs_id"], np.int64)
        short = ~self.valid(data)[idx]
        if short.any():
            raise TaskError(f"{int(short.sum())} samples belong to a BS with fewer than {self.k} samples; "
                            "keep only the samples `task.valid(data)` marks")
        others = np.empty((len(idx), self.k - 1), np.int64)
        for key in np.unique(bs[idx]):
            pool = np.flatnonzero(bs == key)
            mine = np.flatnonzero(bs[idx] == key)
            at = np.searchsorted(pool, idx[mine])
            others[mine] = pool[(at[:, None] + np.arange(1, self.k)) % len(pool)]
        return np.stack(_place(true_position(idx, self.k), list(others.T), idx), axis=1)

    def zero_shot(self, model, data, indices):
        import torch

        from .data import embed_csi, embed_env

        cand = self.candidates(data, indices)
        c = embed_csi(model, data, indices)
        return torch.stack([(c * embed_env(model, data, cand[:, j])).sum(1) for j in range(self.k)], 1).numpy()


class LayoutChange(OptionTask):
    name = "twotower/layout-change"
    description = "The true map vs one with the building nearest the link moved (chance 1/2)"
    target = "position of the true map among two"
    k = 2

    def check_data(self, data):
        super().check_data(data)
        if "buildings" not in data.shared or "area_size_m" not in data.shared:
            raise TaskError("layout-change needs the city generator's shared buildings and area_size_m")

    def options(self, data, indices):
        idx = np.asarray(indices)
        true = np.asarray(data.field("env_edges", idx), np.float32)
        moved = moved_edges(data, idx)
        pos = true_position(idx, 2)
        first = np.where(pos[:, None, None] == 0, true, moved)
        second = np.where(pos[:, None, None] == 1, true, moved)
        return [{"edges": first}, {"edges": second}]


def rasterise_edges(buildings: np.ndarray, size_m: float, px: int) -> np.ndarray:
    """(px, px) edge map: pixels whose centre is inside a building and that have a free
    4-neighbour or lie on the border (the city generator's definition)."""
    c = (np.arange(px) + 0.5) * size_m / px
    b = buildings[~np.isnan(buildings).any(1)]
    x, y = c[None, :, None], c[:, None, None]
    occ = ((x > b[:, 0]) & (x < b[:, 2]) & (y > b[:, 1]) & (y < b[:, 3])).any(-1)
    pad = np.pad(occ, 1, constant_values=False)
    free_nb = ~pad[:-2, 1:-1] | ~pad[2:, 1:-1] | ~pad[1:-1, :-2] | ~pad[1:-1, 2:]
    border = np.zeros_like(occ)
    border[[0, -1], :] = border[:, [0, -1]] = True
    return (occ & (free_nb | border)).astype(np.float32)


def moved_edges(data, idx) -> np.ndarray:
    """Edge maps with the building nearest each BS-UE link midpoint moved by a fifth of the
    area side along x (to the side with more room)."""
    out = np.empty((len(idx),) + data.env_edges.shape[1:], np.float32)
    px = data.env_edges.shape[1]
    for j, i in enumerate(idx):
        area = data.scene_id[i]
        b = np.array(data.shared["buildings"][area], dtype=np.float64)
        size = float(data.shared["area_size_m"][area])
        ok = ~np.isnan(b).any(1)
        mid = (data.bs_pos[i, :2] + data.ue_pos[i, :2]) / 2
        centres = (b[:, :2] + b[:, 2:]) / 2
        dist = np.where(ok, np.linalg.norm(centres - mid, axis=1), np.inf)
        k = int(np.argmin(dist))
        shift = size / 5 * (1 if centres[k, 0] < size / 2 else -1)
        b[k, [0, 2]] = np.clip(b[k, [0, 2]] + shift, 0, size)
        out[j] = rasterise_edges(b, size, px)
    return out
