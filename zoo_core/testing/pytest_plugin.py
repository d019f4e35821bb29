"""pytest plugin: run the test suite against a loopback Hugging Face Hub.

Load it from the root ``conftest.py``::

    pytest_plugins = ["zoo_core.testing.pytest_plugin"]

or on the command line with ``-p zoo_core.testing.pytest_plugin``.

``pytest_configure`` (before any test module imports huggingface_hub, which reads its settings
once at import) starts a :class:`~zoo_core.testing.hub_server.LoopbackHub` on 127.0.0.1 and sets:
``HF_ENDPOINT`` (its url), ``HF_HOME`` (a temp dir, unless ``WZOO_TEST_KEEP_HF_HOME`` is set),
``HF_HUB_DISABLE_XET=1``, ``HF_HUB_DISABLE_TELEMETRY=1``, ``HF_TOKEN=wzoo-test-token``,
``NO_PROXY=127.0.0.1,localhost`` (proxy variables are removed) and clears ``HF_HUB_OFFLINE``.
Every pytest-xdist worker runs its own server. All of it is undone in ``pytest_unconfigure``.

Fixtures:

- ``hub_server`` (session): the :class:`LoopbackHub` itself.
- ``hub``: the same server for one test, with an empty request log at the start; after the test,
  faults and ``upload_mode`` are restored, the server is up again, and an exception raised inside
  the server during the test fails it.
- ``upload_mode``: parametrised over ``"regular"`` and ``"lfs"``; sets ``hub.upload_mode``.
- ``hf_cache``: a fresh, empty huggingface_hub cache directory for the test (``HF_HUB_CACHE``).
- ``hub_repo_id``: a unique, not yet created, repo id ``<namespace>/<test-name>-<random>``.
- ``hf_fast_retries``: huggingface_hub's retry back-off sleeps become no-ops for the test (it
  retries connection errors and 408/429/5xx with 1, 2, 4, 8, 8 s waits, e.g. an uncached
  ``hf_hub_download`` while the server is down); yields the list of requested waits.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Iterator

try:
    import pytest
except ImportError:  # the loopback Hub and this plugin come with the test extra
    raise ImportError("zoo_core.testing.pytest_plugin needs pytest: pip install 'wzoo[test]'") from None

from .hub_server import LoopbackHub

TEST_TOKEN = "wzoo-test-token"

_HUB_KEY = pytest.StashKey[LoopbackHub]()
_STATE_KEY = pytest.StashKey[dict]()

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
# Cache locations derived from HF_HOME: drop explicit overrides so that HF_HOME rules.
_CACHE_VARS = (
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_ASSETS_CACHE",
    "HUGGINGFACE_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_TOKEN_PATH",
)
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def _set_env(saved: dict[str, str | None], key: str, value: str | None) -> None:
    if key not in saved:
        saved[key] = os.environ.get(key)
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def pytest_configure(config: pytest.Config) -> None:
    if "huggingface_hub" in sys.modules:
        message = (
            "zoo_core.testing.pytest_plugin: huggingface_hub was imported before the loopback Hub was "
            "configured, so it has already read HF_ENDPOINT/HF_HOME/HF_HUB_DISABLE_XET and would talk to the "
            "wrong server (or the real Hub). Do not import huggingface_hub (or anything importing it) at the "
            "top of conftest.py files or pytest plugins; import it in test modules or lazily."
        )
        if os.environ.get("WZOO_TEST_ALLOW_EARLY_HF_IMPORT"):
            warnings.warn(message, stacklevel=1)
        else:
            raise pytest.UsageError(message + " (Set WZOO_TEST_ALLOW_EARLY_HF_IMPORT=1 to only warn.)")

    hub = LoopbackHub().start()
    saved: dict[str, str | None] = {}
    state: dict = {"saved": saved, "home": None}

    if not os.environ.get("WZOO_TEST_KEEP_HF_HOME"):
        home = tempfile.mkdtemp(prefix="wzoo-hf-home-")
        state["home"] = home
        _set_env(saved, "HF_HOME", home)
        for key in _CACHE_VARS:
            _set_env(saved, key, None)
    for key in _PROXY_VARS:
        _set_env(saved, key, None)
    for key in _OFFLINE_VARS:
        _set_env(saved, key, None)
    _set_env(saved, "NO_PROXY", "127.0.0.1,localhost")
    _set_env(saved, "no_proxy", "127.0.0.1,localhost")
    _set_env(saved, "HF_HUB_DISABLE_XET", "1")
    _set_env(saved, "HF_HUB_DISABLE_TELEMETRY", "1")
    _set_env(saved, "HF_HUB_DISABLE_UPDATE_CHECK", "1")
    _set_env(saved, "HF_HUB_DISABLE_PROGRESS_BARS", "1")
    _set_env(saved, "HF_TOKEN", TEST_TOKEN)
    _set_env(saved, "HF_ENDPOINT", hub.url)

    config.stash[_HUB_KEY] = hub
    config.stash[_STATE_KEY] = state


def pytest_unconfigure(config: pytest.Config) -> None:
    hub = config.stash.get(_HUB_KEY, None)
    if hub is not None:
        hub.stop()
        del config.stash[_HUB_KEY]
    state = config.stash.get(_STATE_KEY, None)
    if state is not None:
        for key, value in state["saved"].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if state["home"]:
            shutil.rmtree(state["home"], ignore_errors=True)
        del config.stash[_STATE_KEY]


def pytest_report_header(config: pytest.Config) -> str | None:
    hub = config.stash.get(_HUB_KEY, None)
    if hub is None:
        return None
    return f"wzoo loopback Hub: {hub.url} (HF_HOME={os.environ.get('HF_HOME')})"


@pytest.fixture(scope="session")
def hub_server(pytestconfig: pytest.Config) -> LoopbackHub:
    """The session's loopback Hub (started in pytest_configure)."""
    hub = pytestconfig.stash.get(_HUB_KEY, None)
    if hub is None:  # pragma: no cover - only if pytest_configure did not run
        raise RuntimeError("zoo_core.testing.pytest_plugin is not configured")
    return hub


