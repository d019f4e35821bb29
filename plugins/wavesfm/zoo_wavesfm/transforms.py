"""WavesFM preprocessing (paper Sec. III): batched torch, statistics in the JSON config.

`WirelessImage` (spectrograms and CSI magnitude images): optional log scale → [0, 1] with
the dataset min/max → bicubic resize → channel-wise standardisation. `PilotGrid` (channel
estimation): reference and received pilots → [-1, 1] with the dataset max |value| per
channel → standardisation → bicubic resize. `fit(samples, ...)` computes every statistic
in one call, so the numbers travel with the weights in config.json.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from zoo_core import Transform
from zoo_core.validation import Size

from .errors import TransformInputError

_EPS = 1e-12
_smallest = min  # `min` is shadowed by a config key below


def _size(size) -> list[int]:
    return [int(size), int(size)] if isinstance(size, (int, float)) else [int(s) for s in size]


def _resize(x: torch.Tensor, size: list[int]) -> torch.Tensor:
    if list(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=tuple(size), mode="bicubic", align_corners=False)


def _standardize(x: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    if m.shape[1] not in (1, x.shape[1]):
        raise TransformInputError(f"transform has statistics for {m.shape[1]} channels, input has {x.shape[1]}")
    return (x - m) / s


def _channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    x = x.double()
    return x.mean((0, 2, 3)).tolist(), (x.std((0, 2, 3)) + 1e-8).tolist()


class WirelessImage(Transform):
    """Spectrogram / CSI image → model input: [log] → [0, 1] → resize → standardise.

    Input (B, C, H, W) or (B, H, W), real or complex (complex → magnitude)."""

    def __init__(self, log: bool = False, min: float = 0.0, max: float = 1.0, size: Size | Sequence[Size] = 224,
                 mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,)):
        if not max > min:
            raise ValueError(f"wavesfm/image: max ({max}) must exceed min ({min})")
        if len(mean) != len(std) or _smallest(std) <= 0:
            raise ValueError("wavesfm/image: mean and std need equal lengths and std > 0")
        super().__init__(log=bool(log), min=float(min), max=float(max), size=_size(size),
                         mean=[float(m) for m in mean], std=[float(s) for s in std])

    def _scaled(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            x = x.unsqueeze(1)
        if x.ndim != 4:
            raise TransformInputError(f"wavesfm/image takes (B, C, H, W) or (B, H, W), got {tuple(x.shape)}")
        if x.is_complex():
            x = x.abs()
        x = x.float()
        if self.config["log"]:
            x = 10 * torch.log10(x.clamp_min(_EPS))
        return (x - self.config["min"]) / (self.config["max"] - self.config["min"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _resize(self._scaled(x), self.config["size"])
        return _standardize(x, self.config["mean"], self.config["std"])

    def keeps(self, shape) -> str:
        h, w = shape[-2:]
        out = list(self.config["size"])
        scale = "dB" if self.config["log"] else "linear"
        size = f"{h}x{w}" if [h, w] == out else f"{h}x{w} resampled to {out[0]}x{out[1]} (bicubic)"
        return f"magnitude only ({scale}), {size}"

    @classmethod
    def fit(cls, samples: torch.Tensor, log: bool = False, size=224) -> "WirelessImage":
        """All statistics from a batch of raw samples, in one call."""
        t = cls(log=log, size=size)
        raw = t._scaled(samples)  # with min 0, max 1: the (log-)values themselves
        t = cls(log=log, min=raw.min().item(), max=raw.max().item(), size=size)
        mean, std = _channel_stats(_resize(t._scaled(samples), t.config["size"]))
        return cls(log=log, min=t.config["min"], max=t.config["max"], size=size, mean=mean, std=std)


class PilotGrid(Transform):
    """Channel-estimation input: reference and received pilots → 4 real channels.

    Input complex (B, 2, H, W) as (reference, received) or real (B, 4, H, W) as
    (Re ref, Im ref, Re rx, Im rx). Each channel / scale → [-1, 1], then standardised,
    then bicubic-resized to `size`.

    With ``ls=True`` the received pilots are first de-rotated by the reference ones,
    rx · conj(ref) / |ref|² (the LS estimate of the channel at the pilot resource elements),
    and the channels are (Re LS, Im LS, Re ref, Im ref). This is an invertible
    re-parametrisation of (reference, received): the same information, but the channel
    appears linearly instead of as a per-element product that a linear patch embedding
    cannot form. The channel-estimation recipe uses it.

    Keep H and W at most `size` (e.g. antennas x subcarriers = 32 rows for the tiny model):
    the bicubic resize only up-samples then; down-sampling (antialias off) drops rows.
    """

    def __init__(self, scale: Sequence[float] = (1.0, 1.0, 1.0, 1.0), size: Size | Sequence[Size] = 224,
                 mean: Sequence[float] = (0.0,) * 4, std: Sequence[float] = (1.0,) * 4, ls: bool = False):
        if len(scale) != 4 or _smallest(scale) <= 0:
            raise ValueError("wavesfm/pilots: scale needs 4 positive values (max |x| per channel)")
        super().__init__(scale=[float(s) for s in scale], size=_size(size),
                         mean=[float(m) for m in mean], std=[float(s) for s in std], ls=bool(ls))

    @staticmethod
    def as_real(x: torch.Tensor, ls: bool = False) -> torch.Tensor:
        if x.ndim != 4:
            raise TransformInputError(f"wavesfm/pilots takes (B, 2, H, W) complex or (B, 4, H, W), got {tuple(x.shape)}")
        if x.is_complex():
            if x.shape[1] != 2:
                raise TransformInputError("complex pilot input needs 2 channels: (reference, received)")
        elif x.shape[1] != 4:
            raise TransformInputError("real pilot input needs 4 channels: Re/Im reference, Re/Im received")
        else:
            x = torch.complex(x[:, 0::2].float(), x[:, 1::2].float())
        ref, rx = x[:, 0], x[:, 1]
        if ls:
            if not bool((ref.abs() > 0).all()):
                raise TransformInputError("wavesfm/pilots with ls=True needs non-zero reference pilots")
            pair = [rx * ref.conj() / (ref.abs() ** 2), ref]
        else:
            pair = [ref, rx]
        return torch.stack([pair[0].real, pair[0].imag, pair[1].real, pair[1].imag], 1).float()

    def _scaled(self, x):
        s = torch.tensor(self.config["scale"], dtype=torch.float32, device=x.device).view(1, 4, 1, 1)
        return self.as_real(x, self.config.get("ls", False)) / s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _standardize(self._scaled(x), self.config["mean"], self.config["std"])
        return _resize(x, self.config["size"])

    @classmethod
    def fit(cls, samples: torch.Tensor, size=224, ls: bool = False) -> "PilotGrid":
        real = cls.as_real(samples, ls)
        scale = real.abs().amax((0, 2, 3)).clamp_min(1e-12).tolist()
        mean, std = _channel_stats(real / torch.tensor(scale).view(1, 4, 1, 1))
        return cls(scale=scale, size=size, mean=mean, std=std, ls=ls)
