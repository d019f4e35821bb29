"""Tower sizes against independent counts; the contract kit on the small model."""

import pytest
import torch

import zoo_core
from zoo_core.factory import build_model, model_config
from zoo_core.testing import check_model
from zoo_core.testing.contract import check_arguments_are_annotated, check_registration_is_torch_free

#: torchvision's ResNet-50: 25,557,032 parameters, of which the 1000-class fc is 2048·1000 + 1000
RESNET50_NO_FC = 25_557_032 - (2048 * 1000 + 1000)
STEM_3_TO_2 = 64 * 1 * 7 * 7  # one input channel fewer in the 7x7, 64-filter stem


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_towers_are_two_channel_resnet50s_plus_projections():
    import timm

    model = build_model(model_config("csiclip/resnet50"), device="meta")
    with torch.device("meta"):
        timm_r50 = _count(timm.create_model("resnet50", pretrained=False, in_chans=2, num_classes=0))
    assert timm_r50 == RESNET50_NO_FC - STEM_3_TO_2 == 23_504_896
    embed = 512
    for tower in ("csi", "cir"):
        enc = model.encoder(tower)
        assert enc.num_features == 2048 and enc.embed_dim == embed
        assert _count(enc.backbone) == timm_r50
        assert _count(enc.projection) == 2048 * embed  # bias-free, as open_clip's
        assert enc.backbone.net.conv1.weight.shape == (64, 2, 7, 7)
    # two towers + two projections + the contrastive head's one learnable log-scale
    assert _count(model) == 2 * (timm_r50 + 2048 * embed) + 1 == 49_106_945


def test_official_architecture_is_the_paper_one():
    a = build_model(model_config("csiclip/resnet50"), device="meta")
    b = build_model(model_config("csiclip/resnet50-official"), device="meta")
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    assert b.config.card["license"] == "cc-by-nc-4.0"


def test_tiny_towers_count():
    import timm

    model = build_model(model_config("csiclip/resnet18-tiny"), device="meta")
    with torch.device("meta"):
        r18 = _count(timm.create_model("resnet18", pretrained=False, in_chans=2, num_classes=0,
                                       channels=(16, 32, 64, 128)))
    # by hand: stem 2->64 7x7 + BN (timm's plain stem keeps 64 filters); 4 stages of 2 basic blocks
    # (two 3x3 convs + BN each; a 1x1 conv + BN downsample where the width or stride changes)
    def bn(c):
        return 2 * c

    def block(cin, c, down):
        n = cin * c * 9 + bn(c) + c * c * 9 + bn(c)
        return n + (cin * c + bn(c) if down else 0)

    by_hand = 2 * 64 * 49 + bn(64)
    cin = 64
    for c in (16, 32, 64, 128):
        by_hand += block(cin, c, True) + block(c, c, False)
        cin = c
    assert r18 == by_hand
    assert _count(model) == 2 * (r18 + 128 * 64) + 1


def test_two_channel_stem_refuses_other_inputs():
    model = zoo_core.create_model("csiclip/resnet18-tiny").eval()
    x = torch.randn(2, 1, 32, 64, 1, dtype=torch.complex64)
    with torch.no_grad():
        assert model.encode({"csi": x}, "csi").shape == (2, 64)
        assert model.encode({"csi": x}, "cir").shape == (2, 64)  # cir computed from csi
        assert model({"csi": x}).shape == (2, 2)  # the default task: retrieval logits


def test_contract_kit_small_model(tmp_path):
    report = check_model("csiclip/resnet18-tiny", tmp_path)
    assert report.output_shapes == {"encode:csi": (3, 64), "encode:cir": (3, 64), "features": (3, 128),
                                    "retrieval": (3, 3)}
    check_registration_is_torch_free("zoo_csiclip.plugin")
    check_arguments_are_annotated("csiclip")


def test_bad_backbone_arguments_are_one_typed_line():
    from zoo_core.errors import WzooError

    with pytest.raises(WzooError) as err:
        zoo_core.create_model("csiclip/resnet18-tiny", arch="resnet99")
    assert "\n" not in str(err.value)
    with pytest.raises(WzooError) as err:
        zoo_core.create_model("csiclip/resnet18-tiny", channels=[16, 32])
    assert "\n" not in str(err.value) and "4 ResNet stages" in str(err.value)


def test_channels_last_activations_give_the_nchw_numbers():
    """forward_features runs on channels-last activations (faster on CPU); the features and the
    gradients equal those of the plain NCHW network up to float rounding."""
    from zoo_csiclip.towers import ResNetEncoder

    torch.manual_seed(0)
    enc = ResNetEncoder("resnet18", channels=[8, 8, 16, 16]).double()
    x = torch.randn(3, 2, 32, 64, dtype=torch.float64)
    fast = enc.forward_features(x)
    assert fast.is_contiguous(memory_format=torch.channels_last)
    fast.square().sum().backward()
    grads = [p.grad.clone() for p in enc.parameters()]
    enc.zero_grad()
    plain = enc.net.forward_features(x)  # NCHW all the way
    plain.square().sum().backward()
    torch.testing.assert_close(fast, plain, rtol=1e-10, atol=1e-10)
    for g, p in zip(grads, enc.parameters()):
        torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-9)