@pytest.fixture
def hub(hub_server: LoopbackHub) -> Iterator[LoopbackHub]:
    """The loopback Hub for one test: empty request log at the start; faults, upload mode and
    reachability restored afterwards; a server-side exception during the test fails it."""
    if not hub_server.is_up:
        hub_server.start()
    mode = hub_server.upload_mode
    hub_server.clear_faults()
    hub_server.clear_errors()
    hub_server.clear_log()
    try:
        yield hub_server
    finally:
        hub_server.clear_faults()
        hub_server.upload_mode = mode
        if not hub_server.is_up:
            hub_server.start()
    errors = hub_server.errors
    hub_server.clear_errors()
    if errors:
        pytest.fail("the loopback Hub raised inside its handlers:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture(params=["regular", "lfs"])
def upload_mode(request: pytest.FixtureRequest, hub: LoopbackHub) -> str:
    """Runs the test once with the server answering "regular" and once "lfs" to preupload."""
    hub.upload_mode = request.param
    return request.param


@pytest.fixture
def hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty huggingface_hub cache for this test (restored afterwards).

    huggingface_hub reads ``constants.HF_HUB_CACHE`` at call time (hf_hub_download,
    snapshot_download, try_to_load_from_cache, ...); ``scan_cache_dir`` uses a copy bound at
    import in ``utils._cache_manager``. Both are patched, as is any already imported module that
    bound the old value under the name ``HF_HUB_CACHE``/``HUGGINGFACE_HUB_CACHE``.
    """
    cache = tmp_path_factory.mktemp("hf-hub-cache")
    from huggingface_hub import constants  # the env is set by pytest_configure already

    old = {constants.HF_HUB_CACHE, constants.HUGGINGFACE_HUB_CACHE}
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HUGGINGFACE_HUB_CACHE", str(cache))
    for name, module in list(sys.modules.items()):
        if module is None or module is constants:
            continue
        namespace = getattr(module, "__dict__", None)  # never getattr(): lazy modules would import
        if not isinstance(namespace, dict):
            continue
        for attr in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
            value = namespace.get(attr)
            if isinstance(value, (str, os.PathLike)) and str(value) in old:
                monkeypatch.setattr(module, attr, type(value)(cache) if isinstance(value, Path) else str(cache))
    return cache


class _NoSleepTime:
    """Stands in for the ``time`` module inside huggingface_hub: records sleeps, skips them."""

    def __init__(self, calls: list[float]):
        self._calls = calls

    def sleep(self, seconds: float) -> None:
        self._calls.append(seconds)

    def __getattr__(self, name: str):
        return getattr(time, name)


@pytest.fixture
def hf_fast_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No back-off waits in huggingface_hub's HTTP retries; returns the waits it asked for."""
    import huggingface_hub.file_download as file_download
    import huggingface_hub.utils._http as hf_http

    calls: list[float] = []
    shim = _NoSleepTime(calls)
    monkeypatch.setattr(hf_http, "time", shim)
    monkeypatch.setattr(file_download, "time", shim)
    return calls


@pytest.fixture
def hub_repo_id(request: pytest.FixtureRequest, hub_server: LoopbackHub) -> str:
    """A unique repo id for this test (not created)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-.")[:60] or "repo"
    return f"{hub_server.namespace}/{stem}-{uuid.uuid4().hex[:8]}"
