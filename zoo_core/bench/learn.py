"""Training helpers that learned strategies share: one loop, validation-based model selection.

`fit_on_task` trains any module on (inputs, targets) with the task's loss, scores the
validation split after every epoch with the task's primary metric and ends with the best
epoch's weights (never chosen on test). Regression targets are standardised with training
statistics (`TargetScaler`) so one learning rate suits metres and classes alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from zoo_core.tasks import METRICS


@dataclass
class TargetScaler:
    """Standardises regression targets with training statistics; classes pass through."""

    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    @classmethod
    def fit(cls, task, targets: np.ndarray) -> "TargetScaler":
        if task.output_kind != "values":
            return cls()
        t = np.asarray(targets, dtype=np.float64)
        return cls(t.mean(axis=0), np.maximum(t.std(axis=0), 1e-6))

    def encode(self, targets: np.ndarray) -> torch.Tensor:
        if self.mean is None:
            return torch.from_numpy(np.asarray(targets))
        return torch.from_numpy(((np.asarray(targets) - self.mean) / self.std).astype(np.float32))

    def decode(self, outputs: torch.Tensor) -> np.ndarray:
        out = outputs.detach().float().cpu().numpy()
        return out if self.mean is None else out * self.std + self.mean


def count_trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _rows(x, idx):
    return {k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]


def _length(x) -> int:
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


@torch.no_grad()
def predict_outputs(module: nn.Module, forward: Callable, x, batch_size: int = 256) -> torch.Tensor:
    """forward(module, batch_of_x) over x in batches, in eval mode; concatenated outputs."""
    was_training = module.training
    module.eval()
    n = _length(x)
    outs = [forward(module, _rows(x, slice(i, i + batch_size))) for i in range(0, n, batch_size)]
    module.train(was_training)
    return torch.cat(outs)


class _Pairs(torch.utils.data.Dataset):
    """(inputs, targets) rows. `__getitems__`, which DataLoader calls with a whole batch of
    positions, gathers each field once; `fit` passes the result through, where
    the per-sample path made `batch_size` items and stacked them again (default_collate)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return _rows(self.x, i), self.y[i]

    def __getitems__(self, positions):
        idx = np.asarray(positions, dtype=np.int64)
        return [_gather(self.x, idx), _gather(self.y, idx)]


def _gather(x, idx: np.ndarray):
    """Rows `idx` of a tensor, array or dict of them, as default_collate would give them."""
    if isinstance(x, dict):
        return {k: _gather(v, idx) for k, v in x.items()}
    if isinstance(x, torch.Tensor):
        return x[torch.from_numpy(idx)]
    return torch.as_tensor(np.asarray(x)[idx])


def _passthrough(batch):
    return batch


def _training_data(x, y):
    """(dataset, collate_fn) for `fit`: its own seeded DataLoader then draws the same batches
    as over per-sample items, and each batch is one `_Pairs.__getitems__` gather, passed through."""
    return _Pairs(x, y), _passthrough


def fit_on_task(module: nn.Module, task, x_train, y_train: np.ndarray, x_val, y_val: np.ndarray, *,
                forward: Callable | None = None, epochs: int = 20, lr: float = 1e-3, batch_size: int = 64,
                weight_decay: float = 0.0, seed: int = 0, progress: bool = True, param_groups=None,
                val_context: dict | None = None, desc: str = ""):
    """Train `module` for `task`; returns (history, scaler, forward). `forward(module, x)` gives the
    head outputs (default `module(x, task=task.name)`); the best validation epoch is kept."""
    from zoo_core.train import TrainConfig, fit

    forward = forward or (lambda m, xb: m(xb, task=task.name))
    scaler = TargetScaler.fit(task, y_train)
    y = scaler.encode(y_train)
    primary = task.primary
    higher = METRICS[primary].higher_is_better

    def loss_fn(m, batch):
        xb, yb = batch
        return task.loss(forward(m, xb), {"target": yb})

    def evaluate(m):
        pred = scaler.decode(predict_outputs(m, forward, x_val))
        return {primary: task.evaluate(pred, y_val, **(val_context or {})).metrics[primary]}

    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=weight_decay, batch_size=batch_size,
                      seed=seed, progress=progress, monitor=primary, monitor_mode="max" if higher else "min")
    data, collate = _training_data(x_train, y)
    history = fit(module, data, loss_fn, cfg, evaluate=evaluate, collate_fn=collate, param_groups=param_groups)
    return history, scaler, forward


def network_predictor(module: nn.Module, forward: Callable, scaler: TargetScaler,
                      inputs: Callable, batch_size: int = 256) -> Callable:
    """A predict function: subset -> inputs(subset) -> forward in batches -> decoded numpy."""

    def predict(subset):
        return scaler.decode(predict_outputs(module, forward, inputs(subset), batch_size))

    return predict
