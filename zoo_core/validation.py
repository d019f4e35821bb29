"""Check a config's component arguments against the factory's signature before building anything.

A model folder's config.json names registered components with JSON keyword arguments. Those
arguments may come from a careless or hostile file, so every one is checked against the factory's
parameters and type annotations first; a bad one raises a single one-line `ConfigValueError`
naming the component, the key, the value and what is allowed. Constraints beyond the type are
declared with `typing.Annotated` markers::

    def linear(in_features: int, num_outputs: Size, dropout: Rate = 0.0): ...

This module imports no torch: validating must stay cheap enough to run on every load.
"""

from __future__ import annotations

import collections.abc as cabc
import difflib
import enum
import functools
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from .errors import ConfigValueError

__all__ = [
    "MAX_DEPTH", "MAX_ITEMS", "Count", "CommitSha", "MaxLen", "Pattern", "Range", "Rate", "Size",
    "validate_arguments", "validate_value",
]

MAX_DEPTH = 8  # lists/objects nested inside one argument value
MAX_ITEMS = 10_000  # list items plus object entries inside one argument value, all levels together


class _Marker:
    """Base of the constraints this module understands inside `Annotated[...]`."""

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def describe(self, base: str, of_str: bool) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Range(_Marker):
    """Inclusive bounds for a number; either side may be left open with None."""

    lo: float | None = None
    hi: float | None = None

    def __post_init__(self):
        for bound in (self.lo, self.hi):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))
                                      or math.isnan(bound)):
                raise TypeError(f"Range bounds must be numbers or None, not {bound!r}")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise ValueError(f"Range({self.lo!r}, {self.hi!r}) is empty")

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)

    def describe(self, base: str, of_str: bool) -> str:
        if self.lo is not None and self.hi is not None:
            return f"{base} in [{self.lo!r}, {self.hi!r}]"
        if self.lo is not None:
            return f"{base} >= {self.lo!r}"
        return f"{base} <= {self.hi!r}" if self.hi is not None else base


@dataclass(frozen=True)
class Pattern(_Marker):
    """A string that must match `regex` in full; `description` is what messages call it."""

    regex: str
    description: str = ""
    compiled: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "compiled", re.compile(self.regex))

    def accepts(self, value) -> bool:
        return isinstance(value, str) and self.compiled.fullmatch(value) is not None

    def describe(self, base: str, of_str: bool) -> str:
        return self.description or f"{base} matching {self.regex!r}"


@dataclass(frozen=True)
class MaxLen(_Marker):
    """At most `n` characters for a string, or items/entries for a list or object."""

    n: int

    def __post_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"MaxLen needs a non-negative integer, not {self.n!r}")

    def accepts(self, value) -> bool:
        return isinstance(value, (str, list, tuple, dict)) and len(value) <= self.n

    def describe(self, base: str, of_str: bool) -> str:
        if of_str:
            return f"{base} of at most {self.n} characters"
        for prefix, noun in (("a list of items", "items"), ("an object", "entries")):
            if base.startswith(prefix) or base == prefix.split(" of ")[0]:
                rest = base[len(prefix):] if base.startswith(prefix) else ""
                return f"{prefix.split(' of ')[0]} of at most {self.n} {noun}{rest}"
        return f"{base} (at most {self.n} items)"


Size = Annotated[int, Range(1, 1 << 24)]  # a layer width, class count, patch size, ...
Count = Annotated[int, Range(0, 1 << 24)]  # how many of something; zero allowed
Rate = Annotated[float, Range(0.0, 1.0)]  # a probability such as dropout
CommitSha = Annotated[str, Pattern(r"[0-9a-f]{40}", "a 40-character hex commit sha")]

_SEQUENCES = (list, tuple, cabc.Sequence, cabc.MutableSequence, cabc.Collection, cabc.Iterable)
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)
_UNIONS = (Union, types.UnionType)
_ANY = "a JSON value"
_SIMPLE = ((bool, "true or false"), (int, "an integer"), (float, "a finite number"), (str, "a string"),
           (type(None), "null"), (None, "null"))


class _Mismatch(Exception):
    """Internal: the value at `path` is not what `expected` describes."""

    def __init__(self, path: str, value, expected: str):
        super().__init__(path)
        self.path, self.value, self.expected = path, value, expected


# ------------------------------------------------------------------------------------------ API


