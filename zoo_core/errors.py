"""Typed errors: each says what went wrong and what to do next.

The CLI turns any `WzooError` into a one-line message and exit code 1, so every
message here must stand on its own in a terminal.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class WzooError(Exception):
    """Base class of every error wzoo raises on purpose."""


class UnknownNameError(WzooError, KeyError):
    """A model, component, recipe or dataset name that nothing registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name = kind, name
        known = sorted(known)
        self.suggestions = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        listing = " Run `wzoo list` to see what is installed." if kind == "model" else ""
        super().__init__(f"unknown {kind} {name!r}.{hint}{listing}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class PluginNotInstalledError(WzooError):
    """A saved model names a component whose plugin is not installed here."""

    def __init__(self, what: str, distribution: str | None):
        self.distribution = distribution
        todo = f"pip install {distribution}" if distribution else "install the plugin that provides it"
        super().__init__(f"{what} needs a plugin that is not installed: {todo}")


class PluginLoadError(WzooError):
    """A plugin failed to import or register (fatal only with WZOO_STRICT_PLUGINS=1)."""


class PluginRegistrationError(WzooError):
    """A plugin registered something malformed (bad name, duplicate, bad factory path)."""


class ConfigError(WzooError):
    """A config.json that cannot be read as a wzoo model config."""


class ConfigVersionError(ConfigError):
    """A config written by a newer (or unknown) format version."""


class WeightsMismatchError(WzooError):
    """Weights that do not fit the model: lists every key and shape that differs."""

    def __init__(self, missing=(), unexpected=(), shapes=()):
        self.missing, self.unexpected, self.shapes = list(missing), list(unexpected), list(shapes)
        parts = []
        if self.missing:
            parts.append(f"missing keys: {_short(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected keys: {_short(self.unexpected)}")
        if self.shapes:
            shown = [f"{k} (file {tuple(a)} vs model {tuple(b)})" for k, a, b in self.shapes]
            parts.append(f"shape mismatches: {_short(shown)}")
        super().__init__("weights do not match the model; " + "; ".join(parts))


class UnsafeWeightsError(WzooError):
    """Pickle-based weights (.bin/.pt/.pth/.ckpt): wzoo never unpickles."""


class CorruptWeightsError(WzooError):
    """A truncated or otherwise unreadable safetensors file."""


class HubError(WzooError):
    """Base class of errors talking to the Hugging Face Hub."""


class RepoNotFoundError(HubError):
    pass


class RevisionNotFoundError(HubError):
    pass


class HubUnreachableError(HubError):
    pass


class HubAuthError(HubError):
    """The Hub refused the token (401/403)."""


class NotAZooModelError(WzooError):
    """A folder that is not a saved wzoo model (no or foreign config.json)."""


class AdapterError(WzooError):
    """A per-task adapter that cannot be added, found or loaded."""


def _short(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit} more)" if len(items) > limit else "")
