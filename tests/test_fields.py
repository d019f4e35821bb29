"""Fields a batch may lack are computed from the ones it has, the way the data sets define them."""

import numpy as np
import pytest
import torch

from zoo_core.data.generators import city
from zoo_core.errors import InputFieldError
from zoo_core.fields import get_field


@pytest.fixture(scope="module")
def scene():
    return city.generate(40, seed=3, n_bs=2, n_ue=10, map_px=16, n_ant=4, n_sc=8)


def test_cir_is_what_the_city_generator_writes(scene):
    cir = get_field({"csi": torch.from_numpy(scene.csi)}, "cir", "test")
    np.testing.assert_allclose(cir.numpy(), scene.cir, rtol=1e-5, atol=1e-9)


def test_power_db_is_the_mean_channel_power_in_db(scene):
    power = get_field({"csi": torch.from_numpy(scene.csi)}, "power_db", "test").numpy()
    expected = [10 * np.log10(np.mean(np.abs(h.astype(np.complex128)) ** 2)) for h in scene.csi]
    np.testing.assert_allclose(power, expected, rtol=1e-5)


def test_a_field_present_in_the_batch_wins_and_a_missing_one_is_named():
    given = torch.zeros(3)
    assert get_field({"power_db": given, "csi": torch.ones(3, 2, dtype=torch.complex64)}, "power_db", "x") is given
    with pytest.raises(InputFieldError, match="head of task 'positioning' reads field 'power_db' \\(or 'csi'"):
        get_field({"cir": torch.ones(2)}, "power_db", "head of task 'positioning'")
    with pytest.raises(InputFieldError, match="reads field 'env_edges'; the batch has"):
        get_field({}, "env_edges", "tower 'env'")
