"""Plugin discovery: isolation, strict mode, allow/block lists, names, torch-free listing."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import zoo_core
from zoo_core import plugins
from zoo_core.errors import PluginLoadError, UnknownNameError

TESTS = Path(__file__).parent


@pytest.fixture
def broken_modules(tmp_path, monkeypatch):
    """Plugin modules that fail in different ways, importable from tmp_path."""
    (tmp_path / "wzoo_broken_import.py").write_text("raise ImportError('needs libfoo')\n")
    (tmp_path / "wzoo_broken_register.py").write_text(textwrap.dedent("""
        from zoo_core import hookimpl

        @hookimpl
        def register_models(register):
            register("xbad/ok-so-far", backbone="fake/tiny-attn")
            raise RuntimeError("registration exploded")
    """))
    (tmp_path / "wzoo_bad_name.py").write_text(textwrap.dedent("""
        from zoo_core import hookimpl

        @hookimpl
        def register_models(register):
            register("someone-else/model", backbone="fake/tiny-attn")
    """))
    (tmp_path / "wzoo_dup.py").write_text(textwrap.dedent("""
        from zoo_core import hookimpl

        @hookimpl
        def register_backbones(register):
            register("fake/tiny-attn", "wzoo_fakes:TinyAttentionBackbone")
    """))
    (tmp_path / "wzoo_bad_factory.py").write_text(textwrap.dedent("""
        from zoo_core import hookimpl

        @hookimpl
        def register_heads(register):
            register("badfactory/head", factory=lambda: None)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))


def test_discovers_entry_point_plugins(fake_plugin):
    assert zoo_core.list_models("fake/*") == ["fake/no-hub", "fake/tiny", "fake/two-tower"]
    info = {p.name: p for p in zoo_core.list_plugins()}
    assert info["fake"].status == "loaded" and info["core"].status == "loaded"


def test_discovery_runs_once(fake_plugin, monkeypatch):
    zoo_core.list_models()
    monkeypatch.setattr(plugins, "entry_points", lambda: pytest.fail("discovered twice"))
    zoo_core.list_models()
    zoo_core.list_plugins()


@pytest.mark.parametrize("module,expected", [
    ("wzoo_broken_import", "ImportError: needs libfoo"),
    ("wzoo_broken_register", "RuntimeError: registration exploded"),
    ("wzoo_bad_name", "model names start with 'xbad/'"),
    ("wzoo_dup", "a name owned by plugin 'fake'"),
])
def test_broken_plugin_is_isolated(use_plugins, broken_modules, module, expected):
    use_plugins({"fake": "wzoo_fakes", "xbad": module})  # sorts after "fake"
    info = {p.name: p for p in zoo_core.list_plugins()}
    assert info["xbad"].status == "failed"
    assert expected in info["xbad"].error
    # the others still work, and a failed plugin leaves nothing half-registered
    assert zoo_core.list_models() == ["fake/no-hub", "fake/tiny", "fake/two-tower"]


def test_a_failed_plugin_leaves_nothing_registered(use_plugins, tmp_path, monkeypatch):
    (tmp_path / "wzoo_half.py").write_text(textwrap.dedent("""
        from zoo_core import hookimpl

        @hookimpl
        def register_models(register):
            register("half/model", backbone="fake/tiny-attn")

        @hookimpl
        def register_datasets(register):
            register("geometric", "wzoo_half:make")  # taken by the core
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    use_plugins({"fake": "wzoo_fakes", "half": "wzoo_half"})
    [half] = [p for p in zoo_core.list_plugins() if p.name == "half"]
    assert half.status == "failed" and "'geometric' is registered by both" in half.error
    assert "half/model" not in zoo_core.list_models()


def test_factory_must_be_an_import_path(use_plugins, broken_modules):
    use_plugins({"badfactory": "wzoo_bad_factory"})
    [bad] = [p for p in zoo_core.list_plugins() if p.name == "badfactory"]
    assert "import path" in bad.error


def test_strict_mode_raises(use_plugins, broken_modules, monkeypatch):
    monkeypatch.setenv("WZOO_STRICT_PLUGINS", "1")
    use_plugins({"fake": "wzoo_fakes", "bad": "wzoo_broken_import"})
    with pytest.raises(PluginLoadError, match="'bad'.*needs libfoo"):
        zoo_core.list_models()


def test_allow_and_block_lists(use_plugins, broken_modules, monkeypatch):
    use_plugins({"fake": "wzoo_fakes", "bad": "wzoo_broken_import"})
    monkeypatch.setenv("WZOO_PLUGINS", "fake")
    plugins.reset()
    status = {p.name: p.status for p in zoo_core.list_plugins()}
    assert status == {"core": "loaded", "fake": "loaded", "bad": "disabled"}
    monkeypatch.delenv("WZOO_PLUGINS")
    monkeypatch.setenv("WZOO_DISABLE_PLUGINS", "fake,bad")
    plugins.reset()
    status = {p.name: p.status for p in zoo_core.list_plugins()}
    assert status == {"core": "loaded", "fake": "disabled", "bad": "disabled"}
    assert zoo_core.list_models() == []


def test_unknown_name_suggests_close_matches(fake_plugin):
    with pytest.raises(UnknownNameError) as err:
        zoo_core.create_model("fake/tinny")
    assert err.value.suggestions[0] == "fake/tiny"
    assert "Did you mean: fake/tiny" in str(err.value)


def test_list_pattern(fake_plugin):
    assert zoo_core.list_models("*tiny") == ["fake/tiny"]
    assert zoo_core.list_models("tin") == ["fake/tiny"]  # no wildcard: a substring, as `wzoo list`
    assert zoo_core.list_models("nothing*") == []


def _run_python(code: str, **env) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(TESTS), **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120)


def test_listing_imports_no_torch():
    code = textwrap.dedent("""
        import sys, json, zoo_core
        from zoo_core.cli import main
        zoo_core.list_models(); zoo_core.list_plugins()
        main(["list"]); main(["plugins", "--json"]); main(["run", "--list"])
        heavy = [m for m in ("torch", "timm", "peft", "huggingface_hub", "numpy") if m in sys.modules]
        print(json.dumps(heavy))
    """)
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
