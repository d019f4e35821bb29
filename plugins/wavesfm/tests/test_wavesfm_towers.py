"""The WavesFM encoder: paper sizes, fused-qkv conversion, positions, registration."""

import math

import numpy as np
import pytest
import torch

from zoo_wavesfm.mae import MaskedAutoencoder
from zoo_wavesfm.plugin import SIZES
from zoo_wavesfm.towers import (PAPER_DECODER, PAPER_ENCODER, InputShapeError, ViTEncoder, convert_state_dict,
                             encoder_param_count, sincos_2d)

TINY = dict(img_size=32, patch_size=8, in_chans=3, embed_dim=64, depth=2, num_heads=4, mlp_dim=128)


def _count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("in_chans", [3, [1, 3, 4]])
def test_paper_encoder_has_38m_and_decoder_7m_parameters(in_chans):
    with torch.device("meta"):
        enc = ViTEncoder(in_chans=in_chans, **PAPER_ENCODER)
        mae = MaskedAutoencoder(enc, **PAPER_DECODER)
    n_enc = _count(enc)
    assert n_enc == encoder_param_count(in_chans=in_chans, **PAPER_ENCODER)
    assert abs(n_enc - 38e6) <= 0.03 * 38e6, n_enc
    n_dec = mae.decoder_parameters()
    assert abs(n_dec - 7e6) <= 0.10 * 7e6, n_dec
    # the 12 blocks alone: 12 * (4 d^2 + 4 d  +  2 d h + d + h  +  4 d)
    d, h = 512, 2048
    blocks = sum(p.numel() for n, p in enc.named_parameters() if n.startswith("blocks."))
    assert blocks == 12 * (4 * d * d + 4 * d + 2 * d * h + d + h + 4 * d)


def test_analytic_count_matches_a_real_build():
    enc = ViTEncoder(**{**SIZES["small"]})
    assert _count(enc) == encoder_param_count(**SIZES["small"])


def test_registered_paper_config_is_table_one():
    assert {k: SIZES["paper"][k] for k in PAPER_ENCODER} == PAPER_ENCODER
    assert PAPER_ENCODER == dict(img_size=224, patch_size=16, embed_dim=512, depth=12, num_heads=8, mlp_dim=2048)


def test_attention_has_separate_query_key_value():
    enc = ViTEncoder(**TINY)
    names = {n for n, _ in enc.named_modules()}
    assert {"blocks.0.attn.q", "blocks.0.attn.k", "blocks.0.attn.v"} <= names
    assert not any(n.endswith("qkv") for n in names)


def _timm_reference(seed=0):
    """timm's own VisionTransformer (fused qkv) with our fixed sin-cos positions."""
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(seed)
    ref = VisionTransformer(img_size=32, patch_size=8, in_chans=3, embed_dim=64, depth=2, num_heads=4,
                            mlp_ratio=2.0, num_classes=0, global_pool="token", class_token=True).eval()
    with torch.no_grad():
        for p in ref.parameters():  # timm zero-inits some biases: make every weight count
            p.add_(0.02 * torch.randn_like(p))
        ref.pos_embed.copy_(sincos_2d(64, (4, 4), cls_token=True))
    return ref


def test_fused_qkv_checkpoint_converts_to_identical_outputs():
    ref = _timm_reference()
    ours = ViTEncoder(**TINY).eval()
    state = ref.state_dict()
    assert any(".qkv." in k for k in state)
    ours.load_checkpoint(state)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = ref.forward_features(x)
        got = ours.forward_features(x)
        assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()
        assert torch.allclose(ours(x), ref(x), atol=1e-5)  # CLS pooling = timm's 'token' pooling
    # the split rows are the fused rows, in query, key, value order
    w = state["blocks.1.attn.qkv.weight"]
    assert torch.equal(ours.blocks[1].attn.k.weight, w[64:128])


def test_convert_state_dict_maps_keys():
    state = {"blocks.0.attn.qkv.weight": torch.arange(12.).view(6, 2), "blocks.0.attn.qkv.bias": torch.arange(6.),
             "patch_embed.proj.weight": torch.zeros(4, 1, 2, 2), "patch_embed.proj.bias": torch.zeros(4),
             "pos_embed": torch.zeros(1, 5, 4)}
    out = convert_state_dict(state)
    assert sorted(out) == ["blocks.0.attn.k.bias", "blocks.0.attn.k.weight", "blocks.0.attn.q.bias",
                           "blocks.0.attn.q.weight", "blocks.0.attn.v.bias", "blocks.0.attn.v.weight",
                           "patch_embeds.1.proj.bias", "patch_embeds.1.proj.weight"]
    assert out["blocks.0.attn.v.bias"].tolist() == [4.0, 5.0]


def test_sincos_positions_follow_equation_four():
    d, grid = 16, (3, 5)
    pe = sincos_2d(d, grid, cls_token=True)[0].numpy()
    assert pe.shape == (1 + 15, d) and not pe[0].any()
    m = d // 2
    w = 10000.0 ** (-2 * np.arange(m // 2) / m)
    for idx in (1, 7, 15):
        row, col = divmod(idx - 1, grid[1])
        expect = np.concatenate([np.sin(col * w), np.cos(col * w), np.sin(row * w), np.cos(row * w)])
        assert np.allclose(pe[idx], expect, atol=1e-6)
    assert not ViTEncoder(**TINY).state_dict().keys() & {"pos_embed"}  # fixed, not a weight


def test_one_patch_embedding_per_channel_count_shares_the_blocks():
    enc = ViTEncoder(**{**TINY, "in_chans": [1, 3, 4]}).eval()
    for c in (1, 3, 4):
        assert enc(torch.randn(2, c, 32, 32)).shape == (2, 64)
    with pytest.raises(InputShapeError, match="no patch embedding for 2"):
        enc(torch.randn(2, 2, 32, 32))
    with pytest.raises(InputShapeError, match="resize"):
        enc(torch.randn(2, 3, 16, 16))


def test_avg_pooling_averages_patch_tokens():
    enc = ViTEncoder(**TINY, global_pool="avg").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(enc(x), enc.forward_features(x)[:, 1:].mean(1))


def test_contract_kit(tmp_path):
    from zoo_core.testing import check_plugin

    reports = {r.model: r for r in check_plugin("wavesfm", tmp_path)}
    tiny = reports["wavesfm/vit-tiny-p8-32"]
    assert tiny.output_shapes["activity"] == (3, 6)
    assert tiny.output_shapes["rf-classification"] == (3, 20)
    assert tiny.output_shapes["positioning"] == (3, 3)
    assert tiny.output_shapes["channel-estimation"] == (3, 2, 32, 32)
    assert math.isclose(reports["wavesfm/vit-p16-224"].num_parameters, 38e6, rel_tol=0.03)
