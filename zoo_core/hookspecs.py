"""The hooks a wzoo plugin may implement.

Every hook receives a `register` callback (the pattern of `llm`): the plugin declares
names, metadata and the *import path* of each factory, so registration never imports
torch and `wzoo list` stays fast. Factories are imported only when something is built.

A plugin module looks like::

    from zoo_core import hookimpl

    @hookimpl
    def register_models(register):
        register("example/tiny", backbone="example/mlp", backbone_args={"width": 32})
"""

from __future__ import annotations

import pluggy

PROJECT = "wzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_backbones(register):
    """register(name, factory="pkg.module:callable", description="", **metadata).

    The factory returns a `zoo_core.Backbone`; its keyword arguments are the model args."""


@hookspec
def register_transforms(register):
    """register(name, factory="pkg.module:Class", description="", **metadata).

    The class is a `zoo_core.Transform`; it is rebuilt from its JSON config."""


@hookspec
def register_heads(register):
    """register(name, factory="pkg.module:callable", description="", **metadata).

    The factory is called as factory(in_features, **args) and returns a `zoo_core.TaskHead`;
    its class attributes `uses`, `num_towers` and `fields` say what it reads."""


@hookspec
def register_models(register):
    """register(name, backbone=..., backbone_args={}, transform=None, transform_config={},
    tower="main", fields={field: {"shape": [...], "dtype": ...}}, embed_dim=None,
    heads={task: {"name": head, "args": {...}, "towers": [...]}}, default_task=None,
    hub_repo=None, description="", tags=(), papers=(), license=None, datasets=()).

    Several towers: `towers={name: {"backbone": ..., "backbone_args": {...}, "transform": ...,
    "transform_config": {...}, "embed_dim": ..., "fields": {...}}}` instead of the one-tower
    keys. A named model is a recipe for `create_model`: which registered components, with
    which default arguments, and where its pretrained weights live on the Hub."""


@hookspec
def register_datasets(register):
    """register(name, factory="pkg.module:callable", description="", kind="generator", **metadata).

    Generators (`kind="generator"`: factory(n, seed=0, progress=False, **params) returns a
    `WirelessData`; `wzoo data make NAME`) and loaders (`kind="loader"`: factory(path,
    **options); `wzoo data convert NAME SRC`). Everything that takes `--data` takes both."""


@hookspec
def register_recipes(register):
    """register(name, factory="pkg.module:callable", description="", **defaults).

    `wzoo run NAME --out DIR` calls factory(out_dir=Path, **options) and expects a dict of
    metrics back; the recipe writes its plots and model folder under out_dir."""


@hookspec
def register_tasks(register):
    """register(name, factory="pkg.module:TaskClass", description="").

    A `zoo_core.tasks.Task` subclass: input fields, target, output spec, loss, metrics from
    the one vocabulary (`zoo_core.tasks.METRICS`) and its plot. The core registers the shared
    tasks (channel-estimation, positioning, los, beam, ...); a plugin adds `<plugin>/<task>`."""


@hookspec
def register_strategies(register):
    """register(name, factory="pkg.module:Strategy", description="", **metadata).

    An adaptation strategy for `wzoo bench`: a `zoo_core.bench.Strategy` subclass whose
    `adapt(...)` returns a predictor. Plugins register `<plugin>/<name>` (`wavesfm/lora`);
    the core registers `scratch` and the non-learned baselines (`ls`, `majority`, ...)."""


@hookspec
def register_commands(register):
    """register(name, factory="pkg.module:callable", help="").

    The factory is called with an argparse sub-parser to fill in and must set
    `func` (callable(args) -> int exit code) through `parser.set_defaults`. Its module
    is imported when the CLI starts, so it must not import torch at module level."""
