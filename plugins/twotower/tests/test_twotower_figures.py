"""Fig. 3's 2-D maps: library reducers on both modalities together, split back per modality."""

import numpy as np
import pytest


def _pairs(n=40, d=16, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(n, d))
    return c, c + noise * rng.normal(size=(n, d))


def test_pca_map_is_the_top_two_principal_axes():
    from zoo_twotower.figures import reduce_2d

    x = np.random.default_rng(1).normal(size=(50, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    got = reduce_2d(x, "pca")
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    want = centred @ vt[:2].T
    np.testing.assert_allclose(np.abs(got), np.abs(want), rtol=1e-6, atol=1e-9)  # up to each axis' sign


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_pair_maps_keep_pairs_together(method):
    from zoo_twotower.figures import pair_maps

    c, e = _pairs()
    a, b = pair_maps(c, e, seed=0)[method] if method == "pca" else _one(c, e, method)
    assert a.shape == b.shape == (40, 2) and np.isfinite(a).all() and np.isfinite(b).all()
    nearest = np.linalg.norm(a[:, None] - b[None], axis=-1).argmin(1)
    assert (nearest == np.arange(40)).mean() > 0.8  # near-identical pairs land next to each other


def _one(c, e, method):
    from zoo_twotower.figures import reduce_2d

    xy = reduce_2d(np.concatenate([c, e]), method, seed=0)
    return xy[:40], xy[40:]


def test_unknown_reducer_is_a_typed_error():
    from zoo_twotower.errors import TwotowerError
    from zoo_twotower.figures import reduce_2d

    with pytest.raises(TwotowerError, match="one of tsne, umap, pca"):
        reduce_2d(np.zeros((5, 2)), "isomap")
