"""Angular-delay domain of a ULA x OFDM channel (LVM4CSI eqs. 3-5, 12-14), batched in torch.

Conventions are those of the core's geometric generator
(`zoo_core.data.generators.geometric`, whose numpy helpers the tests check these against):

- a(Θ)[m] = exp(-j2π m Θ), b(T)[n] = exp(-j2π n T), H = Σ α a(Θ) b(T)ᵀ (eqs. 3-5);
- F_a = first M rows of the βM-point DFT matrix, F_d likewise with γN points, and
  Ỹ = F_aᵀ Y F_d (eq. 12) is a zero-padded 2-D FFT;
- a path's spot sits at angle bin w = βM(1 - Θ) and delay bin h = γN(1 - T) (mod), i.e.
  Θ = 1 - w/(βM) (eq. 13) and T = 1 - h/(γN) (the paper's T = h/(γN) holds for its eq. 6,
  which has b^H; see the generator's docstring).

Images put the angle axis along the width (x = w) and the delay axis along the height
(y = h), so a box centre (x, y) reads as (w, h) of eq. 13. Pixel k is centred on coordinate
k (the DFT bin); detectors whose pixel k spans [k, k+1) subtract 0.5.
"""

from __future__ import annotations

import math

import torch


def dft_basis(size: int, oversampling: int, dtype=torch.complex64, device=None) -> torch.Tensor:
    """First `size` rows of the (oversampling·size)-point DFT matrix: (size, oversampling·size)."""
    if size < 1 or oversampling < 1:
        raise ValueError(f"dft_basis: size and oversampling must be >= 1, got {size}, {oversampling}")
    k = oversampling * size
    m = torch.arange(size, dtype=torch.float64, device=device)[:, None]
    col = torch.arange(k, dtype=torch.float64, device=device)[None, :]
    phase = -2.0 * math.pi * ((m * col) % k) / k
    return torch.polar(torch.ones_like(phase), phase).to(dtype)


def angular_delay(y: torch.Tensor, beta: int = 4, gamma: int = 4) -> torch.Tensor:
    """Ỹ = F_aᵀ Y F_d for a batch Y (..., M, N) → (..., βM, γN), as zero-padded 2-D FFTs.

    F_aᵀ Y is the βM-point DFT along the antenna axis of Y padded with zeros, so the
    product is two FFTs (O(MN log) instead of two dense matrix products)."""
    if not torch.is_complex(y):
        y = y.to(torch.complex64)
    m, n = y.shape[-2:]
    return torch.fft.fft2(y, s=(beta * m, gamma * n), dim=(-2, -1))


def steering(theta: torch.Tensor, size: int) -> torch.Tensor:
    """exp(-j2π m θ) for m = 0..size-1: (..., L) → (..., L, size) complex64 (eqs. 4-5)."""
    m = torch.arange(size, dtype=torch.float64, device=theta.device)
    phase = -2.0 * math.pi * ((theta.to(torch.float64)[..., None] * m) % 1.0)
    return torch.polar(torch.ones_like(phase), phase).to(torch.complex64)


def bins_to_paths(x: torch.Tensor, y: torch.Tensor, m: int, n: int, beta: int = 4, gamma: int = 4):
    """Box centres in bin coordinates (x = angle bin w, y = delay bin h) → (Θ, T) in [0, 1).

    The torch twin of `zoo_core.data.generators.geometric.pixel_to_path`."""
    theta = torch.remainder(1.0 - x.to(torch.float64) / (beta * m), 1.0)
    tau = torch.remainder(1.0 - y.to(torch.float64) / (gamma * n), 1.0)
    return theta, tau


def atoms(theta: torch.Tensor, tau: torch.Tensor, m: int, n: int, delay_conj: bool = False):
    """a(Θ_l) (B, L, M) and d(T_l) (B, L, N) with H_l = a_l d_lᵀ (d = b; conj(b) for eq. 6's b^H)."""
    a = steering(theta, m)
    b = steering(tau, n)
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
