"""Masked wireless modelling: masking, the masked-only loss (eq. 13), the decoder, a plot."""

import math

import pytest
import torch

from zoo_wavesfm.mae import MaskedAutoencoder, masked_patch_loss, patchify, random_masking, unpatchify
from zoo_wavesfm.towers import ViTEncoder

TINY = dict(img_size=32, patch_size=8, in_chans=[1, 3], embed_dim=64, depth=2, num_heads=4, mlp_dim=128)
DEC = dict(decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4, decoder_mlp_dim=64)


def _mae(seed=0):
    torch.manual_seed(seed)
    return MaskedAutoencoder(ViTEncoder(**TINY), **DEC)


def test_patchify_round_trip_and_layout():
    x = torch.randn(2, 3, 16, 24)
    p = patchify(x, 8)
    assert p.shape == (2, 6, 8 * 8 * 3)
    assert torch.equal(unpatchify(p, 8, 3, (2, 3)), x)
    # patch 4 (row 1, col 1) holds pixel rows 8..15, cols 8..15; values ordered (p, p, C)
    assert torch.equal(p[0, 4].view(8, 8, 3).permute(2, 0, 1), x[0, :, 8:16, 8:16])


def test_masking_removes_floor_ratio_per_sample_uniformly():
    gen = torch.Generator().manual_seed(0)
    ids_keep, mask, ids_restore = random_masking(64, 49, 0.75, gen)
    assert ids_keep.shape == (64, 49 - math.floor(0.75 * 49))
    assert torch.all(mask.sum(1) == math.floor(0.75 * 49))
    # kept ids are exactly the unmasked positions, and ids_restore inverts the shuffle
    for b in range(3):
        assert sorted(ids_keep[b].tolist()) == torch.nonzero(mask[b] == 0).flatten().tolist()
    assert len({tuple(m.tolist()) for m in mask}) == 64  # a different mask per sample
    # uniform: every position is masked about 75 % of the time
    gen = torch.Generator().manual_seed(1)
    freq = random_masking(4000, 16, 0.75, gen)[1].mean(0)
    assert torch.all((freq - 0.75).abs() < 0.04), freq


def test_loss_depends_on_masked_patches_only():
    mae = _mae()
    x = torch.randn(2, 3, 32, 32)
    gen = torch.Generator().manual_seed(0)
    _, pred, mask = mae(x, generator=gen)
    target = patchify(x, 8)
    base = masked_patch_loss(target, pred, mask)
    visible = torch.nonzero(mask[0] == 0).flatten()[0]
    masked = torch.nonzero(mask[0] == 1).flatten()[0]
    changed = pred.clone()
    changed[0, visible] += 10.0
    assert torch.equal(masked_patch_loss(target, changed, mask), base)
    changed = pred.clone()
    changed[0, masked] += 10.0
    assert masked_patch_loss(target, changed, mask) > base + 1.0


def test_loss_is_equation_13():
    mae = _mae()
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        loss, pred, mask = mae(x, generator=torch.Generator().manual_seed(2))
    target = patchify(x, 8)
    total, count = 0.0, 0
    for m in range(3):
        for i in range(16):
            if mask[m, i] == 1:
                total += float(((target[m, i] - pred[m, i]) ** 2).sum())
                count += 1
    assert count == 3 * 12
    assert loss.item() == pytest.approx(total / count, rel=1e-5)


def test_decoder_sees_the_visible_tokens_in_their_original_places():
    """Shuffle-and-restore: a visible patch's content reaches its own position."""
    mae = _mae().eval()
    x = torch.randn(1, 3, 32, 32)
    gen_state = torch.Generator().manual_seed(5)
    _, pred_a, mask = mae(x, generator=gen_state)
    visible = torch.nonzero(mask[0] == 0).flatten()
    y = x.clone()
    p = patchify(y, 8)
    p[0, visible[0]] += 1.0
    y = unpatchify(p, 8, 3, (4, 4))
    with torch.no_grad():
        _, pred_b, mask_b = mae(y, generator=torch.Generator().manual_seed(5))
    assert torch.equal(mask, mask_b)
    assert not torch.allclose(pred_a, pred_b)


def test_training_reduces_the_loss_and_reconstruction_plot(tmp_path):
    from zoo_wavesfm.mae import plot_reconstruction

    mae = _mae()
    x = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(8, 1, 32, 32).contiguous()
    opt = torch.optim.AdamW(mae.parameters(), lr=3e-3, weight_decay=0.05)
    first = None
    for step in range(15):
        loss, _, _ = mae(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
    out = plot_reconstruction(mae, x[:2], tmp_path / "recon.png")
    assert out.stat().st_size > 1000
