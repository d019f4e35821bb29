"""Module attributes imported on first use, so importing a package stays cheap (no torch, no h5py)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_attributes(module: str, table: Mapping[str, str], namespace: dict) -> Callable[[str], object]:
    """A module `__getattr__` that imports `table[name]` (a module path) and caches the attribute."""

    def __getattr__(name: str):
        source = table.get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    return __getattr__
