"""LS / LMMSE baselines against their textbook formulas, with covariances built here."""

from __future__ import annotations

import numpy as np
import pytest

from zoo_core.data import baselines
from zoo_core.data.generators import geometric, ofdm


def db(x):
    return 10 * np.log10(x)


def per_sample_nmse(h, e):
    ax = tuple(range(1, h.ndim))
    return np.sum(np.abs(h - e) ** 2, axis=ax) / np.sum(np.abs(h) ** 2, axis=ax)


def aggregate_nmse(h, e):
    return np.sum(np.abs(h - e) ** 2) / np.sum(np.abs(h) ** 2)


def predicted_lmmse_nmse(R, s2):
    """tr(R - R (R + s2 I)^{-1} R) / tr(R) for a dense covariance R."""
    mse = R - R @ np.linalg.solve(R + s2 * np.eye(len(R)), R)
    return np.real(np.trace(mse) / np.trace(R))


def uniform_phase_cov(n, lo, hi, points=20000):
    """E[v v^H], v_k = e^{-j2pi k X}, X ~ U[lo, hi), by midpoint quadrature (not closed form)."""
    x = lo + (np.arange(points) + 0.5) / points * (hi - lo)
    v = np.exp(-2j * np.pi * np.outer(np.arange(n), x))
    return v @ v.conj().T / points


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_ls_geometric_nmse_is_minus_snr(snr):
    d = geometric.generate(200, seed=1, M=64, N=64, L=4, snr_db=snr)
    h = d.csi
    nmse = per_sample_nmse(h, baselines.ls(d)).mean()
    assert abs(db(nmse) + snr) < 0.3


def test_lmmse_geometric_gain_at_0db_full_range():
    M = N = 16
    d = geometric.generate(1500, seed=2, M=M, N=N, L=(2, 10), snr_db=0.0)
    R = np.kron(uniform_phase_cov(N, 0, 1), uniform_phase_cov(M, 0, 1))  # = I for U[0, 1)
    pred = predicted_lmmse_nmse(R, 1.0)
    assert abs(pred - 0.5) < 1e-6  # sigma^2 / (1 + sigma^2)
    ls = per_sample_nmse(d.csi, baselines.ls(d)).mean()
    lm = per_sample_nmse(d.csi, baselines.lmmse(d)).mean()
    assert abs(db(ls)) < 0.3
    assert abs(db(lm) - db(pred)) < 0.3
    assert abs((db(ls) - db(lm)) - (0 - db(pred))) < 0.3  # better than LS by ~3.01 dB


def test_lmmse_geometric_restricted_ranges_use_true_covariance():
    M, N = 12, 10
    tr, dr = (0.2, 0.45), (0.0, 0.3)
    d = geometric.generate(3000, seed=3, M=M, N=N, L=3, snr_db=0.0, theta_range=tr, delay_range=dr)
    # column-major vec(H) = sum alpha b (x) a  ->  R = R_d (x) R_a
    R = np.kron(uniform_phase_cov(N, *dr), uniform_phase_cov(M, *tr))
    h = d.csi[:, :, 0, :, 0]
    emp = np.einsum("nij,nkl->jilk", h, h.conj()).reshape(M * N, M * N) / len(d)
    assert np.abs(emp - R).max() < 0.15  # the generator has this covariance
    pred = predicted_lmmse_nmse(R, 1.0)
    lm = aggregate_nmse(d.csi, baselines.lmmse(d))
    ls = aggregate_nmse(d.csi, baselines.ls(d))
    assert abs(db(lm) - db(pred)) < 0.3
    assert db(ls) - db(lm) > 3.5  # structure is worth more than the 3 dB of the full range