def validate_arguments(factory, args: dict, what: str, injected: tuple[str, ...] = ()) -> dict:
    """Refuse `args` unless `factory(**args, **injected_values)` is a call its signature allows.

    `factory` is a function or a class (its `__init__`), `what` names it in messages and
    `injected` are the parameters wzoo passes itself, which the config must leave out. Returns a
    checked copy of `args`; raises one `ConfigValueError` for the first problem found.
    """
    if not isinstance(args, dict):
        raise ConfigValueError(what, None, args, "a JSON object of keyword arguments",
                               message=f"arguments {ConfigValueError.show(args)} are not allowed "
                                       "(expected a JSON object of keyword arguments)")
    if len(args) > MAX_ITEMS:
        raise ConfigValueError(what, None, args, f"at most {MAX_ITEMS} arguments",
                               message=f"{len(args)} arguments are not allowed (expected at most {MAX_ITEMS})")
    params, var_kw, hints, refused = _signature(factory)

    def hint_of(p: inspect.Parameter):
        if p.name in hints:
            return hints[p.name]
        return Any if p.annotation is inspect.Parameter.empty else _UNRESOLVED

    injected = tuple(injected)
    accepted = sorted(n for n in params if n not in injected)

    for key, value in args.items():
        if not isinstance(key, str):
            raise ConfigValueError(what, key, value, "a string",
                                   message=f"argument name {ConfigValueError.show(key)} is not allowed "
                                           "(expected a string)")
        path = _key_path(key)
        if key in injected:
            raise ConfigValueError(what, key, value, "", path=path,
                                   message=f"{path}={ConfigValueError.show(value)} is not allowed "
                                           "(wzoo sets it itself; leave it out of the config)")
        if key in params or (var_kw is not None and key not in refused):
            continue
        near = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]}? " if near else ""
        listing = f"accepted: {', '.join(accepted)}" if accepted else "it takes no arguments"
        raise ConfigValueError(what, key, value, listing, path=path,
                               message=f"unknown argument {path}={ConfigValueError.show(value)} "
                                       f"({hint}{listing})")

    for name, param in params.items():
        if param.default is inspect.Parameter.empty and name not in args and name not in injected:
            expected = _describe(hints[name]) if name in hints else ""
            tail = f" (expected {expected})" if expected else ""
            raise ConfigValueError(what, name, None, expected,
                                   message=f"missing required argument {_key_path(name)}{tail}")

    checked = {}
    for key, value in args.items():
        checked[key] = validate_value(value, hint_of(params.get(key, var_kw)), what, key)
    return checked


def validate_value(value, hint, what: str, key: str):
    """Check one argument value against a type hint; returns a copy or raises `ConfigValueError`."""
    path = _key_path(key)
    too_big = _measure(value)
    if too_big:
        raise ConfigValueError(what, key, value, too_big, path=path)
    if hint is _UNRESOLVED:
        return _copy(value)
    try:
        return _check(value, hint, path)
    except _Mismatch as bad:
        raise ConfigValueError(what, key, bad.value, bad.expected, path=bad.path) from None


# ------------------------------------------------------------------------------ the signature

_UNRESOLVED = object()  # a hint that could not be evaluated: the value goes unchecked


def _signature(factory):
    """(keyword parameters, the **kwargs parameter or None, resolved hints, names never accepted)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature: accept anything JSON-like
        return {}, inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD), {}, frozenset()
    params, var_kw, refused = {}, None, set()
    for name, p in sig.parameters.items():
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            params[name] = p
        elif p.kind is p.VAR_KEYWORD:
            var_kw = p
        elif p.kind is p.POSITIONAL_ONLY:
            refused.add(name)  # cannot be passed by keyword
    target = factory
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.isclass(target):
        init = target.__init__ if target.__init__ is not object.__init__ else target.__new__
        try:
            first = next(iter(inspect.signature(init).parameters), None)
        except (TypeError, ValueError):
            first = None
        if first is not None:
            refused.add(first)  # `self`: passing it by keyword would collide
        target = init
    elif not inspect.isroutine(target):  # a callable object: its __call__ holds the hints
        target = type(target).__call__
    return params, var_kw, type_hints(target), frozenset(refused)


def type_hints(fn) -> dict:
    """Resolved annotations with their `Annotated` extras; unresolvable ones are left out."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    raw = getattr(inspect.unwrap(fn), "__annotations__", None) or {}
    globalns = getattr(inspect.unwrap(fn), "__globals__", {})
    hints = {}
    for name, annotation in raw.items():
        holder = types.SimpleNamespace(__annotations__={name: annotation})
        try:
            hints[name] = typing.get_type_hints(holder, globalns=globalns, include_extras=True)[name]
        except Exception:
            continue  # e.g. a name imported only under TYPE_CHECKING: no check for this one
    return hints


def _key_path(key) -> str:
    return key if isinstance(key, str) and key.isidentifier() else ConfigValueError.show(key)


# ------------------------------------------------------------------------------- the checking


def _measure(value) -> str | None:
    """Refuse values nested too deep or too large, without recursion (cheap on hostile input)."""
    stack, items = [(value, 0)], 0
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, tuple, dict)):
            if depth >= MAX_DEPTH:
                return f"a value nested at most {MAX_DEPTH} deep"
            items += len(v)
            if items > MAX_ITEMS:
                return f"a value with at most {MAX_ITEMS} items in all"
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))
    return None


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value) if type(value) in (list, tuple) else list(map(_copy, value))
    return value


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_float(v) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    if _is_int(v):
        try:
            float(v)
        except OverflowError:
            return False
        return True
    return False


