"""The three component interfaces a plugin implements: Backbone, Transform, TaskHead.

A tower (`zoo_core.towers.Encoder`) is a Transform and a Backbone; heads read towers.

They follow timm's feature API where it fits, so code written for timm models reads the
same here: `forward_features` gives tokens or maps, `forward_head(x, pre_logits=True)`
pools them to `num_features`.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import nn


class Backbone(nn.Module):
    """Maps a model-ready tensor to features; shared by every task of a ZooModel.

    Subclasses set `num_features` and implement `forward_features`; override
    `forward_head` when pooling is not a mean over all but the batch axis.
    """

    num_features: int = 0

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool to (batch, num_features): tokens (B, T, D) over T, maps (B, C, H, W) over H, W.

        A backbone has no classifier of its own, so `pre_logits` changes nothing here."""
        if x.ndim == 3:
            return x.mean(1)
        if x.ndim == 4:
            return x.mean((2, 3))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x), pre_logits=True)


class Transform(nn.Module):
    """Raw sample → model-ready tensor, batched, with a JSON config saved with the weights.

    Everything a transform needs to be rebuilt (including dataset statistics) lives in
    `self.config`, a dict of JSON types; `from_config(cfg)` rebuilds it exactly.
    """

    def __init__(self, **config: Any):
        super().__init__()
        json.dumps(config)  # fail early, not at save time
        self.config = dict(config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Transform":
        return cls(**config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def keeps(self, shape: tuple[int, ...]) -> str:
        """What the output keeps of an input of per-sample `shape`: "magnitude only", "phase",
        a resampled size... Leaderboards show it, so no resampling or dropped phase is silent."""
        return ""


class TaskHead(nn.Module):
    """Turns tower outputs into one task's output, and declares what it reads.

    - `uses`: "pooled" (the tower's pooled features, (B, num_features)), "embedding" (the
      tower's projection, (B, embed_dim); the pooled features where it has none) or "tokens"
      (the raw output of `forward_features`, e.g. for a reconstruction head).
    - `num_towers`: how many towers it reads; the model passes their outputs in the order of
      the head's `towers` (a contrastive head reads two).
    - `fields`: batch fields it reads besides the towers' outputs (e.g. `power_db`), passed
      to `forward` as keyword arguments.

    `task` names the task vocabulary entry (positioning, los, beam, ...).
    """

    uses: str = "pooled"
    num_towers: int = 1
    fields: tuple[str, ...] = ()

    def __init__(self, task: str | None = None):
        super().__init__()
        self.task = task
