"""Objectives: a model paired with its loss, the unit `fit` trains (as open_clip pairs a
model with its training task).

An objective is an `nn.Module` whose forward takes a batch and returns the scalar loss, so
data parallelism wraps the pair as one module and every parameter the loss touches is in
it. Each objective carries a `DistContext` (`self.dist`, set by `fit`), so a loss can gather
features across ranks with gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .distributed import DistContext
from .errors import WzooError
from .heads import ContrastiveHead


class Objective(nn.Module):
    """Base class: `forward(batch) -> scalar loss`; `model` is what gets saved."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.dist = DistContext()

    def forward(self, batch) -> torch.Tensor:
        raise NotImplementedError

    def prepare(self) -> None:
        """Called by `fit` before the optimiser is built (e.g. to activate a task's adapters,
        which peft makes trainable only while they are active)."""

    def modules_in_use(self) -> list[nn.Module] | None:
        """The modules the loss reaches (None: all). `fit` freezes the others while it trains,
        so data parallelism does not wait for gradients that never come (the other heads)."""
        return None

    def _of_task(self, task: str) -> list[nn.Module]:
        towers = self.model.config.head(task).towers
        return [self.model.encoders[t] for t in towers] + [self.model.heads[task]]


class LossFunctionObjective(Objective):
    """Today's `fit(model, data, loss_fn)`: `loss_fn(model, batch)` as an objective."""

    def __init__(self, model: nn.Module, loss_fn: Callable[[nn.Module, Any], torch.Tensor]):
        super().__init__(model)
        self.loss_fn = loss_fn

    def forward(self, batch) -> torch.Tensor:
        return self.loss_fn(self.model, batch)


class TaskObjective(Objective):
    """A supervised task: `loss(model(batch, task=task), batch[target])` on dict batches."""

    def __init__(self, model: nn.Module, task: str, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 target: str):
        super().__init__(model)
        model._check_task(task)
        self.task, self.loss, self.target = task, loss, target

    def modules_in_use(self) -> list[nn.Module]:
        return self._of_task(self.task)

    def prepare(self) -> None:
        self.model.set_task(self.task)

    def forward(self, batch) -> torch.Tensor:
        if self.target not in batch:
            raise WzooError(f"the batch has no target field {self.target!r} (it has {sorted(batch)})")
        return self.loss(self.model(batch, task=self.task), batch[self.target])


class ContrastiveObjective(Objective):
    """Two towers paired by a contrastive head, trained by a rank-aware loss (`ClipLoss`
    by default; `SigLipLoss` with a head built with a bias): each rank scores its rows
    against every rank's embeddings."""

    def __init__(self, model: nn.Module, task: str, loss: nn.Module | None = None):
        from .losses import ClipLoss, SigLipLoss

        super().__init__(model)
        model._check_task(task)
        head = model.heads[task]
        if not isinstance(head, ContrastiveHead):
            raise WzooError(f"task {task!r} has a {type(head).__name__}; a contrastive objective needs the "
                            "`contrastive` head")
        self.loss = loss if loss is not None else ClipLoss()
        if isinstance(self.loss, SigLipLoss) and head.logit_bias is None:
            raise WzooError("a sigmoid loss needs a logit bias: add the contrastive head with bias=-10")
        self.task = task
        self.towers = model.config.head(task).towers

    def modules_in_use(self) -> list[nn.Module]:
        return self._of_task(self.task)

    def prepare(self) -> None:
        self.model.set_task(self.task)

    def embeddings(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Both towers' normalised embeddings of a batch (before any gathering), with the
        adapters of this objective's task."""
        a, b = (self.model.encode(batch, tower, task=self.task) for tower in self.towers)
        return ContrastiveHead.normalized(a, b)

    def forward(self, batch) -> torch.Tensor:
        head = self.model.heads[self.task]
        a, b = self.embeddings(batch)
        return self.loss(a, b, head.scale(), head.logit_bias, dist=self.dist)


def as_objective(model: nn.Module, loss_fn=None) -> Objective:
    if isinstance(model, Objective):
        if loss_fn is not None:
            raise WzooError("fit takes an objective, or a model and a loss function, not both")
        return model
    if loss_fn is None:
        raise WzooError("fit needs a loss: fit(objective, data) or fit(model, data, loss_fn)")
    return LossFunctionObjective(model, loss_fn)
