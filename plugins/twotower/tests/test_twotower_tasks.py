"""The zero-shot tasks' options against the data they are built from."""

import numpy as np


def test_multi_user_candidates_are_distinct_ues_of_one_bs():
    import pytest

    from zoo_core.data.generators.city import generate
    from zoo_core.tasks import TaskError
    from zoo_twotower.tasks import MultiUser

    data = generate(61, seed=1, n_bs=3, n_ue=20)  # cut at 61 pairs: the last BS has 1 UE
    task = MultiUser()
    bs = data.extras["bs_id"]
    ok = task.valid(data)
    np.testing.assert_array_equal(ok, np.bincount(bs)[bs] >= task.k)
    assert ok.sum() == 60 and not ok.all()  # the cut BS is left out, not given other BSs' UEs
    idx = np.flatnonzero(ok)
    cand = task.candidates(data, idx)
    assert (cand[np.arange(len(idx)), task.targets(data, idx)] == idx).all()
    assert all(len(set(row)) == task.k for row in cand)
    assert (bs[cand] == bs[idx, None]).all()
    with pytest.raises(TaskError, match="fewer than 5 samples"):
        task.candidates(data, np.flatnonzero(~ok))


def test_map_scale_options_change_only_the_scale_entry(city_small):
    from zoo_twotower.position import env_arrays
    from zoo_twotower.tasks import MapScale

    task = MapScale()
    idx = np.arange(0, 300, 7)
    options = task.options(city_small, idx)
    vectors = np.stack([env_arrays(city_small, idx, **o)["position_vector"] for o in options], 1)
    s = np.asarray(city_small.map_scale)[city_small.scene_id[idx]]
    assert (vectors[:, :, :7] == vectors[:, :1, :7]).all()  # map pixels, heights and LOS identical
    ratio = vectors[:, :, 7] / s[:, None]
    np.testing.assert_allclose(np.sort(ratio, 1), np.tile([0.8, 1.0, 1.2], (len(idx), 1)), rtol=1e-6)
    np.testing.assert_allclose(ratio[np.arange(len(idx)), task.targets(city_small, idx)], 1.0, rtol=1e-6)
