"""Generic task heads the core registers (`linear`, `mlp`); plugins add their own."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from .interfaces import TaskHead


class LinearHead(TaskHead):
    """One dense layer: the linear probe of every frozen-feature method."""

    def __init__(self, in_features: int, num_outputs: int, task: str | None = None):
        super().__init__(task)
        self.fc = nn.Linear(in_features, num_outputs)

    def forward(self, features):
        return self.fc(features)


class MLPHead(TaskHead):
    """Dense layers with ReLU between them; `final_activation` squashes the output."""

    def __init__(
        self,
        in_features: int,
        num_outputs: int,
        hidden: Sequence[int] = (128,),
        final_activation: str | None = None,
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
