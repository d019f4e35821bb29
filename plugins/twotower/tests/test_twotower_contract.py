import pytest
import torch

from zoo_core.testing import check_model


def test_contract_kit_on_the_tiny_model(tmp_path):
    report = check_model("twotower/env-csi-tiny", tmp_path)
    assert report.output_shapes["retrieval"] == (3, 3)
    assert report.output_shapes["csi-feedback"] == (3, 2, 32, 64)


def test_towers_refuse_bad_inputs_with_one_line():
    import zoo_core
    from zoo_twotower.errors import InputShapeError

    model = zoo_core.create_model("twotower/env-csi-tiny")
    with pytest.raises(InputShapeError, match="complex"):
        model.encode({"csi": torch.zeros(2, 32, 64)}, "csi")
    with pytest.raises(InputShapeError, match="position_vector"):
        model.encode({"env_edges": torch.zeros(2, 128, 128), "position_vector": torch.zeros(2, 7)}, "env")


def test_registration_is_torch_free_and_arguments_are_annotated():
    from zoo_core.testing.contract import check_arguments_are_annotated, check_registration_is_torch_free

    check_registration_is_torch_free("zoo_twotower.plugin")
    check_arguments_are_annotated("twotower")
