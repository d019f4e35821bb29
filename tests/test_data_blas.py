"""One BLAS thread in the genie LMMSE and the OFDM generator: the same numbers as with many."""

import numpy as np
import pytest

from zoo_core.data import baselines
from zoo_core.data.generators import geometric, ofdm

threadpoolctl = pytest.importorskip("threadpoolctl")


def test_kron_lmmse_with_one_blas_thread_equals_many():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((16, 16)) + 1j * rng.standard_normal((16, 16))
    b = rng.standard_normal((12, 12)) + 1j * rng.standard_normal((12, 12))
    r_left, r_right = a @ a.conj().T / 16, b @ b.conj().T / 12
    y = rng.standard_normal((7, 16, 12)) + 1j * rng.standard_normal((7, 16, 12))
    noise = rng.uniform(0.1, 1.0, 7)
    with threadpoolctl.threadpool_limits(4, user_api="blas"):
        many = baselines.kron_lmmse.__wrapped__(y, r_left, r_right, noise)
    np.testing.assert_allclose(baselines.kron_lmmse(y, r_left, r_right, noise), many, rtol=1e-12, atol=1e-12)


def test_the_limit_holds_inside_and_is_lifted_after():
    from zoo_core.data.blas import one_blas_thread

    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    with one_blas_thread():
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == before


def test_lmmse_and_ofdm_data_unchanged_by_the_thread_count():
    g = geometric.generate(6, seed=1, M=16, N=16, L=3, snr_db=5.0, theta_range=(0.1, 0.4))
    with threadpoolctl.threadpool_limits(4, user_api="blas"):
        ref = baselines.kron_lmmse.__wrapped__(
            baselines.ls_geometric(g)[:, :, 0, :, 0], *geometric.covariance(16, 16, (0.1, 0.4), (0.0, 1.0)),
            baselines._noise_var(g, None))
    np.testing.assert_allclose(baselines.lmmse(g)[:, :, 0, :, 0], ref.astype(np.complex64), rtol=1e-6, atol=1e-6)
    a = ofdm.generate(40, seed=3)
    with threadpoolctl.threadpool_limits(4, user_api="blas"):
        rng = np.random.default_rng(5)
        p = {**ofdm.DEFAULTS, **a.meta["params"]}
        many = ofdm._tdl_channels.__wrapped__(rng, 40, p, False)
    one = ofdm._tdl_channels(np.random.default_rng(5), 40, p, False)
    np.testing.assert_allclose(one, many, rtol=1e-6, atol=1e-6)