def _check(v, hint, path: str):
    """Return a copy of `v` if it fits `hint`, else raise `_Mismatch` at the most precise path."""
    if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
        return _json(v, path)
    origin, args = typing.get_origin(hint), typing.get_args(hint)

    if origin is Annotated:
        try:
            out = _check(v, args[0], path)
        except _Mismatch as bad:
            if bad.path != path:
                raise  # the container was fine; one of its items was not
            raise _Mismatch(path, v, _describe(hint)) from None
        for marker in args[1:]:
            if isinstance(marker, _Marker) and not marker.accepts(out):
                raise _Mismatch(path, v, _describe(hint))
        return out

    if origin in _UNIONS:
        failures = []
        for member in args:
            try:
                return _check(v, member, path)
            except _Mismatch as bad:
                failures.append(bad)
        deeper = [f for f in failures if f.path != path]  # the shape fitted; an item did not
        if deeper:
            raise max(deeper, key=lambda f: len(f.path))
        raise _Mismatch(path, v, _describe(hint))

    if origin is Literal:
        for choice in args:
            if type(v) is type(choice) and v == choice:
                return v
        raise _Mismatch(path, v, _describe(hint))

    if hint is bool:
        ok = v is True or v is False
    elif hint is int:
        ok = _is_int(v)
    elif hint is float:
        ok = _is_float(v)
    elif hint is str:
        ok = isinstance(v, str)
    elif hint is type(None) or hint is None:
        ok = v is None
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        ok = any(v is m or (type(v) is type(m.value) and v == m.value) for m in hint)
    elif hint in _SEQUENCES or origin in _SEQUENCES:
        return _check_sequence(v, hint, origin, args, path)
    elif hint in _MAPPINGS or origin in _MAPPINGS:
        if not isinstance(v, dict):
            raise _Mismatch(path, v, _describe(hint))
        key_hint, value_hint = args if len(args) == 2 else (str, Any)
        out = {}
        for k, item in v.items():
            item_path = f"{path}[{ConfigValueError.show(k)}]"
            out[_check(k, key_hint, f"{item_path} (key)")] = _check(item, value_hint, item_path)
        return out
    else:  # an annotation this module does not model (a class, a Callable): plain JSON only
        return _json(v, path)
    if not ok:
        raise _Mismatch(path, v, _describe(hint))
    return v


def _check_sequence(v, hint, origin, args, path: str):
    if not isinstance(v, (list, tuple)):
        raise _Mismatch(path, v, _describe(hint))
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(v) != len(args):  # fixed length; tuple[()] is the empty one
            raise _Mismatch(path, v, _describe(hint))
        items = [_check(x, h, f"{path}[{i}]") for i, (x, h) in enumerate(zip(v, args))]
    else:
        item_hint = args[0] if args else Any
        items = [_check(x, item_hint, f"{path}[{i}]") for i, x in enumerate(v)]
    return type(v)(items) if type(v) in (list, tuple) else items


def _json(v, path: str):
    """Any JSON value: null, booleans, finite numbers, strings, lists and string-keyed objects."""
    if v is None or isinstance(v, (bool, str)) or _is_int(v):
        return v
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        raise _Mismatch(path, v, f"{_ANY} (numbers must be finite)")
    if isinstance(v, (list, tuple)):
        return type(v)(_json(x, f"{path}[{i}]") for i, x in enumerate(v)) if type(v) in (list, tuple) \
            else [_json(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            item_path = f"{path}[{ConfigValueError.show(k)}]"
            if not isinstance(k, str):
                raise _Mismatch(f"{item_path} (key)", k, "a string")
            out[k] = _json(x, item_path)
        return out
    raise _Mismatch(path, v, f"{_ANY} (null, true/false, number, string, list or object)")


# ------------------------------------------------------------------------------- the messages


def _describe(hint) -> str:
    """What a hint allows, in words a config author understands."""
    if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
        return _ANY
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        base, text = args[0], _describe(args[0])
        for marker in args[1:]:
            if isinstance(marker, _Marker):
                text = marker.describe(text, base is str)
        return text
    if origin in _UNIONS:
        parts = []
        for member in args:
            d = _describe(member)
            if d not in parts:
                parts.append(d)
        return " or ".join(parts)
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args)) if len(args) > 1 else repr(args[0])
    for kind, words in _SIMPLE:
        if hint is kind:
            return words
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint)
    if hint in _SEQUENCES or origin in _SEQUENCES:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if not args:
                return "an empty list"
            return f"a list of exactly {len(args)} items ({', '.join(map(_describe, args))})"
        if not args or args[0] is Any:
            return "a list"
        return f"a list of items (each {_describe(args[0])})"
    if hint in _MAPPINGS or origin in _MAPPINGS:
        if len(args) == 2 and args[1] is not Any:
            return f"an object with string keys (each value {_describe(args[1])})"
        return "an object with string keys"
    return _ANY
