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
    assert [m["name"] for m in json.loads(out.stdout)] == ["example/csi-position-clip", "example/tiny-mlp"]
    plugins = json.loads(subprocess.run([WZOO, "plugins", "--json"], capture_output=True, text=True,
                                        timeout=60).stdout)
    example = next(p for p in plugins if p["name"] == "example")
    assert example == {**example, "distribution": "wzoo-example", "status": "loaded", "error": None}


def test_contract_kit(tmp_path):
    reports = {r.model: r for r in check_plugin("example", tmp_path)}
    mlp, clip = reports["example/tiny-mlp"], reports["example/csi-position-clip"]
    assert mlp.output_shapes["los"] == (3, 2)
    assert mlp.num_parameters == 128 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2
    assert clip.output_shapes["retrieval"] == (3, 3) and clip.output_shapes["encode:position"] == (3, 32)
    towers = (128 * 64 + 64 + 64 * 64 + 64 + 64 * 32) + (3 * 32 + 32 + 32 * 32 + 32 + 32 * 32)
    assert clip.num_parameters == towers + 1  # + the learnable logit scale


def test_two_tower_example_learns_to_pair_csi_with_position():
    """CLIP training on built-in city scenes: on unseen areas, a CSI's own UE position is among
    its 5 best matches of 100 far more often than chance (0.05); seed 0 gives 0.36."""
    from zoo_core.data.generators.city import generate
    from zoo_core.data.sample import scene_split
    from zoo_core.objectives import ContrastiveObjective
    from zoo_core.train import TrainConfig, fit

    data = generate(1500, seed=0, n_ant=8, n_sc=16)
    train, test = scene_split(data, (0.8, 0.2), seed=0)
    fields = {"csi": torch.from_numpy(data.csi), "ue_pos": torch.from_numpy(data.ue_pos),
              "bs_pos": torch.from_numpy(data.bs_pos)}
    db = 20 * torch.log10(fields["csi"][train].abs() + 1e-12)
    torch.manual_seed(0)
    model = zoo_core.create_model("example/csi-position-clip", towers={
        "csi": {"transform_config": {"mean_db": db.mean().item(), "std_db": db.std().item()}}})
    pairs = [{k: v[i] for k, v in fields.items()} for i in train]
    fit(ContrastiveObjective(model, "retrieval"), pairs,
        config=TrainConfig(epochs=15, lr=3e-3, batch_size=64, seed=0, progress=False))
    with torch.no_grad():
        logits = model({k: v[test[:100]] for k, v in fields.items()}, task="retrieval")
    recall5 = (logits.topk(5, dim=1).indices == torch.arange(100)[:, None]).any(1).float().mean().item()
    assert recall5 > 0.2, recall5


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

    metrics = run_recipe("example/los", tmp_path, {"n": 1500, "epochs": 15})
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["recipe"] == "example/los" and record["metrics"] == metrics
    assert sum(metrics["split"]["sizes"].values()) == 1500
    # it learns: better than always answering the majority class of the unseen areas
    assert metrics["accuracy"] > metrics["majority_accuracy"] + 0.03
    for png in ("confusion.png", "training.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reloaded = zoo_core.from_pretrained(str(tmp_path / "model"))
    assert reloaded.tasks == ["los"]
    card = (tmp_path / "model" / "README.md").read_text()
    assert "mean_class_accuracy" in card and metrics["split"]["sha256"][:12] in card


def test_recipe_runs_on_a_file_given_with_data(tmp_path):
    """`wzoo run example/los --data FILE`: a user's own sample-format file, recorded on the card."""
    from zoo_core.cli import main
    from zoo_core.data.generators.city import generate

    generate(900, seed=4, n_ant=4, n_sc=8).save(tmp_path / "mine.h5")
    assert main(["run", "example/los", "--data", str(tmp_path / "mine.h5"), "--out", str(tmp_path / "out"),
                 "--set", "epochs=2"]) == 0
    record = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert record["options"]["data"] == str(tmp_path / "mine.h5")
    card = (tmp_path / "out" / "model" / "README.md").read_text()
    assert "mine.h5" in card and zoo_core.from_pretrained(str(tmp_path / "out" / "model")).tasks == ["los"]
