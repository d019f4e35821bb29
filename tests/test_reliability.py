"""Faults and bad input of issue 13 that are fixed so far: each test reproduces the fault."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import zoo_core
from zoo_core.cli import main
from zoo_core.errors import PluginDisabledError, PluginLoadError, PluginNotInstalledError

WZOO = str(Path(sys.executable).parent / "wzoo")


@pytest.fixture
def plugin_modules(tmp_path, monkeypatch):
    def write(name, body):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))

    monkeypatch.syspath_prepend(str(tmp_path))
    return write


def test_a_plugin_that_exits_at_import_is_isolated(use_plugins, plugin_modules, capsys):
    plugin_modules("wzoo_exits", "import sys\nsys.exit(3)\n")
    use_plugins({"exits": "wzoo_exits", "fake": "wzoo_fakes"})
    info = {p.name: p for p in zoo_core.list_plugins()}
    assert info["exits"].status == "failed" and "SystemExit" in info["exits"].error
    assert main(["list"]) == 0 and "fake/tiny" in capsys.readouterr().out


def test_an_entry_point_named_core_does_not_replace_the_core(use_plugins, plugin_modules):
    plugin_modules("wzoo_fake_core", """
        from zoo_core import hookimpl

        @hookimpl
        def register_heads(register):
            register("linear", "wzoo_fake_core:nothing")
    """)
    use_plugins({"core": "wzoo_fake_core"})
    cores = [p for p in zoo_core.list_plugins() if p.name == "core"]
    assert [(p.module, p.status) for p in cores] == [("zoo_core.builtins", "loaded"), ("wzoo_fake_core", "failed")]
    assert "duplicate plugin name" in cores[1].error
    from zoo_core.plugins import registry

    assert registry().get("head", "linear").factory == "zoo_core.heads:LinearHead"


def test_the_owner_of_a_prefix_wins_whichever_loads_first(use_plugins, plugin_modules):
    plugin_modules("wzoo_squatter", """
        from zoo_core import hookimpl

        @hookimpl
        def register_backbones(register):
            register("fake/tiny-attn", "wzoo_squatter:Other")
    """)
    use_plugins({"aaa": "wzoo_squatter", "fake": "wzoo_fakes"})  # "aaa" loads before "fake"
    plugins = {p.name: p for p in zoo_core.list_plugins()}
    assert plugins["aaa"].status == "failed" and "owned by plugin 'fake'" in plugins["aaa"].error
    assert plugins["fake"].status == "loaded"
    assert zoo_core.create_model("fake/tiny") is not None


@pytest.mark.parametrize("var,value,match", [("WZOO_STRICT_PLUGINS", "maybe", "not a yes/no value"),
                                             ("WZOO_PLUGINS", "fake,typo", "names typo"),
                                             ("WZOO_DISABLE_PLUGINS", "nope", "names nope")])
def test_junk_plugin_variables_are_errors(use_plugins, monkeypatch, var, value, match):
    monkeypatch.setenv(var, value)
    use_plugins({"fake": "wzoo_fakes"})
    with pytest.raises(PluginLoadError, match=match):
        zoo_core.list_models()


def test_a_disabled_plugins_model_names_the_variable(use_plugins, monkeypatch):
    monkeypatch.setenv("WZOO_DISABLE_PLUGINS", "fake")
    use_plugins({"fake": "wzoo_fakes"})
    with pytest.raises(PluginDisabledError, match="WZOO_DISABLE_PLUGINS switches off"):
        zoo_core.create_model("fake/tiny")


@pytest.mark.parametrize("dist", ["wzoo-radar --index-url http://evil.example/simple", "x; rm -rf ~", "a b"])
def test_install_advice_never_repeats_untrusted_text(dist):
    err = PluginNotInstalledError("model 'radar/x'", dist)
    assert "pip install" not in str(err) and dist not in str(err)
    assert "pip install wzoo-radar" in str(PluginNotInstalledError("model 'radar/x'", "wzoo-radar"))


def test_the_demo_is_deterministic_for_a_seed(tmp_path):
    """The model used to be built before the seed was set: two runs gave different accuracies."""
    from zoo_core.recipes import run_recipe

    runs = [run_recipe("example/los", tmp_path / str(i), {"n": 600, "epochs": 2, "seed": 3}) for i in range(2)]
    assert runs[0] == runs[1]


def test_out_pointing_at_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    out = subprocess.run([WZOO, "run", "example/los", "--out", str(tmp_path / "file"), "--set", "n=100"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "pass an --out folder" in out.stderr


def test_an_internal_error_is_one_line_unless_debugging(monkeypatch, capsys):
    from zoo_core import cli

    def boom(args):
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "cmd_info", boom)
    assert main(["info", "x/y"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: KeyError" in err and "WZOO_DEBUG=1" in err
    monkeypatch.setenv("WZOO_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["info", "x/y"])


@pytest.mark.parametrize("argv,says", [
    (["pull", "hf-hub:bad--id/x..y"], "is not a Hub repo id"),
    (["run", "example/los", "--out", "{tmp}", "--set", "n=-6"], "n=-6 is not allowed"),
    (["run", "example/los", "--out", "{tmp}", "--set", "seed=abc"], "seed='abc' is not allowed"),
    (["run", "example/los", "--out", "{tmp}", "--set", "n=NaN"], "NaN and infinity"),
    (["data", "make", "geometric", "--n", "4", "--out", "{tmp}/g.h5", "--param", "snr_db=nan"], "NaN and infinity"),
    (["data", "make", "geometric", "--n", "4", "--out", "{tmp}/g.h5", "--param", "M=abc"], "M='abc' is not allowed"),
    (["data", "make", "geometric", "--n", "4", "--out", "{tmp}/g.h5", "--seed", "-1"], "--seed must be"),
    (["data", "make", "geometric", "--n", "4", "--out", "{tmp}"], "pass an --out file"),
])
def test_bad_command_line_values_are_one_typed_line(argv, says, tmp_path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = subprocess.run([WZOO, *argv], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert out.stderr.count("\n") == 1 and says in out.stderr, out.stderr
    assert not (tmp_path / "g.h5").exists()


def test_a_killed_data_save_leaves_nothing_the_next_save_does_not_remove(tmp_path):
    """Killed saves left full-size hidden temporary files that nothing removed."""
    import os
    import signal
    import time

    from zoo_core.data.generators.geometric import generate

    target = tmp_path / "data.h5"
    code = ("import sys; from zoo_core.data.generators.geometric import generate\n"
            "d = generate(4000, seed=0, progress=False)\n"
            "print('ready', flush=True)\n"
            "while True: d.save(sys.argv[1])\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 60
    while not list(tmp_path.glob(".data.h5.*")) and time.time() < deadline:
        time.sleep(0.01)  # kill it while a temporary file exists
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".data.h5.wzoo-tmp-*")), "the kill did not catch a write in progress"
    generate(8, seed=1, progress=False).save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.h5"]


def test_small_files_that_declare_huge_arrays_are_refused_before_reading(tmp_path):
    import h5py
    import numpy as np

    from zoo_core.data.errors import DataTooLargeError
    from zoo_core.data.loaders import load_npy
    from zoo_core.data.sample import WirelessData

    h5 = tmp_path / "huge.h5"
    with h5py.File(h5, "w") as f:  # a few KB on disk: chunked and compressed, never written
        f.create_dataset("csi", shape=(10**9, 1, 1, 1, 1), dtype="complex64", chunks=(1024, 1, 1, 1, 1),
                         compression="gzip")
        f.attrs["wzoo_format"], f.attrs["format_version"] = "wireless-data", 1
    assert h5.stat().st_size < 100_000
    with pytest.raises(DataTooLargeError, match="declares 7.5 GiB.*WZOO_MAX_ARRAY_BYTES"):
        WirelessData.load(h5)
    npy = tmp_path / "huge.npy"
    with open(npy, "wb") as fh:  # a header for 80 GB and no data
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**4)})
    with pytest.raises(DataTooLargeError, match="declares 74.5 GiB"):
        load_npy(npy)
