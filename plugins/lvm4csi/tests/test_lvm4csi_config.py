"""No free-text config value reaches a network or file resolver: `arch` is a choice among the
registered architectures and `revision` a commit sha, checked before anything is built."""

import pytest

import zoo_core
from zoo_core.errors import ConfigValueError
from zoo_core.plugins import registry


@pytest.mark.parametrize("arch", ["hf-hub:evil/model", "local-dir:/etc", "resnet18", "timm/convnext_tiny"])
def test_arch_outside_the_registered_choices_is_refused(arch):
    with pytest.raises(ConfigValueError, match="arch=") as err:
        zoo_core.create_model("lvm4csi/loc-efficientnet-lite0", arch=arch)
    assert "convnext-tiny" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("revision", ["main", "../../x", "a" * 39, "A" * 40])
def test_revision_must_be_a_commit_sha(revision):
    with pytest.raises(ConfigValueError, match="revision="):
        zoo_core.create_model("lvm4csi/har-efficientnet-lite0", revision=revision)


def test_the_registered_arch_list_is_the_one_the_backbone_accepts():
    import importlib
    from typing import get_args

    entry = registry().get("backbone", "lvm4csi/frozen-lvm")
    module = importlib.import_module(entry.factory.split(":")[0])
    assert list(get_args(module.Arch)) == entry.metadata["archs"]
