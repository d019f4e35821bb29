"""The WavesFM ViT encoder, with separate query / key / value projections.

Why not timm's VisionTransformer: its attention has one fused `qkv` Linear, and peft can
only wrap whole Linear modules, so LoRA on query and value only (the paper's eqs. 15-16)
needs `q`, `k` and `v` as three modules. The rest are timm's layers (PatchEmbed, Mlp,
DropPath), written in plain torch in `layers.py` and tested against timm's, so that building an
encoder does not import timm (and torchvision). Checkpoints with a fused `qkv` (timm, MAE, the authors' code)
are converted on load by `convert_state_dict`.

One patch embedding per input channel count (spectrogram 1, WiFi CSI 3, 5G CSI 4, ...)
shares the transformer; the forward pass picks it from `x.shape[1]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo_core import Backbone
from zoo_core.validation import Range, Rate, Size

from .errors import InputShapeError
from .layers import DropPath, Mlp, PatchEmbed

MAX_PATCHES = 1 << 16  # 256 x 256 patches, far beyond any wireless image
#: the paper's Table I encoder and decoder
PAPER_ENCODER = dict(img_size=224, patch_size=16, embed_dim=512, depth=12, num_heads=8, mlp_dim=2048)
PAPER_DECODER = dict(decoder_embed_dim=256, decoder_depth=8, decoder_num_heads=16, decoder_mlp_dim=1024)


# ------------------------------------------------------------ position embeddings
def sincos_1d(dim: int, pos: np.ndarray) -> np.ndarray:
    """[sin(p w_0..w_{M/2-1}), cos(p w_0..)] with w_k = 10000^(-2k/M) (paper eq. 4)."""
    if dim % 2:
        raise ValueError(f"sin-cos embedding needs an even dimension, got {dim}")
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
    out = np.outer(pos.reshape(-1).astype(np.float64), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim: int, grid_size: tuple[int, int], cls_token: bool = False) -> torch.Tensor:
    """Fixed 2-D sin-cos embedding: half the channels encode the row, half the column.

    Follows MAE's `get_2d_sincos_pos_embed`; the CLS position (first row) is zero."""
    if dim % 4:
        raise ValueError(f"2-D sin-cos embedding needs a dimension divisible by 4, got {dim}")
    gh, gw = grid_size
    # MAE's meshgrid(w, h): the first half encodes the column index within a row
    rows, cols = np.meshgrid(np.arange(gh, dtype=np.float64), np.arange(gw, dtype=np.float64), indexing="ij")
    emb = np.concatenate([sincos_1d(dim // 2, cols), sincos_1d(dim // 2, rows)], axis=1)
    if cls_token:
        emb = np.concatenate([np.zeros((1, dim)), emb], axis=0)
    return torch.from_numpy(emb).float().unsqueeze(0)


# ------------------------------------------------------------------- the block
class Attention(nn.Module):
    """Multi-head self-attention with three projections `q`, `k`, `v` (LoRA targets)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, proj_drop: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.k = nn.Linear(dim, dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        h = self.num_heads

        def heads(t):
            return t.view(B, N, h, C // h).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(B, N, C)))


class Block(nn.Module):
    """Pre-norm transformer block (paper eqs. 5-6): x + MSA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, qkv_bias: bool = True,
                 drop_path: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias, proj_drop)
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden_features=mlp_dim, act_layer=nn.GELU, drop=proj_drop)
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x)))
        return x + self.drop_path2(self.mlp(self.norm2(x)))


