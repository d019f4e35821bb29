"""Format-version-1 model folders, saved by wzoo 0.1.0 (tests/fixtures/v1/make_v1_fixtures.py),
keep loading with bit-identical outputs for every task and adapter."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import zoo_core

FIXTURES = Path(__file__).parent / "fixtures" / "v1"
FOLDERS = sorted(p.name for p in FIXTURES.iterdir() if (p / "config.json").exists())


def test_the_fixtures_are_there():
    assert FOLDERS == ["example-tiny-mlp", "lvm4csi-loc-convfeatext", "wavesfm-tiny-lora"]


@pytest.mark.parametrize("name", FOLDERS)
def test_v1_folder_reloads_bit_identically(name):
    expected = load_file(str(FIXTURES / name / "expected.safetensors"))
    model = zoo_core.from_pretrained(str(FIXTURES / name))
    x = expected["input"]
    tasks = [k.removeprefix("task.") for k in expected if k.startswith("task.")]
    assert sorted(model.tasks) == sorted(tasks)
    with torch.no_grad():
        for task in tasks:
            assert torch.equal(model(x, task=task), expected[f"task.{task}"]), task
        model.set_task(tasks[0])
        assert torch.equal(model.forward_features(x), expected["features"])


def test_the_lora_adapter_is_live():
    """The wavesfm fixture's adapter changes its task's output, so the test above checks it."""
    expected = load_file(str(FIXTURES / "wavesfm-tiny-lora" / "expected.safetensors"))
    model = zoo_core.from_pretrained(str(FIXTURES / "wavesfm-tiny-lora"))
    model.set_task("positioning")
    with torch.no_grad():
        plain = model.forward_features(expected["input"])
        model.set_task("activity")
        adapted = model.forward_features(expected["input"])
    assert not torch.allclose(plain, adapted)
