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


def run_recipe(name: str, out_dir: str | Path, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a registered recipe into out_dir and write out_dir/metrics.json."""
    from .serialization import write_json

    entry = registry().get("recipe", name)
    func = entry.load()
    opts = {**entry.metadata, **(options or {})}
    params = inspect.signature(func).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(opts) - set(params))
        if unknown:
            known = ", ".join(p for p in params if p != "out_dir")
            raise WzooError(f"recipe {name!r} has no option(s) {', '.join(unknown)}; options: {known}")
    from .validation import validate_arguments

    opts = validate_arguments(func, opts, f"recipe {name!r}", injected=("out_dir",))  # types, ranges
    out_dir = Path(out_dir)
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
