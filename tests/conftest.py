import importlib.metadata as md

import pytest

from zoo_core import plugins


@pytest.fixture
def use_plugins(monkeypatch):
    """Replace installed entry points with the given {plugin name: module path} ones."""

    # CI runs with WZOO_STRICT_PLUGINS=1; these tests look at non-strict isolation unless they set it
    monkeypatch.delenv("WZOO_STRICT_PLUGINS", raising=False)

    def install(mapping: dict[str, str], keep_installed: bool = False):
        real = list(md.entry_points(group=plugins.GROUP)) if keep_installed else []
        fakes = [md.EntryPoint(name=n, value=v, group=plugins.GROUP) for n, v in mapping.items()]
        monkeypatch.setattr(plugins, "entry_points", lambda: [*real, *fakes])
        plugins.reset()

    yield install
    plugins.reset()


@pytest.fixture
def fake_plugin(use_plugins):
    use_plugins({"fake": "wzoo_fakes"})
