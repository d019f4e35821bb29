"""Plugin discovery: entry points of group `wzoo`, loaded once and lazily, each isolated.

A plugin that fails to import or to register is recorded with its error and left out;
the others work. `WZOO_STRICT_PLUGINS=1` turns such a failure into a `PluginLoadError`.
`WZOO_PLUGINS=a,b` loads only the named plugins; `WZOO_DISABLE_PLUGINS=c` skips some.
"""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass
from importlib import metadata

import pluggy

from . import hookspecs
from .config import V1_FIELD
from .errors import PluginDisabledError, PluginLoadError, PluginRegistrationError, UnknownNameError
from .registry import Component, ModelSpec, Registry, validate_factory, validate_name

GROUP = "wzoo"
CORE = "core"

_HOOKS = {
    "backbone": "register_backbones",
    "transform": "register_transforms",
    "head": "register_heads",
    "model": "register_models",
    "dataset": "register_datasets",
    "recipe": "register_recipes",
    "task": "register_tasks",
    "strategy": "register_strategies",
    "command": "register_commands",
}


@dataclass
class PluginInfo:
    """One discovered plugin, loaded or not, as `wzoo plugins` shows it."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    status: str = "loaded"  # loaded | failed | disabled
    error: str | None = None
    traceback: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "traceback"}


@dataclass
class _State:
    registry: Registry
    plugins: dict[str, PluginInfo]
    distributions: dict[str, str]  # plugin name -> distribution


_state: _State | None = None
_lock = threading.Lock()


def _env_list(var: str) -> set[str] | None:
    raw = os.environ.get(var, "").strip()
    return {p.strip() for p in raw.split(",") if p.strip()} if raw else None


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def _strict() -> bool:
    raw = os.environ.get("WZOO_STRICT_PLUGINS", "").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise PluginLoadError(f"WZOO_STRICT_PLUGINS={raw!r} is not a yes/no value: set it to 1 or 0")
    return raw in _TRUE


def disabled_by(plugin: str) -> str | None:
    """The variable that switched an installed plugin off, if one did."""
    info = state().plugins.get(plugin)
    if info is None or info.status != "disabled":
        return None
    return "WZOO_DISABLE_PLUGINS" if plugin in (_env_list("WZOO_DISABLE_PLUGINS") or set()) else "WZOO_PLUGINS"


def _make_register(kind: str, plugin: str, staging: Registry):
    def register(name, factory=None, description="", **metadata):
        validate_name(kind, name, plugin)
        if kind == "model":
            if factory is not None:
                raise PluginRegistrationError(f"model {name!r}: pass backbone=..., not a factory")
            staging.add(_model_spec(name, plugin, description, metadata))
            return
        validate_factory(kind, name, factory)
        staging.add(Component(kind, name, plugin, factory, description, dict(metadata)))

    return register


def _model_spec(name: str, plugin: str, description: str, kw: dict) -> ModelSpec:
    if "sample_input" in kw:  # format 1 registrations: one tensor input, now a declared field
        sample = kw.pop("sample_input") or {}
        if "shape" in sample and "fields" not in kw:
            kw["fields"] = {V1_FIELD: {"shape": list(sample["shape"][1:]), "dtype": sample.get("dtype", "float32")}}
    if ("backbone" in kw) == ("towers" in kw):
        raise PluginRegistrationError(f"model {name!r} must name a registered backbone= or towers={{...}}, not both")
    for tower, spec in (kw.get("towers") or {}).items():
        if not isinstance(spec, dict) or "backbone" not in spec:
            raise PluginRegistrationError(f"model {name!r}: tower {tower!r} must name a registered backbone")
    for key in ("tags", "papers", "datasets"):
        if key in kw:
            kw[key] = tuple(kw[key])
    try:
        return ModelSpec(name=name, plugin=plugin, description=description, **kw)
    except TypeError as exc:
        raise PluginRegistrationError(f"model {name!r}: {exc}") from None


def _register_plugin(pm: pluggy.PluginManager, module, plugin: str) -> Registry:
    """Call this plugin's hooks only, into a staging registry committed as a whole."""
    staging = Registry()
    for kind, hook_name in _HOOKS.items():
        impl = getattr(module, hook_name, None)
        if impl is None:
            continue
        getattr(pm.hook, hook_name)  # validates the hookimpl against the spec on register
        impl(register=_make_register(kind, plugin, staging))
    return staging


