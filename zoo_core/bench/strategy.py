"""Adaptation strategies: how a method turns a model (or nothing) and training data into a predictor.

A plugin registers strategies (`register_strategies`), each a `Strategy` subclass:

    class LoRA(Strategy):
        models = ("wavesfm/vit-tiny-p8-32",)      # what a bench runs it on by default
        tasks = ("los", "beam", "positioning")
        def adapt(self, model, task, train, val, *, seed, progress, **options) -> Predictor: ...

`model` is a `ModelRef` (a registered name, optionally a folder to start from); `train` and
`val` are `Subset`s of the benchmark data. The predictor's `predict(subset)` returns the
task's prediction format (see `zoo_core.tasks`). Baselines are strategies with
`baseline = True` and no model. The core's `scratch` runs a model's plugin strategy that
trains every weight (`full = True`) from random weights: the same network, no pre-training.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from zoo_core.errors import WzooError


class StrategyError(WzooError, ValueError):
    """A strategy that cannot run on this model, task or data (says why)."""


@dataclass(frozen=True)
class ModelRef:
    """A model a strategy adapts: a registered name, and optionally a folder or Hub reference to
    start from (`--from`); `pretrained=False` asks for random weights (the `scratch` run)."""

    name: str
    start: str | None = None
    pretrained: bool = True

    def create(self, **overrides):
        """The model: from `start` when given (its saved weights), else the registered recipe."""
        import zoo_core

        if not self.pretrained or self.start is None:
            return zoo_core.create_model(self.name, **overrides)
        return zoo_core.from_pretrained(self.start)


@dataclass
class Subset:
    """The benchmark data at some indices, as a task sees it."""

    data: Any
    indices: np.ndarray
    task: Any

    def __len__(self) -> int:
        return len(self.indices)

    @cached_property
    def targets(self) -> np.ndarray:
        return self.task.targets(self.data, self.indices)

    def field(self, name: str) -> np.ndarray:
        return self.data.field(name, self.indices)

    def has(self, name: str) -> bool:
        return name in self.data.field_names()

    @property
    def csi(self) -> np.ndarray:
        return self.data.csi[self.indices]

    def context(self) -> dict[str, Any]:
        """What the task's scoring reads besides predictions (SNR per sample, class names)."""
        out: dict[str, Any] = {}
        if "snr_db" in self.data.extras:
            out["snr_db"] = self.data.extras["snr_db"][self.indices]
        if hasattr(self.task, "class_names"):
            out["class_names"] = list(self.task.class_names(self.data))
        return out


@dataclass
class Predictor:
    """What `adapt` returns. `predict(subset)` gives the task's predictions; the rest is what the
    leaderboard shows: trainable parameters, the input the method saw, where its weights came
    from (per tower), whether a frozen part has random weights, and the validation history."""

    predict_fn: Any
    trainable_parameters: int = 0
    input: str = ""
    weights: dict[str, str] = field(default_factory=dict)
    frozen_random: bool = False
    history: list[dict] = field(default_factory=list)
    model: Any = None  # the adapted ZooModel, when there is one (saved with --save-models)

    def predict(self, subset: Subset) -> np.ndarray:
        return self.predict_fn(subset)


class Strategy:
    """Base of registered strategies. `name` is filled from the registration."""

    name: str = ""
    description: ClassVar[str] = ""
    baseline: ClassVar[bool] = False
    full: ClassVar[bool] = False          # trains every weight: the core's `scratch` may reuse it
    pretrained: ClassVar[bool] = True     # starts from pre-trained weights (else scratch is redundant)
    models: ClassVar[tuple[str, ...]] = ()  # the models a bench runs it on by default
    accepts: ClassVar[tuple[str, ...]] = ()  # model name patterns it can run (default: `models`)
    tasks: ClassVar[tuple[str, ...]] = ()   # tasks it supports (empty: any)
    defaults: ClassVar[dict[str, Any]] = {}  # options and their defaults (epochs, lr, ...)
    cpu_time: ClassVar[str] = ""  # what a run costs on a 2-core CPU, for `wzoo bench --list`

    def supports(self, task, data) -> str | None:
        """None when the strategy can run the task on this data, else the reason it cannot."""
        if self.tasks and task.name not in self.tasks:
            return f"does not do {task.name} (does: {', '.join(self.tasks)})"
        return None

    def applies_to(self, model_name: str) -> bool:
        return any(fnmatch.fnmatchcase(model_name, p) for p in self.accepts or self.models)

    def adapt(self, model: ModelRef | None, task, train: Subset, val: Subset, *, seed: int = 0,
              progress: bool = True, **options) -> Predictor:
        raise NotImplementedError

    def options(self, given: dict[str, Any]) -> dict[str, Any]:
        """The defaults with `given` applied; unknown names are refused with the known ones."""
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            known = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items()) or "none"
            raise StrategyError(f"strategy {self.name!r} has no option {', '.join(unknown)} (options: {known})")
        return {**self.defaults, **given}


def get_strategy(name: str) -> Strategy:
    from zoo_core.plugins import registry

    record = registry().get("strategy", name)
    strategy = record.instance(Strategy, StrategyError)
    strategy.name = name
    strategy.description = strategy.description or record.description
    return strategy


def all_strategies(failed: list[dict] | None = None) -> list[Strategy]:
    """Every registered strategy that loads. One that fails to import is left out (and listed in
    `failed` with the reason) so one broken plugin never stops a bench; WZOO_STRICT_PLUGINS=1
    makes it an error."""
    from zoo_core.plugins import _strict, registry

    out = []
    for name in registry().names("strategy"):
        try:
            out.append(get_strategy(name))
        except Exception as exc:  # an import error inside a plugin's strategy module
            if _strict() or isinstance(exc, StrategyError):
                raise
            if failed is not None:
                failed.append({"strategy": name, "model": None,
                               "reason": f"failed to load: {type(exc).__name__}: {exc}"})
    return out


def short_name(name: str) -> str:
    return name.split("/", 1)[-1]


class Scratch(Strategy):
    """The model's own full-training strategy, started from random weights."""

    description = "The same network trained from random weights"

    def full_strategy(self, model_name: str) -> Strategy | None:
        for s in all_strategies():
            if s.full and s.pretrained and not s.baseline and s.applies_to(model_name):
                return s
        return None

    def supports(self, task, data) -> str | None:
        return None

    def adapt(self, model, task, train, val, *, seed=0, progress=True, **options):
        inner = self.full_strategy(model.name)
        if inner is None:
            raise StrategyError(f"no strategy trains every weight of {model.name}, so it has no scratch run")
        return inner.adapt(ModelRef(model.name, None, pretrained=False), task, train, val, seed=seed,
                           progress=progress, **options)
