"""Batch fields that can be computed from others when a batch lacks them.

A head may read a scalar such as the channel power (`power_db`); a user who passes only the
CSI should not have to compute it by hand, and two plugins should not compute it two ways.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from .errors import InputFieldError


def power_db(csi: torch.Tensor) -> torch.Tensor:
    """Mean channel power per sample in dB: 10·log10(mean |H|²) over every non-batch axis."""
    power = csi.abs().square().flatten(1).mean(1)
    return 10.0 * torch.log10(power.clamp_min(1e-30))


def cir_from_csi(csi: torch.Tensor) -> torch.Tensor:
    """Channel impulse response as the IFFT of the CSI over subcarriers (sample-format axis 3:
    (B, rx, tx, subcarrier, symbol) → (B, rx, tx, tap) for the first symbol), with numpy's
    default scaling (1/N), as the city generator writes its `cir`."""
    if csi.ndim != 5:
        raise InputFieldError(f"cir can be derived from csi of shape (batch, rx, tx, subcarrier, symbol) only, "
                              f"got {tuple(csi.shape)}")
    return torch.fft.ifft(csi[..., 0], dim=-1)


#: field → (the field it is computed from, how)
DERIVED: dict[str, tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = {
    "power_db": ("csi", power_db),
    "cir": ("csi", cir_from_csi),
}


def get_field(batch: Mapping, name: str, reader: str) -> torch.Tensor:
    """`batch[name]`, or computed from its source field; a typed error names what is missing."""
    if name in batch:
        return batch[name]
    if name in DERIVED and DERIVED[name][0] in batch:
        source, compute = DERIVED[name]
        return compute(batch[source])
    hint = f" (or {DERIVED[name][0]!r}, from which it is computed)" if name in DERIVED else ""
    raise InputFieldError(f"{reader} reads field {name!r}{hint}; the batch has {sorted(batch)}")
