"""The two inputs as the paper feeds them (Sec. IV-A).

- `twotower/csi`: complex CSI (batch, rx, tx, subcarrier, symbol) → (batch, 2, rx·tx,
  subcarrier·symbol), real and imaginary parts, each sample divided by its RMS so that the
  mean |h|² of every sample is 1 ("each reshaped CSI is normalized individually").
  With `domain="angle-delay"` the normalised complex matrix is first taken through the
  unitary 2-D DFT (DFT over the antennas: angle; inverse DFT over the subcarriers: delay),
  CsiNet's sparsifying basis; it is invertible and keeps every norm (Parseval), so an MSE or
  NMSE in that domain is the same number as in the antenna-frequency domain, and
  `CSIRealImag.to_antenna_frequency` brings a tower's or CRNN's output back. With
  `common_phase=True` each sample is also turned by a common phase so that its strongest
  angle-delay coefficient is real and positive (`csi_phase`): the carrier phase of the
  strongest path, which changes every centimetre and says nothing of the environment, no
  longer has to pass through the 128-dim embedding; CSI feedback sends it alongside, as it
  sends the RMS (`zeroshot.reconstruct`).
- `twotower/environment`: {"env_edges": (batch, H, W) binary edge map, "position_vector":
  (batch, 8)} → {"edges": (batch, M, M), "vector": (batch, 8)}: the edge map resized to the
  tower's map size (max-pooled when smaller, so thin edges survive; nearest when larger) and
  the vector scaled to order one (pixel coordinates / H, heights / `height_scale_m`, the LOS
  flag as it is, metres per pixel / `scale_ref`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo_core import Transform

from .errors import InputShapeError


def csi_rms(csi: torch.Tensor) -> torch.Tensor:
    """(batch,) RMS of each sample's channel coefficients (the normalisation of `twotower/csi`)."""
    return csi.abs().square().flatten(1).mean(1).sqrt().clamp_min(1e-30)


def csi_to_real(csi: torch.Tensor) -> torch.Tensor:
    """(B, rx, tx, sc, sym) complex → (B, 2, rx·tx, sc·sym) real, not normalised (float32 from
    complex64, float64 from complex128: the towers cast to their own dtype)."""
    if csi.ndim != 5 or not torch.is_complex(csi):
        raise InputShapeError(f"csi must be complex (batch, rx, tx, subcarrier, symbol), got "
                              f"{tuple(csi.shape)} {csi.dtype}")
    b, rx, tx, sc, sym = csi.shape
    h = csi.reshape(b, rx * tx, sc, sym).permute(0, 1, 3, 2).reshape(b, rx * tx, sym * sc)
    return torch.stack([h.real, h.imag], dim=1)


def real_to_csi(x: torch.Tensor, shape: tuple[int, int, int, int]) -> torch.Tensor:
    """Inverse of `csi_to_real` for per-sample shape (rx, tx, sc, sym): (B, 2, A, S) → complex."""
    rx, tx, sc, sym = shape
    h = torch.complex(x[:, 0], x[:, 1]).reshape(len(x), rx * tx, sym, sc).permute(0, 1, 3, 2)
    return h.reshape(len(x), rx, tx, sc, sym)


DOMAINS = ("antenna-frequency", "angle-delay")


def to_angle_delay(x: torch.Tensor) -> torch.Tensor:
    """(B, 2, A, S) real/imag antenna × subcarrier → the same layout in angle × delay: the
    unitary DFT over antennas and unitary inverse DFT over subcarriers (norms kept)."""
    h = torch.fft.ifft(torch.fft.fft(torch.complex(x[:, 0], x[:, 1]), dim=1, norm="ortho"), dim=2, norm="ortho")
    return torch.stack([h.real, h.imag], dim=1)


def from_angle_delay(x: torch.Tensor) -> torch.Tensor:
    """Inverse of `to_angle_delay` (unitary, no parameter)."""
    h = torch.fft.ifft(torch.fft.fft(torch.complex(x[:, 0], x[:, 1]), dim=2, norm="ortho"), dim=1, norm="ortho")
    return torch.stack([h.real, h.imag], dim=1)


