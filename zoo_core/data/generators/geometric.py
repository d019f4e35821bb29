"""Sparse geometric multipath for a ULA x OFDM uplink (LVM4CSI, eqs. 3-6).

    H = sum_l alpha_l a(Theta_l) b(T_l)^T                                  (3)
    a(Theta) = [1, e^{-j2pi Theta}, ..., e^{-j2pi (M-1) Theta}]^T          (4)
    b(T)     = [1, e^{-j2pi T},     ..., e^{-j2pi (N-1) T}]^T              (5)
    Y = sqrt(P) H + W, all-ones pilots, P = 1                              (6)

Theta = (d/lambda) sin(theta) and T = Delta_f tau are drawn uniformly in [0, 1) (the
ranges are parameters). Gains are complex Gaussian, normalised per sample so that
sum_l |alpha_l|^2 = 1; then E|H_mn|^2 = 1 for every element and the covariance of vec(H) is
known in closed form (`covariance`), which the LMMSE baseline uses. The SNR is the
per-element signal-to-noise ratio: noise variance sigma^2 = 10^(-SNR/10).

Angular-delay image (eq. 12): Y~ = F_a^T Y F_d, where F_a (M x beta*M) and F_d
(N x gamma*N) are the first M (N) rows of the beta*M (gamma*N) point DFT matrix,
[F]_{m,w} = e^{-j2pi m w / (beta M)}. This is a zero-padded 2-D FFT.

Pixel -> path mapping. For the channel of eqs. (3)-(5) the peak of a path sits where
Theta + w/(beta M) and T + h/(gamma N) are integers, so

    Theta = 1 - w/(beta M)   (the paper's eq. 13, mod 1)
    T     = 1 - h/(gamma N)  (mod 1)

The paper's eq. 13 writes T = h/(gamma N): that holds for its eq. 6, which uses b(T)^H
instead of b(T)^T. We keep eqs. (3)-(5) (a positive delay is a negative phase slope over
subcarriers, as physics says); the LVM4CSI plugin's `pixel_to_path` / `path_to_pixel` (in
`zoo_lvm4csi.dft`) encode the mapping that is right for them.

Sample layout: csi (N, rx=M, tx=1, subcarrier=N_sc, symbol=1) is the true H; extras "Y"
(same shape, noisy pilots), "theta", "delay", "alpha" (n, L_max), "path_mask" (n, L_max),
"n_paths", "snr_db", "noise_var".
"""

from __future__ import annotations

import numpy as np

from zoo_core.data.errors import GeneratorParameterError

DEFAULTS = dict(M=64, N=64, L=4, snr_db=10.0, theta_range=(0.0, 1.0), delay_range=(0.0, 1.0))
_CHUNK = 256  # keeps per-chunk temporaries small (they are reused, not re-faulted)


# ---------------------------------------------------------------------- maths helpers
def steering_angle(theta, M: int) -> np.ndarray:
    """a(Theta) of eq. 4 for any array of Theta: shape theta.shape + (M,)."""
    theta = np.asarray(theta, dtype=np.float64)
    return np.exp(-2j * np.pi * theta[..., None] * np.arange(M))


def steering_delay(T, N: int) -> np.ndarray:
    """b(T) of eq. 5 for any array of T: shape T.shape + (N,)."""
    return steering_angle(T, N)


