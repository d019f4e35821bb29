"""The small trainable parts of LVM4CSI (Figs. 6 and 7); the paper's benchmark networks are
backbones, in `towers.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import torch
from torch import nn

from zoo_core.heads import LinearHead
from zoo_core.interfaces import TaskHead
from zoo_core.validation import Range, Size

from .errors import TransformInputError


class DenseSoftmaxHead(LinearHead):
    """HAR: the core's one-dense-layer `LinearHead`, K·C + C parameters, with the class count
    named `num_classes`. Returns logits; `predict_proba` applies the softmax (cross-entropy
    applies it inside the loss, as Keras' softmax + CE does)."""

    def __init__(self, in_features: Size, num_classes: Size = 7, task: str | None = None):
        super().__init__(in_features, num_classes, task)

    def predict_proba(self, features):
        return self.forward(features).softmax(-1)


class LocalizationHead(TaskHead):
    """Localization (Fig. 7): power → dense 1→8, concat with the K features, dense 32-16-2
    (ReLU, ReLU, sigmoid). The sigmoid output is in [0, 1] and is mapped back to metres with
    `bounds` = [[x_min, y_min], [x_max, y_max]], so forward returns metres. 33,634 trainable
    parameters for K = 1024.

    The channel power p is the batch field `power_db` (computed from `csi` when absent),
    standardised as (p − power_offset_db) / power_scale_db. `power="column"` is the format-1
    layout, kept so saved models load unchanged: the input is (B, K + 1), the last column
    being the standardised power that `FrozenLVM(power_input=True)` appended."""

    def __init__(self, in_features: Size, hidden: Sequence[Size] = (32, 16), power_width: Size = 8,
                 bounds: Sequence[Sequence[float]] = ((0.0, 0.0), (1.0, 1.0)),
                 power: Literal["column", "field"] = "column", power_offset_db: float = 0.0,
                 power_scale_db: Annotated[float, Range(1e-6, None)] = 10.0, task: str | None = None):
        super().__init__(task)
        self.power_mode = power
        self.fields = ("power_db",) if power == "field" else ()
        self.power_offset_db, self.power_scale_db = float(power_offset_db), float(power_scale_db)
        k = in_features - 1 if power == "column" else in_features
        if k < 1:
            raise ValueError("localization head needs features plus one power column")
        self.power = nn.Sequential(nn.Linear(1, power_width), nn.ReLU())
        layers, width = [], k + power_width
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers += [nn.Linear(width, 2), nn.Sigmoid()]
        self.mlp = nn.Sequential(*layers)
        # checked on Python floats: the head may be built on the meta device, where tensors hold no values
        if len(bounds) != 2 or any(len(b) != 2 for b in bounds) or not all(h > l for l, h in zip(*bounds)):
            raise ValueError("bounds must be [[x_min, y_min], [x_max, y_max]] with max > min")
        lo, hi = torch.tensor(bounds[0], dtype=torch.float32), torch.tensor(bounds[1], dtype=torch.float32)
        self.register_buffer("lo", lo)
        self.register_buffer("span", hi - lo)

    def split(self, features, power_db=None):
        """(features, standardised power column) in either layout."""
        if self.power_mode == "column":
            return features[:, :-1], features[:, -1:]
        if power_db is None:
            raise TransformInputError("the localization head reads the batch field 'power_db' (or 'csi')")
        p = (power_db.reshape(-1, 1).to(features.dtype) - self.power_offset_db) / self.power_scale_db
        return features, p

    def forward_unit(self, features, power_db=None):
        """Position scaled to [0, 1] (what the MSE loss is computed on)."""
        feats, power = self.split(features, power_db)
        return self.mlp(torch.cat([feats, self.power(power)], dim=1))

    def forward(self, features, power_db=None):
        return self.lo + self.span * self.forward_unit(features, power_db)

    def to_unit(self, metres):
        return (metres[..., :2] - self.lo) / self.span

