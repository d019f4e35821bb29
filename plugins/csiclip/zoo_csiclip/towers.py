"""The CSI-CLIP encoder: a timm ResNet whose stem takes two channels (real, imaginary).

timm builds the network (`in_chans=2`, no classifier); `forward_features` gives the last
stage's maps and the core's `forward_head` averages them (timm's own global pool), so
`num_features` is timm's: 2048 for ResNet-50. `channels` narrows the four stages for tests and
CPU runs (timm's plain stem stays 64 wide). The state keys are timm's (= torchvision's) under `net.`, which is
what the authors' checkpoint maps onto (`zoo_csiclip.official`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from zoo_core import Backbone
from zoo_core.validation import Size

ARCHS = ("resnet18", "resnet26", "resnet34", "resnet50")


class ResNetEncoder(Backbone):
    """timm ResNet, 2-channel stem, pooled to `num_features`."""

    weights_source = "random"

    def __init__(self, arch: Literal["resnet18", "resnet26", "resnet34", "resnet50"] = "resnet50",
                 in_chans: Size = 2, channels: Sequence[Size] | None = None):
        super().__init__()
        import timm

        kwargs = {}
        if channels is not None:
            if len(channels) != 4:
                raise ValueError(f"channels gives the width of each of the 4 ResNet stages, got {list(channels)}")
            kwargs["channels"] = tuple(int(c) for c in channels)
        self.net = timm.create_model(arch, pretrained=False, in_chans=int(in_chans), num_classes=0, **kwargs)
        self.num_features = int(self.net.num_features)
        self.in_chans = int(in_chans)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # channels-last activations: torch's CPU max-pool is ~6x and the convolutions ~2x faster
        # on them than on NCHW (tiny tower, batch 128, one thread: forward 104 → 36 ms, a training
        # step 181 → 123 ms; `benchmarks/bench_recipes.py -k csiclip`); the same numbers up to
        # float rounding (tests/test_csiclip_towers.py)
        if x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net.forward_features(x)