def init_weights(module: nn.Module) -> None:
    """MAE's initialisation: xavier-uniform Linear, zero bias, unit LayerNorm."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


# ----------------------------------------------------------------- the encoder
class ViTEncoder(Backbone):
    """ViT encoder (paper Table I): CLS token, fixed 2-D sin-cos positions, pre-norm blocks.

    `forward_features` returns all tokens (B, 1 + N, D) after the final LayerNorm;
    `forward_head` pools the CLS token (`global_pool="token"`, the paper's default) or the
    mean of the patch tokens (`"avg"`).
    """

    def __init__(
        self,
        img_size: Size | Sequence[Size] = 224,
        patch_size: Size = 16,
        in_chans: Size | Sequence[Size] = 3,
        embed_dim: Size = 512,
        depth: Annotated[int, Range(1, 256)] = 12,
        num_heads: Size = 8,
        mlp_dim: Size = 2048,
        qkv_bias: bool = True,
        drop_path_rate: Rate = 0.0,
        global_pool: Literal["token", "avg"] = "token",
    ):
        super().__init__()
        if global_pool not in ("token", "avg"):
            raise ValueError(f"global_pool must be 'token' or 'avg', got {global_pool!r}")
        img = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if img[0] % patch_size or img[1] % patch_size:
            raise ValueError(f"img_size {img} is not a multiple of patch_size {patch_size}")
        chans = [in_chans] if isinstance(in_chans, int) else list(in_chans)
        self.img_size, self.patch_size, self.in_chans = img, patch_size, chans
        self.grid_size = (img[0] // patch_size, img[1] // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        if self.num_patches > MAX_PATCHES:  # the sin-cos table is numpy: bounded before it is built
            raise ValueError(f"{img} / patch {patch_size} gives {self.num_patches} patches; at most {MAX_PATCHES}")
        self.embed_dim = self.num_features = embed_dim
        self.global_pool = global_pool
        self.patch_embeds = nn.ModuleDict({
            str(c): PatchEmbed(img, patch_size, c, embed_dim) for c in chans
        })
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        # fixed, recomputed on construction: not a weight, so not in the state dict
        self.register_buffer("pos_embed", sincos_2d(embed_dim, self.grid_size, cls_token=True), persistent=False)
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_dim, qkv_bias, drop_path=r) for r in rates
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self._init_weights()

    def _init_weights(self) -> None:
        self.apply(init_weights)
        for pe in self.patch_embeds.values():  # as MAE: the conv as a Linear on flat patches
            w = pe.proj.weight.data
            nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.normal_(self.cls_token, std=0.02)

    # ------------------------------------------------------------ pieces
    def patch_embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → (B, N, D) with the patch embedding of C channels."""
        if x.ndim != 4:
            raise InputShapeError(f"the WavesFM encoder takes (batch, channels, H, W), got shape {tuple(x.shape)}")
        key = str(x.shape[1])
        if key not in self.patch_embeds:
            raise InputShapeError(
                f"no patch embedding for {x.shape[1]} input channel(s); this encoder has "
                f"{', '.join(self.patch_embeds)}. Build it with in_chans including {x.shape[1]}.")
        if tuple(x.shape[-2:]) != self.img_size:
            raise InputShapeError(
                f"input is {tuple(x.shape[-2:])}, the encoder takes {self.img_size}; resize it "
                "(the wavesfm transforms do) or build the encoder with that img_size")
        return self.patch_embeds[key](x)

    def with_cls(self, tokens: torch.Tensor) -> torch.Tensor:
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(tokens.shape[0], -1, -1)
        return torch.cat([cls, tokens], dim=1)

    # ----------------------------------------------------------- forward
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x) + self.pos_embed[:, 1:]
        x = self.with_cls(tokens)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return x[:, 0] if self.global_pool == "token" else x[:, 1:].mean(1)

    # ---------------------------------------------------------- loading
    def load_checkpoint(self, state: dict[str, torch.Tensor], strict: bool = True):
        """Load a state dict, converting fused `qkv` and single `patch_embed` layouts."""
        from zoo_core.serialization import load_state_strict

        converted = convert_state_dict(state, self)
        if strict:
            load_state_strict(self, converted)
            return None
        return self.load_state_dict(converted, strict=False)


def convert_state_dict(state: dict[str, torch.Tensor], model: ViTEncoder | None = None) -> dict[str, torch.Tensor]:
    """Fused-checkpoint → this layout.

    * `...attn.qkv.{weight,bias}` (3D rows: query, key, value) → `...attn.{q,k,v}.*`
    * `patch_embed.proj.*` (one embedding) → `patch_embeds.<C>.proj.*`, C from the weight
    * fixed position embeddings (`pos_embed`, `decoder_pos_embed`) are dropped: they are
      recomputed; other MAE-only keys (decoder, mask token) are dropped when `model` is
      given and does not have them.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if key in ("pos_embed", "decoder_pos_embed"):
            continue
        if ".qkv." in key:
            stem, _, kind = key.rpartition(".qkv.")
            for name, part in zip("qkv", value.chunk(3, dim=0)):
                out[f"{stem}.{name}.{kind}"] = part.clone()
            continue
        if key.startswith("patch_embed."):
            chans = value.shape[1] if key.endswith("weight") else None
            if chans is None:  # the bias: find the weight's channel count
                chans = state[key.replace("bias", "weight")].shape[1]
            key = f"patch_embeds.{chans}." + key.removeprefix("patch_embed.")
        out[key] = value
    if model is not None:
        known = set(model.state_dict())
        out = {k: v for k, v in out.items() if k in known or not _mae_only(k)}
    return out


def _mae_only(key: str) -> bool:
    return key.startswith(("decoder", "mask_token", "head.", "fc_norm."))


def vit_encoder(**kwargs) -> ViTEncoder:
    """`ViTEncoder(**kwargs)` (the registered factory is the class itself, so a config's
    arguments are checked against its annotations)."""
    return ViTEncoder(**kwargs)


def encoder_param_count(img_size=224, patch_size=16, in_chans=3, embed_dim=512, depth=12,
                        mlp_dim=2048, qkv_bias=True, **_) -> int:
    """Parameters of `ViTEncoder`, counted analytically (verified against a real build)."""
    chans = [in_chans] if isinstance(in_chans, int) else list(in_chans)
    d = embed_dim
    attn = 3 * (d * d + (d if qkv_bias else 0)) + d * d + d
    mlp = d * mlp_dim + mlp_dim + mlp_dim * d + d
    block = attn + mlp + 4 * d
    patch = sum(patch_size * patch_size * c * d + d for c in chans)
    return depth * block + patch + d + 2 * d


__all__ = ["ViTEncoder", "Block", "Attention", "sincos_2d", "convert_state_dict", "vit_encoder",
           "encoder_param_count", "PAPER_ENCODER", "PAPER_DECODER", "InputShapeError"]
