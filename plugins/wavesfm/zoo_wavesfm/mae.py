"""Masked wireless modelling (paper Sec. IV-A, Algorithm 1): an MAE around the ViT encoder.

Per sample, a uniform random fraction `mask_ratio` of the patches is removed by
shuffle-and-restore (argsort of uniform noise, keep the first N - floor(gamma N), restore
order with the inverse permutation); the encoder sees the visible patches only; the decoder
gets the encoded tokens plus a learnable mask token at every removed position, with its own
fixed sin-cos positions; the loss (eq. 13) is the squared error summed over a patch's
P^2 C values, averaged over the masked patches of the batch only.

The decoder's input/output projections are shared; the reconstruction projection has one
Linear per input channel count (as the encoder has one patch embedding per count).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .towers import Block, ViTEncoder, init_weights, sincos_2d


def patchify(imgs: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) → (B, N, p*p*C), patches in row-major order, values (p, p, C) flattened."""
    B, C, H, W = imgs.shape
    h, w = H // p, W // p
    x = imgs.reshape(B, C, h, p, w, p)
    return torch.einsum("nchpwq->nhwpqc", x).reshape(B, h * w, p * p * C)


def unpatchify(x: torch.Tensor, p, chans: int, grid: tuple[int, int]) -> torch.Tensor:
    """Inverse of `patchify`; `p` is an int or a (rows, cols) patch (values (ph, pw, C) flattened)."""
    ph, pw = (p, p) if isinstance(p, int) else (int(p[0]), int(p[1]))
    B = x.shape[0]
    h, w = grid
    x = x.reshape(B, h, w, ph, pw, chans)
    return torch.einsum("nhwpqc->nchpwq", x).reshape(B, chans, h * ph, w * pw)


def random_masking(n: int, num_patches: int, mask_ratio: float, generator: torch.Generator | None = None,
                   device=None, noise: torch.Tensor | None = None):
    """Shuffle-and-restore masking: (ids_keep (n, N_vis), mask (n, N) 1 = removed, ids_restore).

    `noise` (n, N) uniform values may be given instead of drawing them (reproducible masks
    per sample, e.g. across data-parallel ranks)."""
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    num_masked = int(math.floor(mask_ratio * num_patches))
    keep = num_patches - num_masked
    if noise is None:
        noise = torch.rand(n, num_patches, generator=generator, device=device)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :keep]
    mask = torch.ones(n, num_patches, device=device)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return ids_keep, mask, ids_restore