def dft_bases(M: int, N: int, beta: int = 4, gamma: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """F_a (M, beta*M) and F_d (N, gamma*N): first rows of the oversampled DFT matrices."""
    f_a = np.exp(-2j * np.pi * np.outer(np.arange(M), np.arange(beta * M)) / (beta * M))
    f_d = np.exp(-2j * np.pi * np.outer(np.arange(N), np.arange(gamma * N)) / (gamma * N))
    return f_a, f_d


def angular_delay_image(Y, beta: int = 4, gamma: int = 4) -> np.ndarray:
    """Y~ = F_a^T Y F_d (eq. 12) for Y of shape (..., M, N); returns (..., beta*M, gamma*N).

    Computed as a zero-padded 2-D FFT, which equals the matrix product exactly.
    """
    Y = np.asarray(Y)
    M, N = Y.shape[-2:]
    return np.fft.fft2(Y, s=(beta * M, gamma * N), axes=(-2, -1))


def uniform_phase_correlation(size: int, lo: float, hi: float) -> np.ndarray:
    """E[v v^H] for v = [e^{-j2pi k X}]_k, X ~ U[lo, hi): entries e^{-j2pi dk c} sinc(dk w).

    c = (lo + hi)/2, w = hi - lo, dk = k - k'. For the full period (w = 1) this is I.
    """
    k = np.arange(size)
    dk = k[:, None] - k[None, :]
    c, w = 0.5 * (lo + hi), hi - lo
    return np.exp(-2j * np.pi * dk * c) * np.sinc(dk * w)


def covariance(M: int = 64, N: int = 64, theta_range=(0.0, 1.0), delay_range=(0.0, 1.0)):
    """Closed-form covariance of the generated H, as Kronecker factors (R_a, R_d).

    vec(H) = sum_l alpha_l b(T_l) (x) a(Theta_l) (column-major vec). With alpha independent
    of (Theta, T), E[alpha_l alpha_l'^*] = delta_ll' / L (unit total power, independent
    uniform phases) and Theta, T independent:
        E[vec(H) vec(H)^H] = R_d (x) R_a,  R_a = E[a a^H],  R_d = E[b b^H],
        [R_a]_{mm'} = E[e^{-j2pi (m-m') Theta}]   (see `uniform_phase_correlation`).
    For Theta, T ~ U[0, 1) both factors are identity matrices: R = I_{MN}.
    The operator form is R vec(X) = vec(R_a X R_d^T).
    """
    return (uniform_phase_correlation(M, *theta_range),
            uniform_phase_correlation(N, *delay_range))


# ---------------------------------------------------------------------- generator
def _per_sample(rng, value, n: int, name: str, integer: bool = False) -> np.ndarray:
    """A scalar, or a (lo, hi) range drawn uniformly per sample (inclusive for integers)."""
    if np.ndim(value) == 0:
        return np.full(n, value, dtype=np.int64 if integer else np.float64)
    if len(value) != 2 or value[0] > value[1]:
        raise GeneratorParameterError(f"{name} must be a number or a (low, high) pair, got {value!r}")
    lo, hi = value
    if integer:
        return rng.integers(int(lo), int(hi) + 1, size=n)
    return rng.uniform(float(lo), float(hi), size=n)


def _check_range(name, r):
    if len(r) != 2 or not 0.0 <= r[0] < r[1] <= 1.0:
        raise GeneratorParameterError(f"{name} must be (low, high) with 0 <= low < high <= 1, got {r!r}")
    return (float(r[0]), float(r[1]))


def generate(n: int, seed: int = 0, progress: bool = False, *, M: int = 64, N: int = 64,
             L=4, snr_db=10.0, theta_range=(0.0, 1.0), delay_range=(0.0, 1.0)):
    """Make n geometric channels H and noisy all-ones-pilot observations Y.

    L: number of paths, an int or an inclusive (low, high) range drawn per sample.
    snr_db: per-element SNR in dB, a number or a (low, high) range drawn uniformly per sample.
    """
    from zoo_core.data.sample import WirelessData

    if n <= 0 or M <= 0 or N <= 0:
        raise GeneratorParameterError(f"n, M, N must be positive, got n={n}, M={M}, N={N}")
    theta_range = _check_range("theta_range", theta_range)
    delay_range = _check_range("delay_range", delay_range)
    rng = np.random.default_rng(seed)
    n_paths = _per_sample(rng, L, n, "L", integer=True)
    if n_paths.min() < 1:
        raise GeneratorParameterError(f"L must be >= 1, got {L!r}")
    l_max = int(n_paths.max())
    mask = np.arange(l_max)[None, :] < n_paths[:, None]
    theta = rng.uniform(*theta_range, size=(n, l_max)) * mask
    delay = rng.uniform(*delay_range, size=(n, l_max)) * mask
    g = (rng.standard_normal((n, l_max)) + 1j * rng.standard_normal((n, l_max))) * mask
    alpha = g / np.linalg.norm(g, axis=1, keepdims=True)
    snr = _per_sample(rng, snr_db, n, "snr_db")
    noise_var = 10.0 ** (-snr / 10.0)

    H = np.empty((n, M, N), dtype=np.complex64)
    Y = np.empty((n, M, N), dtype=np.complex64)
    starts = range(0, n, _CHUNK)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="geometric", unit="chunk")
    for s in starts:
        e = min(s + _CHUNK, n)
        A = steering_angle(theta[s:e], M) * alpha[s:e, :, None]      # (c, L, M)
        B = steering_delay(delay[s:e], N)                             # (c, L, N)
        H[s:e] = np.matmul(A.transpose(0, 2, 1), B)                   # (c, M, N)
        w = rng.standard_normal((e - s, M, N, 2), dtype=np.float32).view(np.complex64)[..., 0]
        w *= np.sqrt(noise_var[s:e] / 2.0).astype(np.float32)[:, None, None]
        w += H[s:e]
        Y[s:e] = w

    params = dict(M=M, N=N, L=L if np.ndim(L) == 0 else list(L),
                  snr_db=float(snr_db) if np.ndim(snr_db) == 0 else [float(v) for v in snr_db],
                  theta_range=list(theta_range), delay_range=list(delay_range))
    return WirelessData(
        csi=H[:, :, None, :, None],
        extras={
            "Y": Y[:, :, None, :, None],
            "theta": theta.astype(np.float32),
            "delay": delay.astype(np.float32),
            "alpha": alpha.astype(np.complex64),
            "path_mask": mask,
            "n_paths": n_paths.astype(np.int64),
            "snr_db": snr.astype(np.float32),
            "noise_var": noise_var.astype(np.float32),
        },
        shared={"pilots": np.ones(N, dtype=np.complex64)},
        meta={
            "generator": "geometric",
            "seed": int(seed),
            "params": params,
            "layout": "uplink: rx = BS ULA antennas (M), tx = single-antenna UE, "
                      "subcarrier = N, symbol = 1; csi = H, extras['Y'] = H + W",
            "paper": "LVM4CSI eqs. 3-6",
            "units": {
                "theta": "normalised spatial frequency (d/lambda) sin(theta), in [0, 1)",
                "delay": "normalised delay Delta_f * tau, in [0, 1)",
                "snr_db": "dB, per element: E|H_mn|^2 / sigma^2",
                "noise_var": "linear, relative to E|H_mn|^2 = 1",
            },
        },
    )