def _discover() -> _State:
    from . import builtins as core_builtins

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    plugins: dict[str, PluginInfo] = {}
    distributions: dict[str, str] = {CORE: "wzoo"}

    core_version = _dist_version("wzoo")
    pm.register(core_builtins, name=CORE)
    registry.merge(_register_plugin(pm, core_builtins, CORE))
    plugins[CORE] = PluginInfo(CORE, "wzoo", core_version, core_builtins.__name__)

    strict = _strict()
    allow, block = _env_list("WZOO_PLUGINS"), _env_list("WZOO_DISABLE_PLUGINS") or set()
    found = sorted(entry_points(), key=lambda e: e.name)
    for var, names in (("WZOO_PLUGINS", allow or set()), ("WZOO_DISABLE_PLUGINS", block)):
        unknown = sorted(names - {ep.name for ep in found})
        if unknown:
            raise PluginLoadError(f"{var} names {', '.join(unknown)}, which no installed plugin is called "
                                  f"(installed: {', '.join(ep.name for ep in found) or 'none'})")
    for ep in found:
        dist = ep.dist.name if ep.dist is not None else None
        info = PluginInfo(ep.name, dist, ep.dist.version if ep.dist else None, ep.value)
        key = ep.name
        if ep.name in plugins:  # never replaces the core's or another plugin's record
            info.status, info.error = "failed", f"duplicate plugin name {ep.name!r}"
            key = f"{ep.name} ({dist or ep.value})"
        elif (allow is not None and ep.name not in allow) or ep.name in block:
            info.status = "disabled"
        else:
            if dist:
                distributions[ep.name] = dist
            try:
                module = ep.load()
                pm.register(module, name=ep.name)
                registry.merge(_register_plugin(pm, module, ep.name))
            except BaseException as exc:  # isolate anything, sys.exit() included, but a Ctrl-C
                if isinstance(exc, KeyboardInterrupt):
                    raise
                info.status, info.error = "failed", f"{type(exc).__name__}: {exc}"
                info.traceback = traceback.format_exc()
                if pm.get_plugin(ep.name) is not None:
                    pm.unregister(name=ep.name)
        plugins[key] = info
        if info.status == "failed" and strict:
            raise PluginLoadError(
                f"plugin {ep.name!r} ({dist or ep.value}) failed to load: {info.error} "
                "(WZOO_STRICT_PLUGINS=1 is set)"
            )
    return _State(registry, plugins, distributions)


def entry_points() -> list[metadata.EntryPoint]:
    """The installed entry points of group `wzoo` (tests replace this function)."""
    return list(metadata.entry_points(group=GROUP))


def _dist_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def state() -> _State:
    """Discover plugins on first use; later calls return the same result."""
    global _state
    if _state is None:
        with _lock:
            if _state is None:
                _state = _discover()
    return _state


def reset() -> None:
    """Forget what was discovered (tests, or after installing a plugin in-process)."""
    global _state
    with _lock:
        _state = None


def registry() -> Registry:
    return state().registry


def lookup(kind: str, name: str):
    """`registry().get`, saying so when the name's plugin is installed but switched off."""
    try:
        return registry().get(kind, name)
    except UnknownNameError:
        plugin = name.split("/", 1)[0] if "/" in name else None
        var = disabled_by(plugin) if plugin else None
        if var:
            raise PluginDisabledError(f"{kind} {name!r} belongs to plugin {plugin!r}, which {var} switches off; "
                                      f"change {var} to use it") from None
        raise


def list_plugins() -> list[PluginInfo]:
    return list(state().plugins.values())


def distribution_of(plugin: str) -> str | None:
    """The pip distribution that provides a plugin, guessed by convention if unknown."""
    return state().distributions.get(plugin) or f"wzoo-{plugin}"
