"""EPNN, CFENN, MSNN and CRNN of the two-tower paper (Sec. III-A), re-implemented from the text.

Both towers are CLIP-style transformers: patch tokens, a class token in front, a learnable
position embedding, residual attention blocks (pre-norm multi-head attention, then an MLP
with QuickGELU), a final LayerNorm and a linear map of the class token to the shared
embedding space. The MSNN is the stack of blocks both towers run after their
modality-specific blocks; with the `crnn-msnn` variant the two towers hold the same module
(`tie_msnn`). The CRNN (a task head, `heads.CRNNHead`) inverts the CSI tower.

No public code exists for the paper; the paper-size configuration was found by searching the
widths, depths and patchings of this structure for the counts of Table III (see `plugin.SIZES`
and the model card).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from zoo_core import Backbone
from zoo_core.validation import Size

from .errors import InputShapeError

VECTOR_DIM = 8  # [BS x, y, z, UE x, y, z, LOS, metres per pixel]


class QuickGELU(nn.Module):
    """x·σ(1.702x), CLIP's GELU approximation (the paper's quickGELU layer)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """x + MHA(LN(x)), then x + MLP(LN(x)) with QuickGELU: CLIP's block, batch-first."""

    def __init__(self, width: int, heads: int, mlp_width: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_width), QuickGELU(), nn.Linear(mlp_width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


def blocks(depth: int, width: int, heads: int, mlp_width: int) -> nn.Sequential:
    return nn.Sequential(*(ResidualAttentionBlock(width, heads, mlp_width) for _ in range(depth)))


class _Tower(Backbone):
    """Tokens → class token + position embedding → specific blocks → MSNN → LN → linear to
    `embed_dim`. `forward_features` gives the token sequence after the MSNN; `forward_head`
    projects the class token, so the tower's pooled output is its embedding."""

    def _init_common(self, n_tokens: int, width: int, heads: int, specific_depth: int, specific_mlp: int,
                     shared_depth: int, shared_mlp: int, embed_dim: int, msnn: bool) -> None:
        if width % heads:
            raise InputShapeError(f"width {width} is not divisible by heads {heads}")
        self.width, self.msnn_tied = width, bool(msnn)
        self.num_features = embed_dim
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.empty(n_tokens + 1, width))
        self.specific = blocks(specific_depth, width, heads, specific_mlp)
        self.msnn = blocks(shared_depth, width, heads, shared_mlp)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Linear(width, embed_dim)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.class_embedding, std=0.02)

    def _encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        cls = self.class_embedding.to(tokens.dtype).expand(tokens.shape[0], 1, -1)
        x = torch.cat([cls, tokens], dim=1) + self.positional_embedding.to(tokens.dtype)
        return self.msnn(self.specific(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.proj(self.ln_post(x[:, 0]))

    @property
    def blocks(self) -> list[nn.Module]:
        """Every block in order (for `freeze_backbone(trainable_blocks=k)`)."""
        return list(self.specific) + list(self.msnn)


class CFENN(_Tower):
    """Channel tower: real/imag CSI (B, 2, antennas, subcarriers) → conv2d antenna×subcarrier
    patches → transformer → `embed_dim`."""

    def __init__(self, antennas: Size = 32, subcarriers: Size = 64, patch: tuple[Size, Size] = (4, 4),
                 width: Size = 256, heads: Size = 8, specific_depth: int = 1, specific_mlp: Size = 896,
                 shared_depth: int = 8, shared_mlp: Size = 1024, embed_dim: Size = 128, msnn: bool = True):
        super().__init__()
        pa, ps = patch
        if antennas % pa or subcarriers % ps:
            raise InputShapeError(f"patch {tuple(patch)} does not tile a {antennas}x{subcarriers} CSI matrix")
        self.input_shape = (2, antennas, subcarriers)
        self.conv1 = nn.Conv2d(2, width, kernel_size=(pa, ps), stride=(pa, ps))
        self._init_common((antennas // pa) * (subcarriers // ps), width, heads, specific_depth, specific_mlp,
                          shared_depth, shared_mlp, embed_dim, msnn)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise InputShapeError(f"CFENN takes CSI of shape (batch, {', '.join(map(str, self.input_shape))}) "
                                  f"(real/imag, antennas, subcarriers), got {tuple(x.shape)}")
        return self._encode_tokens(self.conv1(x.to(self.conv1.weight.dtype)).flatten(2).transpose(1, 2))


class EPNN(_Tower):
    """Environment tower: the binary building-edge map (B, map, map) → conv2d patches, and the
    8-dim vector → `vector_tokens` patches by one linear layer; concatenated → transformer."""

    def __init__(self, map_size: Size = 384, patch: Size = 32, vector_tokens: Size = 4, width: Size = 256,
                 heads: Size = 8, specific_depth: int = 2, specific_mlp: Size = 320, shared_depth: int = 8,
                 shared_mlp: Size = 1024, embed_dim: Size = 128, msnn: bool = True):
        super().__init__()
        if map_size % patch:
            raise InputShapeError(f"patch {patch} does not tile a {map_size}x{map_size} map")
        self.map_size, self.vector_tokens = map_size, vector_tokens
        self.conv1 = nn.Conv2d(1, width, kernel_size=patch, stride=patch)
        self.vector_embedding = nn.Linear(VECTOR_DIM, vector_tokens * width)
        self._init_common((map_size // patch) ** 2 + vector_tokens, width, heads, specific_depth, specific_mlp,
                          shared_depth, shared_mlp, embed_dim, msnn)

    def forward_features(self, x) -> torch.Tensor:
        if not isinstance(x, dict) or "edges" not in x or "vector" not in x:
            raise InputShapeError("EPNN takes {'edges': (batch, map, map), 'vector': (batch, 8)} "
                                  "(the twotower/environment transform makes it)")
        edges, vector = x["edges"], x["vector"]
        if edges.ndim != 3 or tuple(edges.shape[1:]) != (self.map_size,) * 2:
            raise InputShapeError(f"EPNN takes edge maps of shape (batch, {self.map_size}, {self.map_size}), "
                                  f"got {tuple(edges.shape)}")
        if vector.shape != (edges.shape[0], VECTOR_DIM):
            raise InputShapeError(f"EPNN takes an ({edges.shape[0]}, 8) position vector, got {tuple(vector.shape)}")
        maps = self.conv1(edges[:, None].to(self.conv1.weight.dtype)).flatten(2).transpose(1, 2)
        vec = self.vector_embedding(vector.to(maps.dtype)).view(len(vector), self.vector_tokens, self.width)
        return self._encode_tokens(torch.cat([maps, vec], dim=1))


Variant = Literal["two-tower", "crnn", "crnn-msnn"]


def tie_msnn(model) -> bool:
    """Make the environment tower run the CSI tower's MSNN module (one set of weights), when
    both towers were built with `msnn=True`. Returns whether they are tied. The core builds
    each tower on its own, so a model made by `create_model` or loaded from a folder holds two
    copies until this runs (equal after a load, since the saved copies are equal)."""
    csi, env = model.encoders["csi"].backbone, model.encoders["env"].backbone
    if not (csi.msnn_tied and env.msnn_tied):
        return False
    if env.msnn is not csi.msnn:
        if [p.shape for p in env.msnn.parameters()] != [p.shape for p in csi.msnn.parameters()]:
            raise InputShapeError("the two towers' MSNN blocks differ in shape; they cannot be shared")
        env.msnn = csi.msnn
    return True


def count_parameters(module: nn.Module) -> int:
    """Parameters of a module, each shared tensor once (works on the meta device)."""
    return sum(p.numel() for p in module.parameters())
