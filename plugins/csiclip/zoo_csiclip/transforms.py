"""CSI-CLIP preprocessing (paper Sec. IV-A): complex channel → (real, imag) image, min-max
normalisation with dataset statistics, then standardisation, then the encoder's input size.

The image has (rx · tx) rows and subcarriers (CSI) or delay taps (CIR) as columns: the
paper's 2 × 256 × 256 is 2×2 UE × 8×8 BS antennas by 256 subcarriers. Statistics are per
channel (real, imaginary) and live in the JSON config, so they travel with the weights.
`minmax="sample"` scales each sample by its own largest |real|, |imag| instead (a choice for
data mixed from sources of very different power; the paper's is `dataset`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from zoo_core import Transform
from zoo_core.validation import Size

from .errors import TransformInputError

_EPS = 1e-12


def _size(size) -> list[int]:
    return [int(size), int(size)] if isinstance(size, (int, float)) else [int(s) for s in size]


def complex_image(x: torch.Tensor) -> torch.Tensor:
    """A channel in any of the sample-format layouts → (B, 2, rows, columns) float32.

    (B, rx, tx, subcarrier, symbol) complex: the first symbol; (B, rx, tx, tap) complex (CIR);
    (B, H, W) complex; or (B, 2, H, W) real, already (real, imag)."""
    if not torch.is_tensor(x):
        raise TransformInputError(f"csiclip/complex-image takes a torch tensor, got {type(x).__name__}")
    if x.is_complex():
        if x.ndim == 5:
            x = x[..., 0]
        if x.ndim == 4:
            x = x.reshape(x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
        if x.ndim != 3:
            raise TransformInputError(
                "csiclip/complex-image takes complex (B, rx, tx, subcarrier, symbol), (B, rx, tx, tap) or (B, H, W), "
                f"got shape {tuple(x.shape)}")
        return torch.stack([x.real, x.imag], 1).float()
    if x.ndim == 4 and x.shape[1] == 2 and x.is_floating_point():
        return x.float()
    raise TransformInputError(f"csiclip/complex-image takes a complex channel or a real (B, 2, H, W) image, got "
                              f"{x.dtype} of shape {tuple(x.shape)}")


class ComplexImage(Transform):
    """(real, imag) image → [0, 1] by dataset min/max → (x − mean) / std → bilinear resize."""

    def __init__(self, size: Size | Sequence[Size] = 256, min: Sequence[float] = (-1.0, -1.0),
                 max: Sequence[float] = (1.0, 1.0), mean: Sequence[float] = (0.5, 0.5),
                 std: Sequence[float] = (0.5, 0.5), minmax: Literal["dataset", "sample"] = "dataset"):
        lo, hi = [float(v) for v in min], [float(v) for v in max]
        if len(lo) != 2 or len(hi) != 2 or len(mean) != 2 or len(std) != 2:
            raise ValueError("csiclip/complex-image: min, max, mean and std give one value per channel (real, imag)")
        if any(b <= a for a, b in zip(lo, hi)):
            raise ValueError(f"csiclip/complex-image: max {hi} must exceed min {lo} in each channel")
        if any(float(s) <= 0 for s in std):
            raise ValueError(f"csiclip/complex-image: std must be positive, got {list(std)}")
        if minmax not in ("dataset", "sample"):
            raise ValueError(f"csiclip/complex-image: minmax is 'dataset' or 'sample', got {minmax!r}")
        super().__init__(size=_size(size), min=lo, max=hi, mean=[float(m) for m in mean],
                         std=[float(s) for s in std], minmax=minmax)

    # ---------------------------------------------------------------- steps
    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        """The input as a (real, imag) image in [0, 1] (min-max), before standardisation."""
        img = complex_image(x)
        if self.config["minmax"] == "sample":
            peak = img.abs().flatten(1).amax(1).clamp_min(_EPS).view(-1, 1, 1, 1)
            return (img / peak + 1) / 2
        lo = img.new_tensor(self.config["min"]).view(1, 2, 1, 1)
        hi = img.new_tensor(self.config["max"]).view(1, 2, 1, 1)
        return (img - lo) / (hi - lo)

    def resized(self, img: torch.Tensor) -> torch.Tensor:
        size = self.config["size"]
        if list(img.shape[-2:]) == size:
            return img
        return F.interpolate(img, size=tuple(size), mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        img = self.scaled(x)
        mean = img.new_tensor(self.config["mean"]).view(1, 2, 1, 1)
        std = img.new_tensor(self.config["std"]).view(1, 2, 1, 1)
        return self.resized((img - mean) / std)

    def keeps(self, shape) -> str:
        rows, cols = _rows_cols(shape)
        size = self.config["size"]
        resample = "" if [rows, cols] == size else f", resampled {rows}x{cols} -> {size[0]}x{size[1]}"
        return f"real+imag 2x{rows}x{cols}" + resample

    # ---------------------------------------------------------------- statistics
    @classmethod
    def fit(cls, samples: torch.Tensor | Iterable[torch.Tensor], size=256, minmax: str = "dataset",
            batch_size: int = 4096) -> "ComplexImage":
        """Statistics of one data set (or several, pooled): per-channel min and max of the
        (real, imag) image, then mean and std of the min-max scaled, resized images."""
        parts = [samples] if torch.is_tensor(samples) else list(samples)
        if not parts or any(len(p) == 0 for p in parts):
            raise TransformInputError("csiclip/complex-image: fit needs at least one sample in every part")
        lo = torch.full((2,), float("inf"), dtype=torch.float64)
        hi = torch.full((2,), float("-inf"), dtype=torch.float64)
        for p in parts:
            for i in range(0, len(p), batch_size):
                img = complex_image(p[i:i + batch_size]).double()
                lo = torch.minimum(lo, img.amin((0, 2, 3)))
                hi = torch.maximum(hi, img.amax((0, 2, 3)))
        hi = torch.where(hi > lo, hi, lo + 1.0)  # a constant channel: any positive range
        t = cls(size=size, min=lo.tolist(), max=hi.tolist(), minmax=minmax)
        total, sq, count = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64), 0
        for p in parts:
            for i in range(0, len(p), batch_size):
                img = t.resized(t.scaled(p[i:i + batch_size])).double()
                total += img.sum((0, 2, 3))
                sq += img.square().sum((0, 2, 3))
                count += img.shape[0] * img.shape[2] * img.shape[3]
        mean = total / count
        std = (sq / count - mean.square()).clamp_min(0).sqrt() + 1e-8
        return cls(size=size, min=lo.tolist(), max=hi.tolist(), mean=mean.tolist(), std=std.tolist(), minmax=minmax)


def _rows_cols(shape) -> tuple[int, int]:
    shape = tuple(shape)
    if len(shape) == 4:  # rx, tx, subcarrier, symbol
        return shape[0] * shape[1], shape[2]
    if len(shape) == 3 and shape[0] != 2:  # rx, tx, tap
        return shape[0] * shape[1], shape[2]
    return shape[-2], shape[-1]
