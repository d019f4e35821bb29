"""The worked example of CONTRIBUTING.md, end to end: installed, listed, contract, Hub, recipe."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo_core
from zoo_core.testing import check_plugin

WZOO = str(Path(sys.executable).parent / "wzoo")


def test_installed_plugin_is_listed_by_the_cli():
    out = subprocess.run([WZOO, "list", "example/*", "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [m["name"] for m in json.loads(out.stdout)] == ["example/tiny-mlp"]
    plugins = json.loads(subprocess.run([WZOO, "plugins", "--json"], capture_output=True, text=True,
                                        timeout=60).stdout)
    example = next(p for p in plugins if p["name"] == "example")
    assert example == {**example, "distribution": "wzoo-example", "status": "loaded", "error": None}


def test_contract_kit(tmp_path):
    [report] = check_plugin("example", tmp_path)
    assert report.output_shapes["los"] == (3, 2)
    assert report.num_parameters == 128 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2


@pytest.mark.usefixtures("hf_cache")
def test_push_and_pull_back(hub, hub_repo_id):
    model = zoo_core.create_model("example/tiny-mlp", transform_config={"mean_db": -90.0, "std_db": 5.0})
    sha = model.push_to_hub(hub_repo_id)
    pulled = zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}@{sha}")
    assert pulled.transform.config == {"mean_db": -90.0, "std_db": 5.0}
    csi = torch.randn(3, 1, 8, 16, 1, dtype=torch.complex64)
    assert torch.equal(pulled(csi), model.eval()(csi))
    assert hub.count("GET", f"resolve/{sha}/model.safetensors") == 1


def test_recipe_writes_metrics_plots_and_a_model(tmp_path):
    from zoo_core.recipes import run_recipe

    metrics = run_recipe("example/los", tmp_path, {"n": 1500, "epochs": 4})
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["recipe"] == "example/los" and record["metrics"] == metrics
    assert metrics["n_train"] + metrics["n_test"] == 1500
    # it learns: better than always answering the majority class of the unseen areas
    assert metrics["test_accuracy"] > metrics["majority_baseline"] + 0.03
    for png in ("confusion.png", "training.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reloaded = zoo_core.from_pretrained(str(tmp_path / "model"))
    assert reloaded.tasks == ["los"]
    assert "test_accuracy" in (tmp_path / "model" / "README.md").read_text()
