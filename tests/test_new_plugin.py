"""`wzoo new-plugin NAME`: the one plugin layout, written from templates and passing the contract
kit as generated; and the repository's own plugins follow the same layout."""

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from zoo_core.cli import main

ROOT = Path(__file__).parents[1]

#: the layout of every plugin, in `plugins/<name>/`; a tuple means one of them
LAYOUT = (
    "pyproject.toml",
    "README.md",
    "zoo_{name}/__init__.py",
    "zoo_{name}/plugin.py",
    ("zoo_{name}/towers.py", "zoo_{name}/model.py"),
    "zoo_{name}/transforms.py",
    "zoo_{name}/heads.py",
    "zoo_{name}/losses.py",
    "zoo_{name}/errors.py",
    "tests/",
    "benchmarks/",
)


def missing_from_layout(folder: Path, name: str) -> list[str]:
    missing = []
    for entry in LAYOUT:
        options = entry if isinstance(entry, tuple) else (entry,)
        paths = [folder / o.format(name=name) for o in options]
        if not any(p.is_dir() if o.endswith("/") else p.is_file() for p, o in zip(paths, options)):
            missing.append(" or ".join(o.format(name=name) for o in options))
    return missing


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("wzoo: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def demo(tmp_path, monkeypatch, use_plugins):
    """`wzoo new-plugin demo`, loaded in-process as if installed: on sys.path (and PYTHONPATH,
    for the contract kit's torch-free import check in a subprocess) with a `wzoo` entry point."""
    out = tmp_path / "demo"
    assert main(["new-plugin", "demo", "--out", str(out)]) == 0
    monkeypatch.syspath_prepend(str(out))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(out), os.environ.get("PYTHONPATH")])))
    use_plugins({"demo": "zoo_demo.plugin"})
    yield out
    for module in [m for m in sys.modules if m == "zoo_demo" or m.startswith("zoo_demo.")]:
        del sys.modules[module]


def test_new_plugin_writes_the_whole_layout(tmp_path, capsys):
    out = tmp_path / "radar_fm"
    assert main(["new-plugin", "radar_fm", "--out", str(out)]) == 0
    assert missing_from_layout(out, "radar_fm") == []
    assert (out / "tests" / "test_contract.py").is_file() and (out / "benchmarks" / "bench_radar_fm.py").is_file()
    assert "wrote plugin 'radar_fm'" in capsys.readouterr().out
    text = {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}
    assert not [p for p, t in text.items() if "{{" in t or "NAME" in p], "a template token was left unfilled"
    project = tomllib.loads(text["pyproject.toml"])["project"]
    assert project["name"] == "wzoo-radar_fm" and project["entry-points"]["wzoo"] == {"radar_fm": "zoo_radar_fm.plugin"}
    assert "import torch" not in text["zoo_radar_fm/plugin.py"] and "RadarFmError(WzooError)" in text["zoo_radar_fm/errors.py"]
    assert 'check_plugin("radar_fm", tmp_path)' in text["tests/test_contract.py"]
    for module in ("towers", "transforms", "heads"):
        assert "zoo_core.validation import" in text[f"zoo_radar_fm/{module}.py"] and ": Size" in text[f"zoo_radar_fm/{module}.py"]


def test_default_out_is_plugins_slash_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new-plugin", "demo"]) == 0
    assert missing_from_layout(tmp_path / "plugins" / "demo", "demo") == []


def test_generated_plugin_registers_and_passes_the_contract_kit(demo, tmp_path):
    import zoo_demo

    from zoo_core import create_model
    from zoo_core.errors import ConfigValueError
    from zoo_core.plugins import registry, state
    from zoo_core.testing import check_plugin

    assert zoo_demo.__version__ == "0.1.0" and state().plugins["demo"].status == "loaded"
    spec = registry().get("model", "demo/tiny")
    assert spec.tower == "signal" and spec.fields == {"signal": {"shape": [2, 16], "dtype": "float32"}}
    assert {t: h["name"] for t, h in spec.heads.items()} == {"los": "linear", "positioning": "demo/bounded"}
    for kind, name in (("backbone", "demo/mlp"), ("transform", "demo/flatten"), ("head", "demo/bounded")):
        assert registry().get(kind, name).plugin == "demo"

    reports = check_plugin("demo", tmp_path / "contract")
    assert [r.model for r in reports] == ["demo/tiny"] and reports[0].output_shapes["positioning"] == (3, 2)
    with pytest.raises(ConfigValueError, match="width=0"):  # the Size annotations guard the arguments
        create_model("demo/tiny", width=0)

    # the generated tests themselves, as `pytest tests/` in the generated folder would run them
    spec = importlib.util.spec_from_file_location("demo_generated_tests", demo / "tests" / "test_contract.py")
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    tests = [name for name in vars(generated) if name.startswith("test_")]
    assert "test_contract" in tests and len(tests) >= 2
    for name in tests:
        fn = getattr(generated, name)
        fn(tmp_path / name) if "tmp_path" in fn.__code__.co_varnames[:fn.__code__.co_argcount] else fn()


def test_generated_benchmark_prints_a_ratio(tmp_path):
    out = tmp_path / "demo"
    assert main(["new-plugin", "demo", "--out", str(out)]) == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(out), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, str(out / "benchmarks" / "bench_demo.py"), "--n", "32", "--repeats", "1"],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"ratio loop/batched = \d+\.\d+x", result.stdout), result.stdout


@pytest.mark.parametrize("name", ["Demo", "d", "1demo", "_demo", "de-mo", "de mo", "a" * 32, "zoo/demo", "", "core"])
def test_a_bad_name_exits_1_with_one_line(name, tmp_path, capsys):
    assert main(["new-plugin", name, "--out", str(tmp_path / "out")]) == 1
    assert "plugin name" in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_a_non_empty_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["new-plugin", "demo", "--out", str(out)]) == 1
    assert "pick another --out" in one_line_error(capsys)
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    (tmp_path / "a-file").write_text("")
    assert main(["new-plugin", "demo", "--out", str(tmp_path / "a-file")]) == 1
    assert "pick another --out" in one_line_error(capsys)
    (tmp_path / "empty").mkdir()  # an existing empty folder is fine
    assert main(["new-plugin", "demo", "--out", str(tmp_path / "empty")]) == 0


@pytest.mark.parametrize("plugin", ["wavesfm", "lvm4csi"])
def test_repository_plugins_follow_the_layout(plugin):
    folder = ROOT / "plugins" / plugin
    assert missing_from_layout(folder, plugin) == []
    assert list((folder / "tests").glob("test_*.py")) and list((folder / "benchmarks").glob("bench_*.py"))
    assert not list((ROOT / "benchmarks").glob(f"bench_{plugin}_*.py")), "plugin benchmarks live in the plugin"
    assert not list((ROOT / "model_cards").glob(f"{plugin}--*.md")), "cards live in model_cards/<plugin>/"
    version = tomllib.loads((folder / "pyproject.toml").read_text())["project"]["version"]
    package = importlib.import_module(f"zoo_{plugin}")
    assert package.__version__ == version
