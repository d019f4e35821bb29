"""The zero-shot tasks' options against the data they are built from."""

import numpy as np


def test_multi_user_candidates_are_distinct_ues_of_one_bs_or_area():
    from zoo_core.data.generators.city import generate
    from zoo_twotower.tasks import MultiUser

    data = generate(61, seed=1, n_bs=3, n_ue=20)  # cut at 61 pairs: the last BS has 1 UE, its area 6
    task = MultiUser()
    idx = np.arange(len(data))
    cand = task.candidates(data, idx)
    bs, area = data.extras["bs_id"], data.scene_id
    assert (cand[idx, task.targets(data, idx)] == idx).all()
    assert all(len(set(row)) == task.k for row in cand)
    assert (area[cand] == area[:, None]).all()
    full = np.bincount(bs)[bs] >= task.k
    assert (bs[cand[full]] == bs[full, None]).all()
    assert not full.all()  # the cut BS was exercised


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
