"""Build models from registered names: `create_model` and the config → model path.

A config names registered components only; nothing in a config is ever imported by
path, so a config from the Hub cannot make wzoo run code a plugin did not register.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from .errors import ConfigError, PluginNotInstalledError, UnknownNameError, WzooError
from .plugins import distribution_of, registry, state

FORMAT = "wzoo"
FORMAT_VERSION = 1


def model_config(name: str, **overrides: Any) -> dict[str, Any]:
    """The config of a registered model with overrides applied (no torch needed).

    Keyword overrides change backbone arguments; `heads=`, `transform=` (a registered
    transform name) and `transform_config=` replace those parts whole.
    """
    spec = registry().get("model", name)
    heads = overrides.pop("heads", None)
    transform = overrides.pop("transform", spec.transform)
    transform_config = overrides.pop("transform_config", None)
    if transform != spec.transform and transform_config is None:
        transform_config = {}
    plugin = spec.plugin
    info = state().plugins.get(plugin)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_name": spec.name,
        "plugin": plugin,
        "distribution": distribution_of(plugin),
        "plugin_version": info.version if info else None,
        "backbone": {"name": spec.backbone, "args": {**spec.backbone_args, **overrides}},
        "transform": (
            {"name": transform, "config": dict(spec.transform_config if transform_config is None else transform_config)}
            if transform else None
        ),
        "heads": copy.deepcopy(heads if heads is not None else spec.heads),
        "adapters": {},
        "sample_input": dict(spec.sample_input),
        "card": {
            "description": spec.description,
            "tags": list(spec.tags),
            "papers": list(spec.papers),
            "license": spec.license,
            "datasets": list(spec.datasets),
        },
    }


def create_model(name: str, **overrides: Any):
    """Build a registered model with random weights (as `timm.create_model`)."""
    return build_model(model_config(name, **overrides))


def build_model(config: dict[str, Any]):
    """Rebuild a ZooModel from a config (registered names and JSON arguments only)."""
    from .model import ZooModel

    config = copy.deepcopy(config)
    needed_by = f"model {config.get('model_name', '?')!r}"
    backbone_cfg = _section(config, "backbone")
    backbone_factory = _component("backbone", backbone_cfg["name"], config, needed_by)
    backbone = _call(backbone_factory, backbone_cfg.get("args", {}), f"backbone {backbone_cfg['name']!r}")
    transform = None
    if config.get("transform"):
        t = config["transform"]
        cls = _component("transform", t["name"], config, needed_by)
        transform = _call(cls.from_config, {"config": t.get("config", {})}, f"transform {t['name']!r}")
    heads = {}
    for task, head_cfg in (config.get("heads") or {}).items():
        heads[task] = build_head(head_cfg["name"], backbone.num_features, task, head_cfg.get("args", {}), config)
    config["adapters"] = {}  # adapters are added back by whoever loads their weights
    return ZooModel(backbone, transform, heads, config)


def build_head(name: str, in_features: int, task: str, args: dict, config: dict | None = None):
    factory = _component("head", name, config or {}, f"head of task {task!r}")
    head = _call(factory, {"in_features": in_features, **args}, f"head {name!r}")
    if getattr(head, "task", None) is None:
        head.task = task
    return head


def _section(config: dict, key: str) -> dict:
    value = config.get(key)
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ConfigError(f"config.json: {key!r} must be an object with a registered 'name'")
    return value


def _component(kind: str, name: str, config: dict, needed_by: str):
    try:
        entry = registry().get(kind, name)
    except UnknownNameError:
        plugin = name.split("/", 1)[0] if "/" in name else config.get("plugin")
        if plugin and plugin not in state().plugins:
            dist = config.get("distribution") if plugin == config.get("plugin") else None
            raise PluginNotInstalledError(f"{needed_by} ({kind} {name!r})", dist or distribution_of(plugin)) from None
        raise
    return entry.load()


def _call(factory, kwargs: dict, what: str):
    """Call a factory, turning wrong arguments into an error that lists the accepted ones."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return factory(**kwargs)
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        accepted = ", ".join(p for p in signature.parameters if p != "self")
        raise WzooError(f"{what}: {exc} (accepted arguments: {accepted})") from None
    return factory(**kwargs)
