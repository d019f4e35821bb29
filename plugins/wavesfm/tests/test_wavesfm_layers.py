"""zoo_wavesfm.layers' PatchEmbed / Mlp / DropPath equal timm's: same names, same weights from
the same seed, same outputs (so saved encoders and seeded runs are unchanged)."""

import subprocess
import sys

import pytest
import torch
from torch import nn

timm_layers = pytest.importorskip("timm.layers")

from zoo_wavesfm import layers  # noqa: E402


def _twins(make_ours, make_timm, seed=0):
    torch.manual_seed(seed)
    ours = make_ours()
    torch.manual_seed(seed)
    ref = make_timm()
    return ours, ref


def _same_state(a: nn.Module, b: nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_patch_embed_equals_timm():
    ours, ref = _twins(lambda: layers.PatchEmbed((32, 48), 16, 4, 64),
                       lambda: timm_layers.PatchEmbed((32, 48), 16, 4, 64))
    _same_state(ours, ref)
    assert ours.grid_size == tuple(ref.grid_size) and ours.num_patches == ref.num_patches
    x = torch.randn(3, 4, 32, 48)
    assert torch.equal(ours(x), ref(x))
    with pytest.raises(ValueError, match="patch embedding takes"):
        ours(torch.randn(1, 4, 16, 16))


@pytest.mark.parametrize("drop", [0.0, 0.3])
def test_mlp_equals_timm(drop):
    ours, ref = _twins(lambda: layers.Mlp(64, hidden_features=256, act_layer=nn.GELU, drop=drop),
                       lambda: timm_layers.Mlp(64, hidden_features=256, act_layer=nn.GELU, drop=drop))
    _same_state(ours, ref)
    x = torch.randn(2, 5, 64)
    ours.eval(), ref.eval()
    assert torch.equal(ours(x), ref(x))
    ours.train(), ref.train()
    torch.manual_seed(1)
    a = ours(x)
    torch.manual_seed(1)
    assert torch.equal(a, ref(x))


@pytest.mark.parametrize("p", [0.0, 0.25, 1.0])
def test_drop_path_equals_timm(p):
    ours, ref = layers.DropPath(p), timm_layers.DropPath(p)
    x = torch.randn(16, 5, 8)
    for train in (False, True):
        ours.train(train), ref.train(train)
        torch.manual_seed(3)
        a = ours(x)
        torch.manual_seed(3)
        assert torch.equal(a, ref(x))


def test_encoder_build_does_not_import_timm():
    code = ("import sys; from zoo_wavesfm.towers import ViTEncoder; ViTEncoder(img_size=32, patch_size=16, "
            "embed_dim=64, depth=1, num_heads=2, mlp_dim=128); "
            "print(sorted(m for m in ('timm', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
