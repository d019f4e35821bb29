"""wzoo: a plugin-based model zoo for wireless foundation models.

Listing is torch-free; anything that builds or loads a model imports torch on first use::

    import zoo_core
    zoo_core.list_models("wavesfm/*")
    model = zoo_core.from_pretrained("hf-hub:org/name@main")
"""

from __future__ import annotations

import fnmatch
from importlib import import_module

from .errors import (  # the typed errors are part of the public API
    AdapterError,
    ConfigError,
    ConfigVersionError,
    CorruptDownloadError,
    CorruptWeightsError,
    HubAuthError,
    HubError,
    HubUnreachableError,
    NotAZooModelError,
    PluginDisabledError,
    PluginLoadError,
    PluginNotInstalledError,
    PluginRegistrationError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UnknownNameError,
    UnsafeWeightsError,
    WeightsMismatchError,
    WzooError,
)
from .hookspecs import hookimpl
from .plugins import PluginInfo, list_plugins

__version__ = "0.1.0"


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, filtered by a shell-style pattern (as timm) or, without
    wildcards, by a substring (`list_models("vit")`)."""
    from .plugins import registry

    names = registry().names("model")
    if pattern and any(c in pattern for c in "*?["):
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    elif pattern:
        names = [n for n in names if pattern in n]
    return names


_LAZY = {
    "Backbone": "zoo_core.interfaces",
    "Transform": "zoo_core.interfaces",
    "TaskHead": "zoo_core.interfaces",
    "ZooModel": "zoo_core.model",
    "Encoder": "zoo_core.towers",
    "ModelConfig": "zoo_core.config",
    "build_prototypes": "zoo_core.heads",
    "create_model": "zoo_core.factory",
    "from_pretrained": "zoo_core.hub",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo_core' has no attribute {name!r}")


__all__ = [
    "hookimpl", "list_models", "list_plugins", "PluginInfo", "create_model", "from_pretrained",
    "Backbone", "Transform", "TaskHead", "ZooModel", "Encoder", "ModelConfig", "build_prototypes", "__version__",
    "AdapterError", "CorruptDownloadError", "HubAuthError", "ConfigError", "ConfigVersionError", "CorruptWeightsError", "HubError",
    "HubUnreachableError", "NotAZooModelError", "PluginDisabledError", "PluginLoadError", "PluginNotInstalledError",
    "PluginRegistrationError", "RepoNotFoundError", "RevisionNotFoundError", "UnknownNameError",
    "UnsafeWeightsError", "WeightsMismatchError", "WzooError",
]
