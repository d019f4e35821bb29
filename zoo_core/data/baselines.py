"""LS and LMMSE channel estimation for the geometric and OFDM-pilot generators.

These are the classical references the channel-estimation task reports next to learned
models (LVM4CSI Fig. 8, WavesFM Fig. 6d).

LMMSE here is the *genie* LMMSE: it uses the generator's TRUE channel covariance, derived in
closed form from the generator's statistics (not estimated from samples), and the true
per-sample noise variance. It is therefore an idealised best linear estimator, as in both
papers ("requires knowledge of the channel's statistical properties").

- geometric: H = sum_l alpha_l a(Theta_l) b(T_l)^T with Theta, T ~ U[lo, hi) independent and
  E[alpha_l alpha_l'^*] = delta_ll'/L gives cov(vec H) = R_d (x) R_a with
  [R_a]_{mm'} = e^{-j2pi(m-m')c} sinc((m-m')w) (c, w: centre and width of the range);
  for the paper's [0, 1) ranges R = I and LMMSE is Y / (1 + sigma^2)
  (see `zoo_core.data.generators.geometric.covariance`).
- ofdm ("tdl" model): per antenna cov = R_t (x) R_f, with R_f from the exponential power-delay
  profile and R_t the Jakes autocorrelation J0(2 pi f_D dt)
  (see `zoo_core.data.generators.ofdm.covariance`). Antennas are independent.
  For data made with channel_model="sionna-umi" no closed form exists: `lmmse_ofdm` then
  uses the sample covariance of the data's own true channels (stated in its result's name).

All functions are batched over samples; estimates come back in the csi layout.
"""

from __future__ import annotations

import numpy as np

from zoo_core.data.blas import single_blas_thread
from zoo_core.data.errors import DataFormatError


# ---------------------------------------------------------------------- shared maths
@single_blas_thread
def kron_lmmse(y: np.ndarray, r_left: np.ndarray, r_right: np.ndarray, noise_var,
               r_right_out: np.ndarray | None = None) -> np.ndarray:
    """LMMSE of X from Y = X + W for cov(vec X) = r_right (x) r_left (column-major vec).

    y: (..., A, B) observations; noise_var: scalar or (...,) per leading index (white noise).
    Returns R_left Z R_out^T with Z = (R + sigma^2 I)^{-1} vec(Y) computed in the joint
    eigenbasis, where R_out = r_right_out (rows: output columns, cols: observed columns;
    default r_right, i.e. estimate at the observed positions). Shapes: r_left (A, A),
    r_right (B, B), r_right_out (B_out, B).
    """
    y = np.asarray(y, dtype=np.complex128)
    lam, u = np.linalg.eigh(r_left)
    mu, v = np.linalg.eigh(r_right)
    lam, mu = np.clip(lam, 0, None), np.clip(mu, 0, None)
    s2 = np.asarray(noise_var, dtype=np.float64).reshape(np.shape(noise_var) + (1, 1))
    z = u.conj().T @ y @ v.conj()                    # coordinates: Y = U Z' V^T
    z = z / (lam[:, None] * mu[None, :] + s2)        # (R + s2 I)^{-1}
    x = u @ z @ v.T                                  # back to the observation domain
    r_out = r_right if r_right_out is None else r_right_out
    return r_left @ x @ r_out.T


def _noise_var(data, noise_var):
    if noise_var is not None:
        return np.broadcast_to(np.asarray(noise_var, dtype=np.float64), (len(data),))
    if "noise_var" not in data.extras:
        raise DataFormatError("data has no extras['noise_var']; pass noise_var=")
    return data.extras["noise_var"].astype(np.float64)


def _require(data, generator):
    got = data.meta.get("generator")
    if got != generator:
        raise DataFormatError(f"expected data from the {generator!r} generator, got {got!r}")


# ---------------------------------------------------------------------- geometric
def ls_geometric(data) -> np.ndarray:
    """LS with the known all-ones pilots: H^ = Y / x = Y. Returns the csi layout."""
    _require(data, "geometric")
    pilots = data.shared.get("pilots")
    y = data.extras["Y"]
    if pilots is None:
        return y.copy()
    return (y / pilots[None, None, None, :, None]).astype(np.complex64)


def lmmse_geometric(data, noise_var=None) -> np.ndarray:
    """Genie LMMSE with the generator's closed-form covariance (see module docstring)."""
    from zoo_core.data.generators.geometric import covariance

    _require(data, "geometric")
    p = data.meta["params"]
    r_a, r_d = covariance(p["M"], p["N"], tuple(p["theta_range"]), tuple(p["delay_range"]))
    y = ls_geometric(data)[:, :, 0, :, 0]
    h = kron_lmmse(y, r_a, r_d, _noise_var(data, noise_var))
    return h[:, :, None, :, None].astype(np.complex64)


