"""Generic task heads the core registers; plugins add their own.

- `linear`, `mlp`: one tower's pooled features → outputs (a linear probe, a tiny head);
- `contrastive`: two towers' embeddings → similarity logits, with a learnable logit scale
  (CLIP's log(1/0.07) start, clamped at log 100) and an optional bias for a sigmoid loss;
- `prototype`: zero-shot classification against class embeddings built from another tower
  (`build_prototypes`), kept as a buffer: nothing is trained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .errors import WzooError
from .interfaces import TaskHead
from .validation import Size

CLIP_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class LinearHead(TaskHead):
    """One dense layer: the linear probe of every frozen-feature method."""

    def __init__(self, in_features: Size, num_outputs: Size, task: str | None = None):
        super().__init__(task)
        self.fc = nn.Linear(in_features, num_outputs)

    def forward(self, features):
        return self.fc(features)


class MLPHead(TaskHead):
    """Dense layers with ReLU between them; `final_activation` squashes the output."""

    def __init__(
        self,
        in_features: Size,
        num_outputs: Size,
        hidden: Sequence[Size] = (128,),
        final_activation: Literal["sigmoid"] | None = None,
        task: str | None = None,
    ):
        super().__init__(task)
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, num_outputs))
        if final_activation == "sigmoid":
            layers.append(nn.Sigmoid())
        elif final_activation is not None:
            raise ValueError(f"final_activation must be None or 'sigmoid', got {final_activation!r}")
        self.net = nn.Sequential(*layers)

    def forward(self, features):
        return self.net(features)


class ContrastiveHead(TaskHead):
    """Two towers' embeddings → (B_a, B_b) similarity logits s·⟨â, b̂⟩ (+ bias).

    The logit scale is learnt in log space from log(1/0.07) and clamped at log 100 where it
    is used, as CLIP and open_clip do; `bias` (SigLIP starts it at −10) adds a learnable
    logit bias for a sigmoid loss. The losses (`zoo_core.losses`) take `normalized(a, b)`,
    `scale()` and `bias`, so features can be gathered across ranks before they are paired."""

    uses = "embedding"
    num_towers = 2

    def __init__(self, in_features: Size, init_logit_scale: float = CLIP_LOGIT_SCALE,
                 max_logit_scale: float = MAX_LOGIT_SCALE, bias: float | None = None, task: str | None = None):
        super().__init__(task)
        if not init_logit_scale <= max_logit_scale:
            raise ValueError(f"init_logit_scale {init_logit_scale} exceeds max_logit_scale {max_logit_scale}")
        self.max_logit_scale = float(max_logit_scale)
        self.logit_scale = nn.Parameter(torch.tensor(float(init_logit_scale)))
        self.logit_bias = nn.Parameter(torch.tensor(float(bias))) if bias is not None else None

    def scale(self) -> torch.Tensor:
        """exp(log-scale), clamped at exp(max_logit_scale)."""
        return self.logit_scale.clamp(max=self.max_logit_scale).exp()

    @staticmethod
    def normalized(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.normalize(a, dim=-1), F.normalize(b, dim=-1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = self.normalized(a, b)
        logits = self.scale() * a @ b.T
        return logits + self.logit_bias if self.logit_bias is not None else logits


class PrototypeHead(TaskHead):
    """Zero-shot classes: cosine similarity of a tower's embedding to `num_classes` class
    embeddings (a buffer filled by `build_prototypes` from another tower), times `scale`."""

    uses = "embedding"

    def __init__(self, in_features: Size, num_classes: Size, scale: float = 1 / 0.07, task: str | None = None):
        super().__init__(task)
        self.scale = float(scale)
        self.register_buffer("prototypes", torch.zeros(num_classes, in_features))
        self.register_buffer("built", torch.tensor(False))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if not bool(self.built):
            raise WzooError(f"the prototypes of task {self.task!r} are not built: call "
                            "zoo_core.heads.build_prototypes(model, tower, class_batch, task) first")
        return self.scale * F.normalize(features, dim=-1) @ self.prototypes.T


@torch.no_grad()
def build_prototypes(model, tower: str, class_batch: Mapping | torch.Tensor, task: str,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """Fill a prototype head's class embeddings from `tower`: one sample per class, or several
    with `labels` (their normalised embeddings are averaged per class). Returns them."""
    head = model.heads[task]
    if not isinstance(head, PrototypeHead):
        raise WzooError(f"task {task!r} has a {type(head).__name__}, not a prototype head")
    was_training = model.training
    model.eval()
    emb = model.encode(class_batch, tower, normalize=True)
    model.train(was_training)
    n_classes, width = head.prototypes.shape
    if emb.shape[1] != width:
        raise WzooError(f"tower {tower!r} embeds in {emb.shape[1]} dimensions, the head of task {task!r} in {width}")
    if labels is None:
        if emb.shape[0] != n_classes:
            raise WzooError(f"class_batch has {emb.shape[0]} samples for {n_classes} classes: pass one per class "
                            "or labels=")
        protos = emb
    else:
        labels = labels.long().to(emb.device)
        if labels.shape != (emb.shape[0],) or labels.min() < 0 or labels.max() >= n_classes:
            raise WzooError(f"labels must be ({emb.shape[0]},) class indices in [0, {n_classes})")
        protos = torch.zeros(n_classes, width, dtype=emb.dtype, device=emb.device).index_add_(0, labels, emb)
        if (torch.bincount(labels, minlength=n_classes) == 0).any():
            raise WzooError("every class needs at least one sample in class_batch")
    head.prototypes.copy_(F.normalize(protos, dim=-1))
    head.built.fill_(True)
    return head.prototypes