def masked_patch_loss(target: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Paper eq. 13: sum over masked patches of ||x - x_hat||^2, divided by (batch · masked)."""
    per_patch = ((pred - target) ** 2).sum(dim=-1)
    return (per_patch * mask).sum() / mask.sum().clamp_min(1)


class MaskedAutoencoder(nn.Module):
    """The pre-training model: `encoder` (a ViTEncoder, kept after pre-training) + decoder."""

    def __init__(
        self,
        encoder: ViTEncoder,
        decoder_embed_dim: int = 256,
        decoder_depth: int = 8,
        decoder_num_heads: int = 16,
        decoder_mlp_dim: int = 1024,
        mask_ratio: float = 0.75,
    ):
        super().__init__()
        self.encoder = encoder
        self.mask_ratio = mask_ratio
        d = decoder_embed_dim
        p = encoder.patch_size
        self.decoder_embed = nn.Linear(encoder.embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.register_buffer("decoder_pos_embed", sincos_2d(d, encoder.grid_size, cls_token=True), persistent=False)
        self.decoder_blocks = nn.ModuleList(
            Block(d, decoder_num_heads, decoder_mlp_dim) for _ in range(decoder_depth))
        self.decoder_norm = nn.LayerNorm(d, eps=1e-6)
        self.decoder_preds = nn.ModuleDict({str(c): nn.Linear(d, p * p * c) for c in encoder.in_chans})
        for m in [self.decoder_embed, *self.decoder_blocks, self.decoder_norm, *self.decoder_preds.values()]:
            m.apply(init_weights)
        nn.init.normal_(self.mask_token, std=0.02)

    def decoder_parameters(self) -> int:
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith("encoder."))

    # ------------------------------------------------------------------ encoder side
    def forward_encoder(self, imgs: torch.Tensor, mask_ratio: float, generator=None, noise=None):
        enc = self.encoder
        tokens = enc.patch_embed(imgs) + enc.pos_embed[:, 1:]
        ids_keep, mask, ids_restore = random_masking(
            tokens.shape[0], tokens.shape[1], mask_ratio, generator, tokens.device, noise)
        visible = torch.gather(tokens, 1, ids_keep.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
        x = enc.with_cls(visible)
        for block in enc.blocks:
            x = block(x)
        return enc.norm(x), mask, ids_restore

    # ------------------------------------------------------------------ decoder side
    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor, chans: int) -> torch.Tensor:
        """Encoded visible tokens (with CLS) → predicted patches (B, N, p*p*chans), eq. 10-11."""
        x = self.decoder_embed(latent)
        B, n_vis, d = x.shape
        n = ids_restore.shape[1]
        masks = self.mask_token.to(x.dtype).expand(B, n + 1 - n_vis, d)
        seq = torch.cat([x[:, 1:], masks], dim=1)
        seq = torch.gather(seq, 1, ids_restore.unsqueeze(-1).expand(-1, -1, d))  # un-shuffle
        x = torch.cat([x[:, :1], seq], dim=1) + self.decoder_pos_embed.to(x.dtype)
        for block in self.decoder_blocks:
            x = block(x)
        x = self.decoder_norm(x)
        return self.decoder_preds[str(chans)](x)[:, 1:]

    def forward(self, imgs: torch.Tensor, mask_ratio: float | None = None, generator=None, noise=None):
        """(loss, predicted patches (B, N, p*p*C), mask (B, N) with 1 = masked)."""
        ratio = self.mask_ratio if mask_ratio is None else mask_ratio
        latent, mask, ids_restore = self.forward_encoder(imgs, ratio, generator, noise)
        pred = self.forward_decoder(latent, ids_restore, imgs.shape[1])
        loss = masked_patch_loss(patchify(imgs, self.encoder.patch_size), pred.float(), mask)
        return loss, pred, mask

    @torch.no_grad()
    def reconstruct(self, imgs: torch.Tensor, mask_ratio: float | None = None, generator=None):
        """(masked input, reconstruction, reconstruction pasted onto the visible patches)."""
        _, pred, mask = self(imgs, mask_ratio, generator)
        enc = self.encoder
        c = imgs.shape[1]
        recon = unpatchify(pred.float(), enc.patch_size, c, enc.grid_size)
        m = unpatchify(mask.unsqueeze(-1).expand(-1, -1, enc.patch_size ** 2 * c), enc.patch_size, c, enc.grid_size)
        return imgs * (1 - m), recon, imgs * (1 - m) + recon * m


def build_mae(encoder: ViTEncoder, **decoder_args) -> MaskedAutoencoder:
    return MaskedAutoencoder(encoder, **decoder_args)


def plot_reconstruction(mae: MaskedAutoencoder, imgs: torch.Tensor, path, mask_ratio: float | None = None,
                        seed: int = 0, channel: int = 0):
    """Rows of original / masked / reconstruction / reconstruction + visible (paper Fig. 5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gen = torch.Generator(device=imgs.device).manual_seed(seed)
    mae.eval()
    masked, recon, pasted = mae.reconstruct(imgs, mask_ratio, gen)
    rows = imgs.shape[0]
    fig, axes = plt.subplots(rows, 4, figsize=(8, 2 * rows), squeeze=False)
    for r in range(rows):
        for c, (title, img) in enumerate(
                [("original", imgs), ("masked", masked), ("reconstruction", recon), ("recon. + visible", pasted)]):
            ax = axes[r][c]
            ax.imshow(img[r, channel].detach().cpu().numpy(), cmap="viridis", aspect="auto")
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
