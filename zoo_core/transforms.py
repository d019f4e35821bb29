"""Generic transforms the core registers (`identity`, `standardize`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .interfaces import Transform


class Identity(Transform):
    """For backbones that take the raw tensor as it is."""

    def forward(self, x):
        return x


class Standardize(Transform):
    """(x - mean) / std per channel (axis 1), statistics kept in the JSON config.

    `Standardize.fit(x)` computes the statistics from a tensor of samples, so they
    travel with the weights instead of living in a user's notebook.
    """

    def __init__(self, mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,)):
        if len(mean) != len(std) or min(std) <= 0:
            raise ValueError("standardize: mean and std need equal lengths and std > 0")
        super().__init__(mean=[float(m) for m in mean], std=[float(s) for s in std])

    @classmethod
    def fit(cls, samples: torch.Tensor, eps: float = 1e-8) -> "Standardize":
        dims = [d for d in range(samples.ndim) if d != 1]
        return cls(samples.mean(dims).tolist(), (samples.std(dims) + eps).tolist())

    def forward(self, x):
        shape = [1, -1] + [1] * (x.ndim - 2)
        mean = torch.tensor(self.config["mean"], dtype=x.dtype, device=x.device).view(shape)
        std = torch.tensor(self.config["std"], dtype=x.dtype, device=x.device).view(shape)
        return (x - mean) / std
