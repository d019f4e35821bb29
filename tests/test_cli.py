"""The `wzoo` command line: outputs, exit codes (0 ok, 1 user error, 2 usage)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import zoo_core
from zoo_core.cli import main

pytestmark = pytest.mark.usefixtures("fake_plugin")


def test_list_and_json(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fake/tiny" in out and "los,positioning" in out
    assert main(["list", "tiny", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["fake/tiny"] and rows[0]["hub_repo"] == "wzoo-test/fake-tiny"


def test_plugins_shows_failures(use_plugins, tmp_path, monkeypatch, capsys):
    (tmp_path / "wzoo_explodes.py").write_text("raise ValueError('bad config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    use_plugins({"fake": "wzoo_fakes", "explodes": "wzoo_explodes"})
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "explodes" in out and "failed" in out and "ValueError: bad config" in out
    assert main(["plugins", "--json"]) == 0
    status = {p["name"]: p["status"] for p in json.loads(capsys.readouterr().out)}
    assert status["explodes"] == "failed" and status["fake"] == "loaded"


def test_a_plugin_command_cannot_shadow_a_built_in(use_plugins, tmp_path, monkeypatch, capsys):
    (tmp_path / "wzoo_shadow.py").write_text(
        "from zoo_core import hookimpl\n\n@hookimpl\ndef register_commands(register):\n"
        "    register('list', 'wzoo_shadow:configure')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    use_plugins({"fake": "wzoo_fakes", "shadow": "wzoo_shadow"})
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    assert "fake/tiny" in captured.out and "'list', which already exists" in captured.err


def test_info(capsys):
    assert main(["info", "fake/tiny"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["encoders"][0]["backbone"]["name"] == "fake/tiny-attn" and info["hub_repo"] == "wzoo-test/fake-tiny"
    assert [h["task"] for h in info["heads"]] == ["los", "positioning"]


def test_user_errors_exit_1_with_one_line(capsys):
    assert main(["info", "fake/tinyy"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Did you mean: fake/tiny" in err
    assert main(["pull", "./missing/folder"]) == 1
    assert "no such model folder" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["list", "--bogus"])
    assert exit_.value.code == 2
    assert main([]) == 2


def test_card_renders_and_validates(tmp_path, capsys):
    zoo_core.create_model("fake/tiny").save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "README.md").unlink()
    assert main(["card", str(tmp_path / "m"), "--repo-id", "org/name"]) == 0
    assert "valid" in capsys.readouterr().out
    assert 'from_pretrained("hf-hub:org/name")' in (tmp_path / "m" / "README.md").read_text()
    (tmp_path / "m" / "config.json").unlink()
    assert main(["card", str(tmp_path / "m")]) == 1


@pytest.mark.usefixtures("hf_cache")
def test_push_then_pull(hub, hub_repo_id, tmp_path, capsys):
    zoo_core.create_model("fake/tiny").save_pretrained(tmp_path / "m")
    assert main(["push", str(tmp_path / "m"), hub_repo_id]) == 0
    sha = capsys.readouterr().out.strip()
    assert hub.repo_state(hub_repo_id)["branches"]["main"] == sha
    hub.clear_log()
    assert main(["pull", f"hf-hub:{hub_repo_id}"]) == 0
    assert f"(commit {sha})" in capsys.readouterr().out
    assert hub.count("GET", "model.safetensors") == 1
    assert main(["pull", f"hf-hub:{hub_repo_id}", "--revision", "nope"]) == 1
    assert main(["push", str(tmp_path), hub_repo_id]) == 1  # not a model folder


def test_run_lists_and_rejects_unknown(capsys):
    assert main(["run", "--list"]) == 0
    assert main(["run", "no/such-recipe"]) == 1
    assert "unknown recipe" in capsys.readouterr().err


def test_console_script_exit_codes():
    wzoo = Path(sys.executable).parent / "wzoo"
    ok = subprocess.run([str(wzoo), "list"], capture_output=True, text=True, timeout=60)
    bad = subprocess.run([str(wzoo), "info", "nope/nope"], capture_output=True, text=True, timeout=60)
    usage = subprocess.run([str(wzoo), "frobnicate"], capture_output=True, text=True, timeout=60)
    assert (ok.returncode, bad.returncode, usage.returncode) == (0, 1, 2)
    assert bad.stderr.startswith("wzoo: error: unknown model 'nope/nope'")
