"""What plugins registered: plain, torch-free records of names, metadata and factory paths."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import PluginRegistrationError, UnknownNameError

KINDS = ("backbone", "transform", "head", "model", "dataset", "recipe", "task", "strategy", "command")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_.\-]*)?$")
_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class Component:
    """A registered backbone, transform, head, dataset, recipe, task, strategy or CLI command."""

    kind: str
    name: str
    plugin: str
    factory: str | None = None
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def load(self):
        """Import the factory; only now does the plugin's heavy code get imported."""
        if self.factory is None:
            raise PluginRegistrationError(f"{self.kind} {self.name!r} has no factory")
        module_name, attr = self.factory.split(":")
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def instance(self, base: type, error: type[Exception]):
        """The factory's object (a class is instantiated with no arguments), checked to be a `base`:
        a registered task or strategy."""
        obj = self.load()
        obj = obj() if isinstance(obj, type) else obj
        if not isinstance(obj, base):
            raise error(f"{self.kind} {self.name!r} (plugin {self.plugin!r}) is not a {base.__module__}.{base.__name__}")
        return obj


@dataclass(frozen=True)
class ModelSpec:
    """A named model: which towers and heads, with which defaults, and its default Hub repo.

    Towers are `towers={name: {"backbone": ..., "backbone_args": {...}, "transform": ...,
    "transform_config": {...}, "embed_dim": None, "fields": {field: {"shape": [...],
    "dtype": ...}}}}`; a one-tower model may give the same keys directly (`backbone=...`,
    `fields=...`, `tower="csi"`). Heads are `{task: {"name": ..., "args": {...},
    "towers": [...], "uses": ...}}` in the order they should keep."""

    name: str
    plugin: str
    backbone: str | None = None
    backbone_args: dict[str, Any] = field(default_factory=dict)
    transform: str | None = None
    transform_config: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    embed_dim: int | None = None
    tower: str = "main"
    towers: dict[str, dict[str, Any]] = field(default_factory=dict)
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_task: str | None = None
    hub_repo: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    papers: tuple[str, ...] = ()
    license: str | None = None
    datasets: tuple[str, ...] = ()

    kind = "model"

    def tower_specs(self) -> dict[str, dict[str, Any]]:
        """Every tower as {backbone, backbone_args, transform, transform_config, embed_dim, fields}."""
        if self.towers:
            return {name: {"backbone_args": {}, "transform": None, "transform_config": {}, "embed_dim": None,
                           "fields": {}, **spec} for name, spec in self.towers.items()}
        return {self.tower: {"backbone": self.backbone, "backbone_args": self.backbone_args,
                             "transform": self.transform, "transform_config": self.transform_config,
                             "embed_dim": self.embed_dim, "fields": self.fields}}

    def summary(self) -> dict[str, Any]:
        towers = self.tower_specs()
        return {
            "name": self.name,
            "plugin": self.plugin,
            "backbone": self.backbone or ", ".join(f"{t}: {s['backbone']}" for t, s in towers.items()),
            "towers": {t: s["backbone"] for t, s in towers.items()},
            "tasks": list(self.heads),
            "hub_repo": self.hub_repo,
            "description": self.description,
            "tags": list(self.tags),
        }


def validate_name(kind: str, name: str, plugin: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginRegistrationError(
            f"plugin {plugin!r} registered {kind} {name!r}: names are lower-case "
            "'<plugin>/<name>' (letters, digits, '-', '_', '.')"
        )
    if kind == "model" and not name.startswith(plugin + "/"):
        raise PluginRegistrationError(
            f"plugin {plugin!r} registered model {name!r}: model names start with '{plugin}/'"
        )
    if "/" in name and name.split("/", 1)[0] != plugin:  # a prefix is owned by the plugin of that name
        raise PluginRegistrationError(
            f"plugin {plugin!r} registered {kind} {name!r}, a name owned by plugin {name.split('/', 1)[0]!r}"
        )


def validate_factory(kind: str, name: str, factory: Any) -> None:
    if not isinstance(factory, str) or not _FACTORY.match(factory):
        raise PluginRegistrationError(
            f"{kind} {name!r}: factory must be an import path 'package.module:callable', "
            f"got {factory!r}"
        )


class Registry:
    """Every registered record, by kind and name."""

    def __init__(self):
        self._items: dict[str, dict[str, Component | ModelSpec]] = {k: {} for k in KINDS}

    def add(self, item: Component | ModelSpec) -> None:
        table = self._items[item.kind]
        if item.name in table:
            other = table[item.name].plugin
            raise PluginRegistrationError(
                f"{item.kind} {item.name!r} is registered by both {other!r} and {item.plugin!r}"
            )
        table[item.name] = item

    def merge(self, other: "Registry") -> None:
        """Add everything from `other`, or nothing if any name is already taken."""
        for kind in KINDS:
            for name, item in other._items[kind].items():
                if name in self._items[kind]:
                    raise PluginRegistrationError(
                        f"{kind} {name!r} is registered by both {self._items[kind][name].plugin!r} "
                        f"and {item.plugin!r}"
                    )
        for kind in KINDS:
            self._items[kind].update(other._items[kind])

    def get(self, kind: str, name: str):
        table = self._items[kind]
        if name not in table:
            raise UnknownNameError(kind, name, table)
        return table[name]

    def names(self, kind: str) -> list[str]:
        return sorted(self._items[kind])

    def items(self, kind: str) -> list:
        return [self._items[kind][n] for n in self.names(kind)]

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, name = key
        return name in self._items[kind]
