"""`wzoo run RECIPE`: look a recipe up, call it with its options, record what it measured."""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import math
from pathlib import Path
from typing import Any

from .errors import WzooError
from .plugins import registry


def list_recipes():
    return registry().items("recipe")


def parse_options(pairs: list[str] | None, flag: str = "--set") -> dict[str, Any]:
    """['epochs=3', 'b=[8,4]', 'name=x'] → {'epochs': 3, 'b': [8, 4], 'name': 'x'}: values are
    JSON where they parse, text otherwise; '-' in a key becomes '_'. Used by every CLI flag
    that takes KEY=VALUE options."""
    options = {}
    for raw in pairs or []:
        key, sep, value = raw.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise WzooError(f"{flag} {raw!r}: expected KEY=VALUE with KEY a Python identifier")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
        if _non_finite(options[key]):
            raise WzooError(f"{flag} {raw!r}: NaN and infinity are not values an option can take")
    return options


def _non_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):  # "nan" is no JSON, but float("nan") downstream would take it
        return value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity")
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


def seed_everything(seed) -> None:
    """Seed Python, numpy and torch before a recipe builds anything, so two runs with the same
    seed give the same numbers (a model built before seeding got a different init each run)."""
    import random

    import numpy as np
    import torch

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise WzooError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


#: registration metadata that describes a recipe rather than setting one of its options
NOT_OPTIONS = ("cpu_time",)


def recipe_options(name: str) -> list[tuple[str, Any, str]]:
    """(option, default, annotation) of a recipe: its signature, with registered defaults applied."""
    entry = registry().get("recipe", name)
    func = entry.load()
    registered = {k: v for k, v in entry.metadata.items() if k not in NOT_OPTIONS}
    rows = []
    for p in inspect.signature(func).parameters.values():
        if p.name == "out_dir" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = registered.get(p.name, None if p.default is p.empty else p.default)
        annotation = "" if p.annotation is p.empty else getattr(p.annotation, "__name__", str(p.annotation))
        rows.append((p.name, default, annotation))
    return rows


def recipe_help(name: str) -> str:
    entry = registry().get("recipe", name)
    func = entry.load()
    lines = [f"wzoo run {name} [--out DIR] [--set KEY=VALUE ...] [--overwrite]", "", entry.description]
    doc = inspect.getdoc(func)
    if doc:
        lines += ["", doc]
    if entry.metadata.get("cpu_time"):
        lines += ["", f"expected CPU time: {entry.metadata['cpu_time']}"]
    lines += ["", "options (--set KEY=VALUE):"]
    width = max([len(n) for n, _, _ in recipe_options(name)] + [4])
    for option, default, annotation in recipe_options(name):
        lines.append(f"  {option:<{width}}  default {json.dumps(default, default=str)}"
                     + (f"  ({annotation})" if annotation else ""))
    return "\n".join(lines)


def check_out_dir(out_dir: Path, name: str, options: dict[str, Any], overwrite: bool) -> None:
    """--out must be empty, or an earlier run of the same recipe with the same options."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise WzooError(f"--out {out_dir} is a file: pass an --out folder")
    if not any(out_dir.iterdir()) or overwrite:
        return
    try:
        previous = json.loads((out_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        previous = None
    same = previous is not None and previous.get("recipe") == name and previous.get("options") == json.loads(
        json.dumps(options, default=str))
    if not same:
        what = f"a run of {previous.get('recipe')!r} with other options" if previous else "files of something else"
        raise WzooError(f"--out {out_dir} holds {what}: pick an empty folder, or pass --overwrite")


def run_recipe(name: str, out_dir: str | Path, options: dict[str, Any] | None = None,
               overwrite: bool = False) -> dict[str, Any]:
    """Run a registered recipe into out_dir and write out_dir/metrics.json, with every option it
    ran with (the defaults included)."""
    from .serialization import write_json

    entry = registry().get("recipe", name)
    func = entry.load()
    opts = {**{k: v for k, v in entry.metadata.items() if k not in NOT_OPTIONS}, **(options or {})}
    params = inspect.signature(func).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(opts) - set(params))
        if unknown:
            known = ", ".join(p for p in params if p != "out_dir")
            raise WzooError(f"recipe {name!r} has no option(s) {', '.join(unknown)}; options: {known}")
    from .validation import validate_arguments

    opts = validate_arguments(func, opts, f"recipe {name!r}", injected=("out_dir",))  # types, ranges
    opts = {**{o: d for o, d, _ in recipe_options(name)}, **opts}  # record the defaults it ran with too
    out_dir = Path(out_dir)
    check_out_dir(out_dir, name, opts, overwrite)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WzooError(f"cannot write results to {out_dir} ({exc.strerror or type(exc).__name__}): "
                        "pass an --out folder you can write") from None
    seed_everything(opts.get("seed", 0))
    metrics = func(out_dir=out_dir, **opts)
    if not isinstance(metrics, dict):
        raise WzooError(f"recipe {name!r} returned {type(metrics).__name__}, not a dict of metrics")
    record = {
        "recipe": name,
        "options": opts,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "metrics": metrics,
    }
    write_json(out_dir / "metrics.json", record)
    return metrics