def csi_phase(csi: torch.Tensor) -> torch.Tensor:
    """(batch,) unit complex numbers: the phase of each sample's strongest angle-delay
    coefficient (1 for an all-zero sample)."""
    x = to_angle_delay(csi_to_real(csi).double())
    c = torch.complex(x[:, 0], x[:, 1]).flatten(1)
    top = c.gather(1, c.abs().argmax(1, keepdim=True))[:, 0]
    mag = top.abs()
    return torch.where(mag > 0, top / mag.clamp_min(1e-300), torch.ones_like(top)).to(
        torch.complex128 if csi.dtype == torch.complex128 else torch.complex64)


class CSIRealImag(Transform):
    def __init__(self, domain: str = "antenna-frequency", common_phase: bool = False):
        if domain not in DOMAINS:
            raise InputShapeError(f"domain must be one of {', '.join(DOMAINS)}, got {domain!r}")
        super().__init__(domain=domain, common_phase=bool(common_phase))

    @property
    def domain(self) -> str:
        return self.config.get("domain", "antenna-frequency")

    @property
    def common_phase(self) -> bool:
        return bool(self.config.get("common_phase", False))

    def side_information(self, csi: torch.Tensor) -> torch.Tensor:
        """(batch,) the complex factor that undoes the normalisation: RMS × common phase."""
        scale = csi_rms(csi).to(csi.dtype)
        return scale * csi_phase(csi) if self.common_phase else scale

    def forward(self, csi):
        if self.common_phase:
            csi = csi * csi_phase(csi).conj()[:, None, None, None, None]
        x = csi_to_real(csi)
        x = x / csi_rms(csi)[:, None, None, None].to(x.dtype)
        return to_angle_delay(x) if self.domain == "angle-delay" else x

    def to_antenna_frequency(self, x: torch.Tensor) -> torch.Tensor:
        """An output in this transform's layout (e.g. the CRNN's) → antenna × subcarrier
        real/imag, still normalised (`real_to_csi` then gives the complex CSI)."""
        return from_angle_delay(x) if self.domain == "angle-delay" else x

    def keeps(self, shape):
        where = ", in the angle-delay domain (unitary 2-D DFT)" if self.domain == "angle-delay" else ""
        if self.common_phase:
            return f"real/imag, per-sample RMS- and common-phase-normalised (both dropped){where}"
        return f"real/imag, per-sample RMS-normalised (the scale is dropped){where}"


class Environment(Transform):
    def __init__(self, map_size: int = 384, height_scale_m: float = 10.0, scale_ref: float = 2.0):
        if map_size < 1 or height_scale_m <= 0 or scale_ref <= 0:
            raise InputShapeError("map_size, height_scale_m and scale_ref must be positive")
        super().__init__(map_size=int(map_size), height_scale_m=float(height_scale_m), scale_ref=float(scale_ref))

    def forward(self, fields):
        if not isinstance(fields, dict) or "env_edges" not in fields or "position_vector" not in fields:
            raise InputShapeError("the environment tower reads fields env_edges (batch, H, W) and "
                                  "position_vector (batch, 8); zoo_twotower.data.env_fields makes both")
        edges, vec = fields["env_edges"], fields["position_vector"]
        if edges.ndim != 3 or edges.shape[1] != edges.shape[2]:
            raise InputShapeError(f"env_edges must be square maps (batch, H, H), got {tuple(edges.shape)}")
        if vec.ndim != 2 or vec.shape != (edges.shape[0], 8):
            raise InputShapeError(f"position_vector must be ({edges.shape[0]}, 8), got {tuple(vec.shape)}")
        size, m = edges.shape[1], self.config["map_size"]
        e = edges[:, None].to(torch.promote_types(edges.dtype, torch.float32))
        if size > m:
            e = F.adaptive_max_pool2d(e, m)
        elif size < m:
            e = F.interpolate(e, size=(m, m), mode="nearest")
        v = vec.to(torch.promote_types(vec.dtype, torch.float32))
        px = float(size)
        hs, sr = self.config["height_scale_m"], self.config["scale_ref"]
        scale = torch.tensor([1 / px, 1 / px, 1 / hs, 1 / px, 1 / px, 1 / hs, 1.0, 1 / sr], dtype=v.dtype,
                             device=v.device)
        return {"edges": e[:, 0], "vector": v * scale}

    def keeps(self, shape):
        return f"edge map resized to {self.config['map_size']}"
