"""CSI → image transforms of LVM4CSI, batched torch (no per-sample Python loops).

- `AngularDelayJet`: |F_aᵀ Y F_d| normalised to [0, 1] per sample, jet RGB (channel
  estimation, Fig. 5).
- `RealImagZero`: real, imaginary and an all-zero channel, normalised per sample; the
  channel power, which the normalisation removes, is the batch field `power_db` that the
  localization head reads (Fig. 7).
- `HARImage`: |CSI| of T × M × N reshaped to T × MN, normalised, jet RGB, resized to the
  backbone's input size (Fig. 6).

All accept complex CSI either as (B, M, N) / (B, T, M, N) or in the `WirelessData` layout
(B, rx, tx, subcarrier, symbol); sizes travel in the JSON config.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from zoo_core.interfaces import Transform
from zoo_core.validation import Size

from .colormap import jet
from .dft import angular_delay
from .errors import TransformInputError


def as_matrix(csi: torch.Tensor) -> torch.Tensor:
    """(B, M, N) complex, from (B, M, N) or (B, rx, tx, sc, 1) with one antenna side of size 1."""
    if csi.ndim == 3:
        return csi
    if csi.ndim == 5 and csi.shape[-1] == 1 and 1 in csi.shape[1:3]:
        b, rx, tx, sc, _ = csi.shape
        return csi.reshape(b, rx * tx, sc)
    raise TransformInputError(
        f"expected CSI of shape (batch, M, N) or (batch, rx, tx, subcarrier, 1) with a single "
        f"antenna on one side, got {tuple(csi.shape)}")


def normalise01(x: torch.Tensor, dims=(-2, -1), eps: float = 1e-12) -> torch.Tensor:
    """Per-sample min-max to [0, 1] over `dims`."""
    lo = x.amin(dim=dims, keepdim=True)
    hi = x.amax(dim=dims, keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(eps)


def resize(img: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinear to (size, size); antialiased only where an axis shrinks by more than 4/3
    (e.g. 256 → 224 or 250 → 224 need none, and torch's antialiased path costs 2x)."""
    if size is None or tuple(img.shape[-2:]) == (size, size):
        return img
    shrink = max(img.shape[-2] / size, img.shape[-1] / size)
    return F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink > 4 / 3)


def modulus_image(csi: torch.Tensor, beta: int = 4, gamma: int = 4) -> torch.Tensor:
    """|Ỹ|ᵀ / max |Ỹ| ∈ [0, 1]: (B, γN, βM), angle along the width, delay along the height."""
    # Ỹᵀ = (F_aᵀ Y F_d)ᵀ computed as the FFT of Yᵀ: transposing the small input, not the image,
    # keeps the image contiguous (the colour lookup is 2-3x slower on a strided one)
    ad_t = angular_delay(as_matrix(csi).transpose(-1, -2), gamma, beta)
    mag = torch.view_as_real(ad_t).square().sum(-1).sqrt_()  # |·|, faster than abs() on CPU
    return mag / mag.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-30)


class AngularDelayJet(Transform):
    """Complex CSI (B, M, N) → jet RGB (B, 3, γN, βM) of the normalised angular-delay modulus."""

    def __init__(self, beta: Size = 4, gamma: Size = 4, size: Size | None = None):
        if int(beta) < 1 or int(gamma) < 1:
            raise TransformInputError(f"oversampling factors must be >= 1, got beta={beta}, gamma={gamma}")
        super().__init__(beta=int(beta), gamma=int(gamma), size=size)

    def forward(self, x):
        if not torch.is_complex(x):
            raise TransformInputError("angular-delay-jet expects complex CSI (complex64)")
        img = jet(modulus_image(x, self.config["beta"], self.config["gamma"]))
        return resize(img, self.config["size"]).clamp(0.0, 1.0)


class RealImagZero(Transform):
    """Complex CSI → (B, 3, S, S): real, imaginary, zeros (each / max |·| per sample).

    `angular_delay=True` (the paper's localization input) first maps the CSI by eq. 12;
    the image is then resized to `size`. The per-sample normalisation removes the channel
    power; the localization head reads it as the batch field `power_db` instead.

    `power_plane=True` is the format-1 layout, kept so that saved models load unchanged: a
    fourth plane holds the standardised power p = (10·log10(mean |H|²) − power_offset_db) /
    power_scale_db everywhere, for `FrozenLVM(power_input=True)` to strip and append."""

    def __init__(self, size: Size | None = 224, angular_delay: bool = True, beta: Size = 4, gamma: Size = 4,
                 power_offset_db: float = 0.0, power_scale_db: float = 10.0, power_plane: bool = True):
        if power_scale_db <= 0:
            raise TransformInputError("power_scale_db must be > 0")
        super().__init__(size=size, angular_delay=bool(angular_delay), beta=int(beta), gamma=int(gamma),
                         power_offset_db=float(power_offset_db), power_scale_db=float(power_scale_db),
                         power_plane=bool(power_plane))

    @staticmethod
    def power_db(x: torch.Tensor) -> torch.Tensor:
        h = as_matrix(x)
        return 10.0 * torch.log10(h.abs().pow(2).mean(dim=(-2, -1)).clamp_min(1e-30))

    def image(self, x: torch.Tensor) -> torch.Tensor:
        h = as_matrix(x)
        if self.config["angular_delay"]:  # Ỹᵀ as the FFT of Hᵀ (contiguous, as in modulus_image)
            h = angular_delay(h.transpose(-1, -2), self.config["gamma"], self.config["beta"])
        h = h / h.abs().amax(dim=(-2, -1), keepdim=True).clamp_min(1e-30)
        img = torch.stack([h.real, h.imag, torch.zeros_like(h.real)], dim=1)
        return resize(img, self.config["size"]).clamp(-1.0, 1.0)

    def forward(self, x):
        if not torch.is_complex(x):
            raise TransformInputError("real-imag-zero expects complex CSI (complex64)")
        img = self.image(x)
        if not self.config.get("power_plane", True):
            return img
        p = (self.power_db(x) - self.config["power_offset_db"]) / self.config["power_scale_db"]
        plane = p.to(img.dtype)[:, None, None, None].expand(-1, 1, *img.shape[-2:])
        return torch.cat([img, plane], dim=1)


class HARImage(Transform):
    """CSI (B, T, M, N) (complex or amplitude) → |·| as T × MN → [0, 1] → jet → (B, 3, S, S)."""

    def __init__(self, size: Size | None = 224, colormap: Literal["jet", "gray"] = "jet"):
        if colormap not in ("jet", "gray"):
            raise TransformInputError(f"colormap must be 'jet' or 'gray', got {colormap!r}")
        super().__init__(size=size, colormap=colormap)

    def forward(self, x):
        if x.ndim == 3:  # already (B, T, MN)
            amp = x.abs()
        elif x.ndim == 4:
            amp = x.abs().reshape(x.shape[0], x.shape[1], -1)
        else:
            raise TransformInputError(f"har-image expects (batch, T, M, N) or (batch, T, M*N), got {tuple(x.shape)}")
        gray = normalise01(amp.to(torch.float32))
        img = jet(gray) if self.config["colormap"] == "jet" else gray[:, None].expand(-1, 3, -1, -1)
        return resize(img, self.config["size"]).clamp(0.0, 1.0)
