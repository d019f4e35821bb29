"""The CRNN as a task head of the CSI tower (task `csi-feedback`): the 128-dim channel
embedding → linear → a patch sequence + position embedding → residual attention blocks →
LN → per-patch linear → the (2, antennas, subcarriers) real/imag CSI, normalised as the
`twotower/csi` transform normalises it (eq. 11's target)."""

from __future__ import annotations

import torch
from torch import nn

from zoo_core.interfaces import TaskHead
from zoo_core.validation import Size

from .errors import InputShapeError
from .towers import blocks


class CRNNHead(TaskHead):
    uses = "embedding"

    def __init__(self, in_features: Size, antennas: Size = 32, subcarriers: Size = 64,
                 patch: tuple[Size, Size] = (4, 4), width: Size = 256, heads: Size = 8, depth: int = 8,
                 mlp: Size = 1024, out_init_std: float = 0.01, task: str | None = None):
        super().__init__(task)
        pa, ps = patch
        if antennas % pa or subcarriers % ps or width % heads:
            raise InputShapeError(f"CRNN: patch {tuple(patch)} must tile {antennas}x{subcarriers} and "
                                  f"heads {heads} divide width {width}")
        self.grid, self.patch, self.width = (antennas // pa, subcarriers // ps), (pa, ps), width
        n = self.grid[0] * self.grid[1]
        self.expand = nn.Linear(in_features, n * width)
        self.positional_embedding = nn.Parameter(torch.empty(n, width))
        nn.init.normal_(self.positional_embedding, std=0.01)
        self.blocks = blocks(depth, width, heads, mlp)
        self.ln_post = nn.LayerNorm(width)
        self.unpatch = nn.Linear(width, 2 * pa * ps)
        # starts near the all-zero guess: with the default init the CRNN's first steps only
        # shrink a random output of variance ~1/3, and its weights on the way to zero cut the
        # gradient to everything before it (a long plateau at L_R = 0.5)
        nn.init.normal_(self.unpatch.weight, std=out_init_std)
        nn.init.zeros_(self.unpatch.bias)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        (ga, gs), (pa, ps) = self.grid, self.patch
        x = self.expand(embedding).view(len(embedding), ga * gs, self.width) + self.positional_embedding
        x = self.unpatch(self.ln_post(self.blocks(x)))                      # (B, ga·gs, 2·pa·ps)
        x = x.view(len(x), ga, gs, 2, pa, ps).permute(0, 3, 1, 4, 2, 5)    # (B, 2, ga, pa, gs, ps)
        return x.reshape(len(x), 2, ga * pa, gs * ps)
