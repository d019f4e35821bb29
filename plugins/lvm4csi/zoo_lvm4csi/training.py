"""Train a head on cached features with the core's loop (Adam, lr 1e-3, batch 200 as the paper);
the losses are in `losses`."""

from __future__ import annotations

import torch

from zoo_core.train import TrainConfig, fit


def train_head(head: torch.nn.Module, features: torch.Tensor, targets: torch.Tensor, loss, epochs: int = 30,
               batch_size: int = 200, lr: float = 1e-3, seed: int = 0, progress: bool = True, evaluate=None,
               extra: tuple[torch.Tensor, ...] = ()):
    """`loss(head, features_batch, *extra_batches, targets_batch) -> scalar`; returns the core's
    History. `extra` are per-sample inputs the head reads besides the features (the power)."""
    data = torch.utils.data.TensorDataset(features, *extra, targets)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adam", seed=seed, progress=progress)
    return fit(head, data, lambda h, batch: loss(h, *batch), cfg, evaluate=evaluate)

