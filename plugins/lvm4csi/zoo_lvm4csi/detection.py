"""Path detectors: an angular-delay image in, boxes with scores out (Fig. 5).

The paper uses DINO-X, an API-only open-vocabulary detector; here the detector is pluggable:

- `PeakDetector` (default, offline, no weights): takes the intensity |Ỹ| / max itself
  (`accepts_intensity`; the estimator hands it over without making colours), or reads it
  back from a jet RGB image when that is all it is given; keeps local maxima above a
  noise-adaptive threshold (a multiple of the image's median, which for a sparse image is the
  noise floor) with non-maximum suppression, and places each box centre at the sub-pixel
  vertex of a parabola through the peak and its neighbours.
- `zoo_lvm4csi.hf_detector.ZeroShotDetector`: Grounding DINO / OWLv2 through transformers
  with a text prompt, where its weights are available.

Boxes are (x0, y0, x1, y1) in bin coordinates: pixel k is centred on k (see `dft`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .colormap import jet_inverse


@dataclass
class Detections:
    """One image's detections: boxes (K, 4) xyxy in bin coordinates, scores (K,)."""

    boxes: torch.Tensor
    scores: torch.Tensor

    @property
    def centres(self) -> torch.Tensor:
        return torch.stack([(self.boxes[:, 0] + self.boxes[:, 2]) / 2, (self.boxes[:, 1] + self.boxes[:, 3]) / 2], 1)


class Detector:
    """Interface: `detect(images (B, 3, H, W) RGB in [0, 1]) -> list[Detections]`.

    A detector that also takes the intensity (B, H, W) in [0, 1] directly sets
    `accepts_intensity = True`; `PathDetectionEstimator` then skips the colour image."""

    name = "detector"
    accepts_intensity = False

    def detect(self, images: torch.Tensor) -> list[Detections]:
        raise NotImplementedError

    def __call__(self, images: torch.Tensor) -> list[Detections]:
        return self.detect(images)


def _circular_max(x: torch.Tensor, ry: int, rx: int) -> torch.Tensor:
    """Max over a periodic (2ry+1) x (2rx+1) window, as two 1-D pools (separable, much faster)."""
    rows = F.max_pool2d(F.pad(x[:, None], (rx, rx, 0, 0), mode="circular"), (1, 2 * rx + 1), stride=1)
    return F.max_pool2d(F.pad(rows, (0, 0, ry, ry), mode="circular"), (2 * ry + 1, 1), stride=1)[:, 0]


def _parabolic(left, centre, right):
    """Vertex offset in [-0.5, 0.5] of the parabola through three equally spaced samples."""
    denom = left - 2 * centre + right
    off = 0.5 * (left - right) / torch.where(denom.abs() < 1e-12, torch.full_like(denom, -1e-12), denom)
    return off.clamp(-0.5, 0.5)


class PeakDetector(Detector):
    """Local maxima with NMS and a noise-adaptive threshold (no training, no weights).

    threshold = max(`noise_factor` · median(image), `min_relative` · max(image));
    `radius` = (ry, rx) half-size of the suppression window in pixels (default: one DFT
    resolution cell, i.e. the oversampling factors); `box` = box size in pixels.
    The image is treated as periodic (the DFT is), so spots that wrap around are found."""

    name = "peak"
    accepts_intensity = True

    def __init__(self, noise_factor: float = 4.0, min_relative: float = 0.1, radius=(3, 3),
                 max_detections: int = 32, box=(8, 8), colormap: str = "jet"):
        self.noise_factor = float(noise_factor)
        self.min_relative = float(min_relative)
        self.radius = tuple(int(r) for r in radius)
        self.max_detections = int(max_detections)
        self.box = tuple(float(b) for b in box)
        self.colormap = colormap

    def intensity(self, images: torch.Tensor) -> torch.Tensor:
        """(B, H, W) intensity: as given, or read back from (B, 3, H, W) colours."""
        if images.ndim == 3:  # already an intensity image
            return images.to(torch.float32)
        if self.colormap == "jet":
            return jet_inverse(images)
        return images.to(torch.float32).mean(1)

    @torch.no_grad()
    def detect(self, images: torch.Tensor) -> list[Detections]:
        inten = self.intensity(images)
        b, h, w = inten.shape
        ry, rx = self.radius
        flat = inten.reshape(b, -1)
        thr = torch.maximum(self.noise_factor * flat.median(dim=1).values, self.min_relative * flat.amax(1))
        is_peak = (inten >= _circular_max(inten, ry, rx)) & (inten > thr[:, None, None])
        # keep the strongest `max_detections` peaks per image, all images at once
        score = torch.where(is_peak, inten, torch.full_like(inten, -1.0)).reshape(b, -1)
        k = min(self.max_detections, h * w)
        top, idx = score.topk(k, dim=1)
        keep = top > 0
        py, px = idx // w, idx % w
        rows = torch.arange(b)[:, None].expand_as(idx)
        c = inten[rows, py, px]
        up, down = inten[rows, (py - 1) % h, px], inten[rows, (py + 1) % h, px]
        left, right = inten[rows, py, (px - 1) % w], inten[rows, py, (px + 1) % w]
        cy = py.to(torch.float32) + _parabolic(up, c, down)
        cx = px.to(torch.float32) + _parabolic(left, c, right)
        bh, bw = self.box
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=-1)
        return [Detections(boxes[i][keep[i]], top[i][keep[i]]) for i in range(b)]
