"""Angular-delay domain of a ULA x OFDM channel (LVM4CSI eqs. 3-5, 12-14), batched in torch.

The maths lives in the core's geometric generator (`zoo_core.data.generators.geometric`);
this module calls it where it can and keeps torch only where the hot path needs it:

- a(Θ)[m] = exp(-j2π m Θ), b(T)[n] = exp(-j2π n T), H = Σ α a(Θ) b(T)ᵀ (eqs. 3-5):
  `atoms` calls the core's `steering_angle` / `steering_delay` (numpy, any batch shape; a
  (B, L) batch of a handful of paths is cheap) and hands back torch tensors;
- Ỹ = F_aᵀ Y F_d (eq. 12), F_a the first M rows of the βM-point DFT matrix, F_d likewise with
  γN points: `angular_delay` is the torch twin of the core's `angular_delay_image`, kept in
  torch because every transform runs it on whole batches, on the model's device (the tests
  check the two agree);
- a path's spot sits at angle bin w = βM(1 - Θ) and delay bin h = γN(1 - T) (mod), i.e.
  Θ = 1 - w/(βM) (eq. 13) and T = 1 - h/(γN): `pixel_to_path` here, the one place that
  encodes it (the paper's T = h/(γN) holds for its eq. 6, which has b^H; see the core's
  geometric generator's docstring).

Images put the angle axis along the width (x = w) and the delay axis along the height
(y = h), so a box centre (x, y) reads as (w, h) of eq. 13. Pixel k is centred on coordinate
k (the DFT bin); detectors whose pixel k spans [k, k+1) subtract 0.5.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo_core.data.generators.geometric import steering_angle, steering_delay


def pixel_to_path(w, h, M: int, N: int, beta: int = 4, gamma: int = 4):
    """(Theta, T) of image pixel (w, h) (row w = angle bin, column h = delay bin)."""
    theta = np.mod(1.0 - np.asarray(w, dtype=np.float64) / (beta * M), 1.0)
    delay = np.mod(1.0 - np.asarray(h, dtype=np.float64) / (gamma * N), 1.0)
    return theta, delay


def path_to_pixel(theta, delay, M: int, N: int, beta: int = 4, gamma: int = 4):
    """Continuous image coordinates (w, h) of a path (inverse of `pixel_to_path`)."""
    w = np.mod((1.0 - np.asarray(theta, dtype=np.float64)) * beta * M, beta * M)
    h = np.mod((1.0 - np.asarray(delay, dtype=np.float64)) * gamma * N, gamma * N)
    return w, h


def angular_delay(y: torch.Tensor, beta: int = 4, gamma: int = 4, out: torch.Tensor | None = None) -> torch.Tensor:
    """Ỹ = F_aᵀ Y F_d for a batch Y (..., M, N) → (..., βM, γN), as zero-padded 2-D FFTs.

    The torch twin of `geometric.angular_delay_image` (batched, on any device): F_aᵀ Y is the
    βM-point DFT along the antenna axis of Y padded with zeros, so the product is two FFTs
    (O(MN log) instead of two dense matrix products). Measured against the DFT-matrix product
    (`benchmarks/bench_lvm4csi_transforms.py` prints both): the FFT is faster for the sizes the
    plugin uses (56 × 56 and 64 × 64 at β = γ = 4); the matrix product wins only below about
    32 × 32, where either takes microseconds. `out`: a complex64 buffer to write into."""
    if not torch.is_complex(y):
        y = y.to(torch.complex64)
    m, n = y.shape[-2:]
    return torch.fft.fft2(y, s=(beta * m, gamma * n), dim=(-2, -1), out=out)


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def atoms(theta, tau, m: int, n: int, delay_conj: bool = False, device=None):
    """a(Θ_l) (B, L, M) and d(T_l) (B, L, N) complex64 with H_l = a_l d_lᵀ (d = b; conj(b) for
    eq. 6's b^H), from the core's `steering_angle` / `steering_delay`. On `device`, else on
    theta's device (a tensor) or the CPU."""
    if device is None:
        device = theta.device if isinstance(theta, torch.Tensor) else None
    a = torch.from_numpy(steering_angle(_numpy(theta), m).astype(np.complex64)).to(device)
    b = torch.from_numpy(steering_delay(_numpy(tau), n).astype(np.complex64)).to(device)
    return a, (b.conj() if delay_conj else b)


def ls_gains(y: torch.Tensor, a: torch.Tensor, d: torch.Tensor, mask: torch.Tensor | None = None,
             ridge: float = 1e-6) -> torch.Tensor:
    """Least-squares path gains α minimising ‖Y − Σ α_l a_l d_lᵀ‖_F, batched (B, L).

    Uses the separable structure: the Gram matrix of the rank-one atoms is
    (A^H A) ⊙ (D^H D) and the right-hand side is a_l^H Y conj(d_l), so no (MN × L)
    matrix is formed. Masked-out (padding) atoms get zero gain."""
    if mask is not None:
        a = a * mask[..., None]
        d = d * mask[..., None]
    ga = a.conj() @ a.transpose(-1, -2)  # (B, L, L): a_l^H a_k
    gd = d.conj() @ d.transpose(-1, -2)
    gram = ga * gd
    rhs = torch.einsum("blm,bmn,bln->bl", a.conj(), y.to(torch.complex64), d.conj())
    scale = gram.diagonal(dim1=-2, dim2=-1).real.amax(-1).clamp_min(1.0)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    gram = gram + (ridge * scale)[:, None, None] * eye
    if mask is not None:  # padding atoms: identity rows, zero rhs → zero gain
        gram = gram + (~mask)[..., None].to(gram.dtype) * eye
    return torch.linalg.solve(gram, rhs[..., None])[..., 0]


def reconstruct(alpha: torch.Tensor, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """H = Σ_l α_l a_l d_lᵀ: (B, L), (B, L, M), (B, L, N) → (B, M, N)."""
    return torch.einsum("bl,blm,bln->bmn", alpha, a, d)