# ---------------------------------------------------------------------- ofdm
def _time_interp_weights(pilot_symbols, n_sym: int, mode: str) -> np.ndarray:
    """(n_sym, P) weights mapping pilot-symbol estimates to every symbol."""
    pil = np.asarray(pilot_symbols, dtype=np.float64)
    order = np.argsort(pil)
    p_sorted = pil[order]
    s = np.arange(n_sym, dtype=np.float64)
    w = np.zeros((n_sym, len(pil)))
    if mode == "average" or len(pil) == 1:
        w[:] = 1.0 / len(pil)
    elif mode == "nearest":
        w[np.arange(n_sym), order[np.argmin(np.abs(s[:, None] - p_sorted[None, :]), axis=1)]] = 1.0
    elif mode == "linear":
        # piecewise linear between pilot symbols, constant outside (as np.interp)
        for j in range(len(pil)):
            e = np.zeros(len(pil))
            e[j] = 1.0
            w[:, order[j]] = np.interp(s, p_sorted, e)
    else:
        raise ValueError(f"interpolation must be 'linear', 'nearest' or 'average', got {mode!r}")
    return w


def ls_ofdm_pilots(data) -> np.ndarray:
    """LS at the pilot resource elements: Y_p / X_p, shape (N, n_rx, n_sc, P)."""
    _require(data, "ofdm-pilots")
    return data.extras["pilots_rx"] / data.extras["pilots_tx"][:, None]


def ls_ofdm(data, interpolation: str = "linear") -> np.ndarray:
    """LS at the pilots, interpolated over time to all symbols (csi layout).

    Pilots cover every subcarrier, so only time interpolation is needed: "linear" between
    pilot symbols (constant before the first and after the last), "nearest" or "average".
    """
    h_p = ls_ofdm_pilots(data)
    w = _time_interp_weights(data.shared["pilot_symbols"], data.n_sym, interpolation)
    return (h_p @ w.T)[:, :, None].astype(np.complex64)


def lmmse_ofdm(data, noise_var=None) -> np.ndarray:
    """Genie LMMSE over the whole (subcarrier x symbol) grid from the LS pilot estimates.

    With h_ls = h_p + w / x (|x| = 1, so the noise stays white with variance sigma^2):
    H^ = R_{full,p} (R_pp + sigma^2 I)^{-1} h_ls with R = R_t (x) R_f per antenna (true,
    closed-form covariance of the "tdl" model). For "sionna-umi" data the sample covariance
    of the true channels stands in for it.
    """
    _require(data, "ofdm-pilots")
    p = data.meta["params"]
    pil = np.asarray(data.shared["pilot_symbols"])
    if p.get("channel_model", "tdl") == "tdl":
        from zoo_core.data.generators.ofdm import covariance

        r_f, r_t = covariance(p)
    else:  # no closed form: sample covariance of the true channels, separable approximation
        h = data.csi[:, :, 0].astype(np.complex128)             # (N, R, K, S)
        r_f = np.einsum("nrks,nrjs->kj", h, h.conj()) / (h.shape[0] * h.shape[1] * h.shape[3])
        r_t = np.einsum("nrks,nrkt->st", h, h.conj()) / (h.shape[0] * h.shape[1] * h.shape[2])
        r_t = r_t / np.real(np.mean(np.diag(r_t)))
    h_ls = ls_ofdm_pilots(data)                                  # (N, R, K, P)
    s2 = _noise_var(data, noise_var)[:, None]                    # (N, 1) per antenna
    est = kron_lmmse(h_ls, r_f, r_t[np.ix_(pil, pil)], s2, r_right_out=r_t[:, pil])
    return est[:, :, None].astype(np.complex64)


# ---------------------------------------------------------------------- dispatch
def ls(data, **kwargs) -> np.ndarray:
    """LS estimate for data from the geometric or ofdm-pilots generator (csi layout)."""
    gen = data.meta.get("generator")
    if gen == "geometric":
        return ls_geometric(data)
    if gen == "ofdm-pilots":
        return ls_ofdm(data, **kwargs)
    raise DataFormatError(f"no LS baseline for data from generator {gen!r}")


def lmmse(data, **kwargs) -> np.ndarray:
    """Genie LMMSE estimate for data from the geometric or ofdm-pilots generator."""
    gen = data.meta.get("generator")
    if gen == "geometric":
        return lmmse_geometric(data, **kwargs)
    if gen == "ofdm-pilots":
        return lmmse_ofdm(data, **kwargs)
    raise DataFormatError(f"no LMMSE baseline for data from generator {gen!r}")
