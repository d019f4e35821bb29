"""Composition, save/load round trips, strict loading and every typed load error."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

import zoo_core
from zoo_core.errors import (
    ConfigVersionError,
    CorruptWeightsError,
    NotAZooModelError,
    PluginNotInstalledError,
    UnknownNameError,
    UnsafeWeightsError,
    WeightsMismatchError,
    WzooError,
)
from zoo_core.testing import check_model

pytestmark = pytest.mark.usefixtures("fake_plugin")
X = torch.randn(3, 1, 8, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def saved(tmp_path):
    model = zoo_core.create_model("fake/tiny").eval()
    model.save_pretrained(tmp_path / "m")
    return model, tmp_path / "m"


def test_multi_task_model_shapes():
    model = zoo_core.create_model("fake/tiny", dim=12)
    assert model.tasks == ["los", "positioning"]
    assert model(X, task="los").shape == (3, 2)
    assert model(X, task="positioning").shape == (3, 3)
    assert model.forward_features(X).shape == (3, 12)
    assert model(X).shape == (3, 2)  # first task is the default
    model.set_task("positioning")
    assert model(X).shape == (3, 3)


def test_transform_config_is_applied_and_restored(saved):
    model, folder = saved
    standardized = (X - 0.5) / 2.0
    torch.testing.assert_close(model(X, task="los"), model(standardized, task="los", transform=False))
    config = json.loads((folder / "config.json").read_text())
    assert config["encoders"][0]["transform"] == {"name": "standardize", "config": {"mean": [0.5], "std": [2.0]}}
    assert zoo_core.from_pretrained(str(folder)).transform.config == {"mean": [0.5], "std": [2.0]}


@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_round_trip_is_bit_identical(saved, as_path):
    model, folder = saved
    loaded = zoo_core.from_pretrained(folder if as_path else str(folder))
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert torch.equal(model(X, task="positioning"), loaded(X, task="positioning"))


def test_a_reference_of_another_type_is_one_line():
    with pytest.raises(NotAZooModelError, match="not int"):
        zoo_core.from_pretrained(3)


def test_contract_kit_passes_and_reports(tmp_path):
    report = check_model("fake/tiny", tmp_path)
    assert report.output_shapes == {"encode:main": (3, 16), "features": (3, 16), "los": (3, 2), "positioning": (3, 3)}
    assert "arxiv:2504.14100" in report.card["tags"]


def test_contract_kit_catches_a_registration_module_that_imports_torch(tmp_path, monkeypatch):
    from zoo_core.testing.contract import check_registration_is_torch_free

    (tmp_path / "wzoo_heavy.py").write_text("import torch\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(AssertionError, match="imports torch at import time"):
        check_registration_is_torch_free("wzoo_heavy")
    check_registration_is_torch_free("zoo_core.builtins")


def test_contract_kit_catches_a_model_that_does_not_round_trip(monkeypatch, tmp_path):
    from zoo_core import serialization

    real = serialization.read_tensors

    def lossy(path):
        state = real(path)
        key = next(k for k in state if k.endswith("q.weight"))
        state[key] = state[key] + 1e-3
        return state

    monkeypatch.setattr(serialization, "read_tensors", lossy)
    with pytest.raises(AssertionError, match="differs after reload"):
        check_model("fake/tiny", tmp_path)


def test_missing_and_unexpected_keys_are_listed(saved):
    _, folder = saved
    state = load_file(folder / "model.safetensors")
    state["encoders.main.backbone.extra.weight"] = torch.zeros(1)
    del state["encoders.main.backbone.q.weight"]
    save_file(state, folder / "model.safetensors")
    with pytest.raises(WeightsMismatchError) as err:
        zoo_core.from_pretrained(str(folder))
    assert err.value.missing == ["encoders.main.backbone.q.weight"]
    assert err.value.unexpected == ["encoders.main.backbone.extra.weight"]
    assert "backbone.q.weight" in str(err.value) and "backbone.extra.weight" in str(err.value)


def test_shape_mismatch_is_listed(saved):
    _, folder = saved
    state = load_file(folder / "model.safetensors")
    state["heads.los.fc.weight"] = torch.zeros(5, 16)
    save_file(state, folder / "model.safetensors")
    with pytest.raises(WeightsMismatchError, match=r"heads.los.fc.weight \(file \(5, 16\) vs model \(2, 16\)\)"):
        zoo_core.from_pretrained(str(folder))


@pytest.mark.parametrize("cut", [4, 100, -10])
def test_truncated_or_corrupt_weights(saved, cut):
    _, folder = saved
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut > 0 else data[:cut] + b"garbage!!")
    with pytest.raises(CorruptWeightsError, match="not a readable safetensors file"):
        zoo_core.from_pretrained(str(folder))


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pth"])
def test_pickles_are_refused(tmp_path, name):
    folder = tmp_path / "pickled"
    folder.mkdir()
    torch.save({"w": torch.zeros(1)}, folder / name)
    (folder / "config.json").write_text("{}")
    with pytest.raises(UnsafeWeightsError, match="never unpickles"):
        zoo_core.from_pretrained(str(folder))
    with pytest.raises(UnsafeWeightsError):
        zoo_core.from_pretrained(str(folder / name))


def test_newer_format_version_is_refused(saved):
    _, folder = saved
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigVersionError, match="format_version 99.*Upgrade wzoo"):
        zoo_core.from_pretrained(str(folder))


def test_config_cannot_name_an_import_path(saved):
    _, folder = saved
    config = json.loads((folder / "config.json").read_text())
    config["encoders"][0]["backbone"]["name"] = "os:system"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises((UnknownNameError, PluginNotInstalledError)):
        zoo_core.from_pretrained(str(folder))


def test_missing_plugin_names_the_distribution(saved):
    _, folder = saved
    config = json.loads((folder / "config.json").read_text())
    config.update(plugin="radar", distribution="wzoo-radar")
    config["encoders"][0]["backbone"]["name"] = "radar/big-vit"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PluginNotInstalledError, match="pip install wzoo-radar"):
        zoo_core.from_pretrained(str(folder))


@pytest.mark.parametrize("setup,match", [
    (lambda f: None, "no config.json"),
    (lambda f: (f / "config.json").write_text('{"architectures": ["Bert"]}'), "not a wzoo config"),
    (lambda f: (f / "config.json").write_text("{not json"), "not valid JSON"),
])
def test_not_a_zoo_model(tmp_path, setup, match):
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"")
    setup(folder)
    with pytest.raises(WzooError, match=match):
        zoo_core.from_pretrained(str(folder))


def test_unknown_registered_name_and_missing_folder():
    with pytest.raises(UnknownNameError, match="fake/tiny"):
        zoo_core.from_pretrained("fake/tiy")
    with pytest.raises(NotAZooModelError, match="no such model folder"):
        zoo_core.from_pretrained("./does/not/exist")
    with pytest.raises(WzooError, match="no pretrained weights on the Hub"):
        zoo_core.from_pretrained("fake/no-hub")


def test_transform_can_be_swapped_by_name():
    model = zoo_core.create_model("fake/tiny", transform="identity")
    assert model.config.to_json()["encoders"][0]["transform"] == {"name": "identity", "config": {}}
    torch.testing.assert_close(model(X), model(X, transform=False))
    restandardized = zoo_core.create_model("fake/tiny", transform_config={"mean": [1.0], "std": [3.0]})
    assert restandardized.transform.config == {"mean": [1.0], "std": [3.0]}


def test_bad_override_lists_accepted_arguments():
    with pytest.raises(WzooError, match=r"unknown argument depth=3 \(accepted: dim, in_features, norm, pretrained, tokens\)"):
        zoo_core.create_model("fake/tiny", depth=3)


def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch, saved):
    model, folder = saved
    before = (folder / "model.safetensors").read_bytes()
    import safetensors.torch

    def explode(tensors, filename, metadata=None):
        open(filename, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        model.save_pretrained(folder)
    assert (folder / "model.safetensors").read_bytes() == before
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------ adapters
def _model_with_adapters():
    from peft import LoraConfig

    torch.manual_seed(1)
    model = zoo_core.create_model("fake/tiny")
    model.add_adapter("los", LoraConfig(r=2, lora_alpha=4, target_modules=["q", "v"]))
    model.add_adapter("positioning", LoraConfig(r=3, target_modules=["q"]))
    for name, p in model.named_parameters():
        if "lora_B" in name:  # peft initialises B to zero: make the adapters do something
            torch.nn.init.normal_(p)
    return model.eval()


def test_adapters_switch_by_task_and_freeze_the_backbone():
    model = _model_with_adapters()
    trainable = {n for n, p in model.backbone.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n for n in trainable)
    assert not any(".k." in n for n in trainable)
    plain = zoo_core.create_model("fake/tiny").eval()
    plain.load_state_dict(model.base_state_dict())
    # each task's features differ from the bare backbone's: its own adapter is active
    feats = {t: model.set_task(t).forward_features(X) for t in model.tasks}
    assert not torch.allclose(feats["los"], plain.forward_features(X))
    assert not torch.allclose(feats["los"], feats["positioning"])


def test_adapters_round_trip(tmp_path):
    model = _model_with_adapters()
    expected = {t: model(X, task=t) for t in model.tasks}
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m" / "adapters" / "los" / "main").iterdir()) == [
        "adapter_config.json", "adapter_model.safetensors"]
    loaded = zoo_core.from_pretrained(str(tmp_path / "m"))
    for task, out in expected.items():
        assert torch.equal(loaded(X, task=task), out)
    base = load_file(tmp_path / "m" / "model.safetensors")
    assert not any("lora_" in k or "base_layer" in k for k in base)


def test_plain_peft_loads_a_saved_adapter(tmp_path):
    from peft import PeftModel

    model = _model_with_adapters()
    model.save_pretrained(tmp_path / "m")
    bare = zoo_core.create_model("fake/tiny").eval()
    bare.load_state_dict(model.base_state_dict())
    peft_backbone = PeftModel.from_pretrained(bare.backbone, str(tmp_path / "m" / "adapters" / "los" / "main")).eval()
    model.set_task("los")
    expected = model.backbone.forward_features(model.transform(X))
    torch.testing.assert_close(peft_backbone.base_model.model.forward_features(model.transform(X)), expected)


def test_freeze_backbone_keeps_last_blocks_trainable():
    model = zoo_core.create_model("fake/tiny").freeze_backbone(trainable_blocks=1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"encoders.main.backbone.blocks.1.weight", "encoders.main.backbone.blocks.1.bias", "heads.los.fc.weight",
                         "heads.los.fc.bias", *{n for n in trainable if n.startswith("heads.positioning")}}


def test_loading_never_downloads_pretrained_weights(saved):
    model, folder = saved
    config = json.loads((folder / "config.json").read_text())
    config["encoders"][0]["backbone"]["args"]["pretrained"] = True  # as saved by create_model(..., pretrained=True)
    (folder / "config.json").write_text(json.dumps(config))
    assert torch.equal(zoo_core.from_pretrained(str(folder))(X), model(X))


def test_saved_files_are_readable_by_others(saved):
    import os

    _, folder = saved
    umask = os.umask(0)
    os.umask(umask)
    for name in ("config.json", "model.safetensors", "README.md"):
        assert (folder / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_saving_with_metrics_leaves_the_model_config_alone(tmp_path):
    model = zoo_core.create_model("fake/tiny")
    model.save_pretrained(tmp_path / "a", metrics={"accuracy": 0.9})
    model.save_pretrained(tmp_path / "b")
    assert "accuracy" not in (tmp_path / "b" / "README.md").read_text()


def test_resaving_drops_adapters_the_model_no_longer_has(tmp_path):
    _model_with_adapters().save_pretrained(tmp_path / "m")
    zoo_core.create_model("fake/tiny").save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m" / "adapters").exists() or not any((tmp_path / "m" / "adapters").iterdir())
    assert zoo_core.from_pretrained(str(tmp_path / "m")).adapter_configs == {}


def test_forward_features_uses_the_active_task_adapter():
    model = _model_with_adapters()
    model.set_task("los")
    los_features = model.forward_features(X)
    model(X, task="positioning")  # an explicit task for one call does not change the active one
    assert torch.equal(model.forward_features(X), los_features)
