"""Typed errors: each says what went wrong and what to do next.

The CLI turns any `WzooError` into a one-line message and exit code 1, so every
message here must stand on its own in a terminal.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_DISTRIBUTION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")  # PEP 508 names


class WzooError(Exception):
    """Base class of every error wzoo raises on purpose."""


class UnknownNameError(WzooError, KeyError):
    """A model, component, recipe or dataset name that nothing registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name = kind, name
        known = sorted(known)
        self.suggestions = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        if kind == "model":
            listing = " Run `wzoo list` to see what is installed."
        elif kind.startswith("data"):
            listing = " Run `wzoo data list` to see what is registered."
        elif kind in ("task", "strategy"):
            listing = f" Known: {', '.join(known)} (`wzoo bench --list`)."
        else:
            listing = ""
        super().__init__(f"unknown {kind} {name!r}.{hint}{listing}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class PluginNotInstalledError(WzooError):
    """A saved model names a component whose plugin is not installed here."""

    def __init__(self, what: str, distribution: str | None):
        # the name may come from a downloaded config: advise installing it only if it is a plain
        # distribution name (no options such as --index-url, no URLs, no spaces)
        if distribution is not None and not _DISTRIBUTION.fullmatch(distribution):
            distribution = None
        self.distribution = distribution
        todo = f"pip install {distribution}" if distribution else "install the plugin that provides it"
        super().__init__(f"{what} needs a plugin that is not installed: {todo}")


class PluginLoadError(WzooError):
    """A plugin failed to import or register (fatal only with WZOO_STRICT_PLUGINS=1)."""


class PluginDisabledError(WzooError):
    """A name whose plugin is installed but switched off by WZOO_PLUGINS / WZOO_DISABLE_PLUGINS."""


class PluginRegistrationError(WzooError):
    """A plugin registered something malformed (bad name, duplicate, bad factory path)."""


class ConfigError(WzooError):
    """A config.json that cannot be read as a wzoo model config."""


class ConfigVersionError(ConfigError):
    """A config written by a newer (or unknown) format version."""


class ConfigValueError(ConfigError):
    """One refused component argument in a config, caught before anything is built.

    `what` names the component, `key` the top-level argument (None when the arguments as a
    whole are wrong), `path` where inside it the problem is (``hidden[1]``), `value` the refused
    value and `expected` what would have been allowed. The message is always one line: values
    are repr()'d and cut short, and anything unprintable from a hostile config is escaped.
    """

    MAX_SHOWN = 60

    def __init__(self, what: str, key, value=None, expected: str = "", *, path: str | None = None,
                 message: str | None = None):
        self.what, self.key, self.value, self.expected = what, key, value, expected
        self.path = path if path is not None else (None if key is None else str(key))
        if message is None:
            where = self.path if self.path is not None else "arguments"
            message = f"{where}={self.show(value)} is not allowed"
            if expected:
                message += f" (expected {expected})"
        super().__init__(self.one_line(f"{what}: {message}"))

    @classmethod
    def show(cls, value) -> str:
        """repr() of a value, short enough for one terminal line and safe on any input."""
        import reprlib

        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
            return f"<{value.bit_length()}-bit integer>"  # repr() of a huge int can raise
        short = reprlib.Repr()
        short.maxlevel, short.maxstring, short.maxother, short.maxlong = 3, cls.MAX_SHOWN, cls.MAX_SHOWN, 40
        short.maxlist = short.maxtuple = 6
        short.maxdict = 4
        try:
            text = short.repr(value)
        except Exception:
            text = f"<{type(value).__name__}>"
        return text if len(text) <= cls.MAX_SHOWN else text[: cls.MAX_SHOWN - 1] + "…"

    @staticmethod
    def one_line(text: str) -> str:
        """Escape newlines and other unprintable characters so the message stays one line."""
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


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


class CorruptDownloadError(HubError, CorruptWeightsError):
    """A downloaded file whose bytes do not hash to the name the Hub gave it."""


class HubAuthError(HubError):
    """The Hub refused the token (401/403)."""


class RedistributionError(HubError):
    """A push of weights whose licence or source does not let wzoo publish them again."""


class NotAZooModelError(WzooError):
    """A folder that is not a saved wzoo model (no or foreign config.json)."""


class AdapterError(WzooError):
    """A per-task adapter that cannot be added, found or loaded."""


class FolderNotEmptyError(WzooError):
    """A save target that holds files wzoo did not write (or is not a folder): never deleted."""


class InvalidNameError(WzooError, ValueError):
    """A task, tower, head or adapter name that is not a plain identifier (it names files)."""


class InputFieldError(WzooError, ValueError):
    """A batch that lacks a field a tower or head reads, or holds it with the wrong dtype or rank."""


class WeightsDtypeError(WeightsMismatchError):
    """Weights stored in another dtype than the model declares: refused, never cast."""

    def __init__(self, mismatches):
        self.dtypes = list(mismatches)
        shown = [f"{k} (file {a} vs model {b})" for k, a, b in self.dtypes]
        WzooError.__init__(self, "weights have other dtypes than the model declares and are not cast: "
                           + _short(shown) + "; convert the file to the model's dtypes with code you trust")
        self.missing, self.unexpected, self.shapes = [], [], []


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line (the Hub's run over several: a URL, a docs link)."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())[:limit]


def _short(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit} more)" if len(items) > limit else "")