def test_kron_lmmse_matches_dense_formula():
    rng = np.random.default_rng(0)
    A, B = 5, 4
    ga = rng.standard_normal((A, A)) + 1j * rng.standard_normal((A, A))
    gb = rng.standard_normal((B + 2, B + 2)) + 1j * rng.standard_normal((B + 2, B + 2))
    ra, rb_full = ga @ ga.conj().T, gb @ gb.conj().T
    obs = [0, 2, 3, 5]
    rb = rb_full[np.ix_(obs, obs)]
    y = rng.standard_normal((3, A, B)) + 1j * rng.standard_normal((3, A, B))
    s2 = np.array([0.1, 1.0, 3.0])
    got = baselines.kron_lmmse(y, ra, rb, s2, r_right_out=rb_full[:, obs])
    for i in range(3):
        R_oo = np.kron(rb, ra)
        R_fo = np.kron(rb_full[:, obs], ra)
        want = R_fo @ np.linalg.solve(R_oo + s2[i] * np.eye(A * B), y[i].reshape(-1, order="F"))
        np.testing.assert_allclose(got[i], want.reshape(A, B + 2, order="F"), atol=1e-9)


def _ofdm_cov(n_sc, n_sym, fd, tsym, df, tau, pw):
    rf = np.array([[np.sum(pw * np.exp(-2j * np.pi * (k - j) * df * tau)) for j in range(n_sc)]
                   for k in range(n_sc)])
    th = (np.arange(20000) + 0.5) / 20000 * np.pi
    rt = np.array([[np.mean(np.cos(2 * np.pi * fd * (s - t) * tsym * np.sin(th))) for t in range(n_sym)]
                   for s in range(n_sym)])
    return rf, rt


@pytest.mark.parametrize("speed", [3.0, 600.0])
def test_ofdm_ls_and_lmmse(speed):
    K, S, snr = 12, 14, 0.0
    p = dict(n_rx=4, n_sc=K, snr_db=snr, speed_mps=speed)
    d = ofdm.generate(800, seed=5, **p)
    h = d.csi
    # LS at the pilot resource elements: NMSE = -SNR (unit-modulus pilots)
    pil = [2, 11]
    hp = baselines.ls_ofdm_pilots(d)
    assert abs(db(aggregate_nmse(h[:, :, 0][..., pil], hp)) + snr) < 0.3
    # true covariance built here from the paper/model constants
    tau = np.arange(16) * 50e-9
    pw = np.exp(-tau / 100e-9)
    pw /= pw.sum()
    fd = speed * 3.5e9 / 299_792_458.0
    rf, rt = _ofdm_cov(K, S, fd, (1 + 144 / 2048) / 30e3, 30e3, tau, pw)
    R = np.kron(rt, rf)                                    # column-major vec of the K x S grid
    idx_p = np.concatenate([np.arange(K) + K * s for s in pil])
    R_pp, R_fp = R[np.ix_(idx_p, idx_p)], R[:, idx_p]
    s2 = 10 ** (-snr / 10)
    mse = R - R_fp @ np.linalg.solve(R_pp + s2 * np.eye(len(idx_p)), R_fp.conj().T)
    pred = np.real(np.trace(mse) / np.trace(R))
    lm = aggregate_nmse(h, baselines.lmmse(d))
    ls = aggregate_nmse(h, baselines.ls(d))
    assert abs(db(lm) - db(pred)) < 0.3
    assert lm < ls
    # linear interpolation in time of the two LS pilot estimates, written out here
    s = np.arange(S)
    w11 = np.clip((s - 2) / 9, 0, 1)
    interp = hp[..., :1] * (1 - w11) + hp[..., 1:] * w11
    np.testing.assert_allclose(baselines.ls(d)[:, :, 0], interp, atol=1e-5)


def test_baselines_reject_other_data():
    from zoo_core.data.errors import DataFormatError
    from zoo_core.data.generators import city

    d = city.generate(10, seed=0, n_bs=1, n_ue=10, map_px=8, n_ant=4, n_sc=4)
    with pytest.raises(DataFormatError):
        baselines.ls(d)
    with pytest.raises(DataFormatError):
        baselines.lmmse(d)
