"""The three small timm layers the encoder uses (PatchEmbed, Mlp, DropPath), in plain torch.

Why not `from timm.layers import ...`: importing timm.layers imports torchvision and, through
it, torch._dynamo: about 5 s of every wavesfm run (a fifth of `wzoo run wavesfm/pretrain`,
profiled for issue 14) for three modules of a few lines. They follow timm 1.0's layers
(pytorch-image-models, Apache-2.0, Ross Wightman): the same module and parameter names,
construction order (so a seed gives the same weights), arithmetic and random draws (so seeded
runs are unchanged); `tests/test_wavesfm_layers.py` checks them against timm's own.
"""

from __future__ import annotations

import torch
from torch import nn


class PatchEmbed(nn.Module):
    """Image (B, C, H, W) → patch tokens (B, N, D): a strided conv, flattened (timm's defaults)."""

    def __init__(self, img_size: tuple[int, int], patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.img_size = tuple(img_size)
        self.patch_size = (patch_size, patch_size)
        self.grid_size = (self.img_size[0] // patch_size, self.img_size[1] // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=True)
        self.norm = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.img_size:
            from .errors import InputShapeError

            raise InputShapeError(f"input is {tuple(x.shape[-2:])}, the patch embedding takes {self.img_size}")
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class Mlp(nn.Module):
    """fc1 → activation → dropout → fc2 → dropout."""

    def __init__(self, in_features: int, hidden_features: int, act_layer=nn.GELU, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.drop1 = nn.Dropout(drop)
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))


class DropPath(nn.Module):
    """Stochastic depth: while training, zero a sample's residual branch with probability p
    and scale the kept ones by 1 / (1 − p)."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        if keep > 0.0:
            mask.div_(keep)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.drop_prob}"
