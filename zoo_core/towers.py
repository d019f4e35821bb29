"""A tower: one encoder of a model, transform → backbone (→ projection to an embedding).

A model holds one or more named towers (a CSI tower, an environment tower, ...). Each
declares the batch fields it reads (`FieldSpec`: per-sample shape and dtype); a tower that
reads one field hands that tensor to its transform, one that reads several hands over a
dict of them. A field the batch lacks but that can be computed (`cir` from `csi`, see
`zoo_core.fields`) is computed. `encode` pools (and projects); `tokens` gives what token heads read.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from .config import V1_FIELD
from .errors import InputFieldError
from .fields import get_field
from .interfaces import Backbone, Transform
from .transforms import Identity


class Encoder(nn.Module):
    """transform → backbone → pooled features (→ `projection`, a bias-free linear map)."""

    def __init__(self, backbone: Backbone, transform: Transform | None = None, embed_dim: int | None = None,
                 fields: Mapping | None = None, name: str = "main"):
        super().__init__()
        self.name = name
        self.transform = transform if transform is not None else Identity()
        self.backbone = backbone
        self.projection = nn.Linear(backbone.num_features, embed_dim, bias=False) if embed_dim else None
        self.fields = dict(fields or {})

    @property
    def field_names(self) -> list[str]:
        """The batch fields this tower reads (a tower declaring none reads `input`)."""
        return list(self.fields) or [V1_FIELD]

    @property
    def num_features(self) -> int:
        """Width of the pooled features (before the projection)."""
        return self.backbone.num_features

    @property
    def embed_dim(self) -> int:
        """Width of `encode`'s output: the projection's, or the pooled features'."""
        return self.projection.out_features if self.projection is not None else self.num_features

    def select(self, batch) -> torch.Tensor | dict:
        """The transform's input: the one field's tensor, or a dict of the declared fields."""
        if not isinstance(batch, Mapping):
            return batch
        values = {}
        for name in self.field_names:  # a missing cir or power_db is computed from csi
            values[name] = get_field(batch, name, f"tower {self.name!r}")
            check_field(self.name, name, values[name])
        return next(iter(values.values())) if len(values) == 1 else values

    def tokens(self, batch, transform: bool = True) -> torch.Tensor:
        x = self.select(batch)
        return self.backbone.forward_features(self.transform(x) if transform else x)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_head(tokens, pre_logits=True)

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.projection(pooled) if self.projection is not None else pooled

    def forward(self, batch, transform: bool = True) -> torch.Tensor:
        return self.project(self.pool(self.tokens(batch, transform)))


def check_field(tower: str, name: str, value) -> None:
    """A typed, one-line error for a field that is not a tensor. Dtypes and shapes are the
    transforms' to check: many accept several layouts (complex or real pilots, (B, M, N) or
    the sample format's (B, rx, tx, subcarrier, symbol)); the declaration says what the
    contract kit feeds and what a user should pass."""
    if not torch.is_tensor(value):
        raise InputFieldError(f"field {name!r} of tower {tower!r} must be a torch tensor, got {type(value).__name__}")
