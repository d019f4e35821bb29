"""Fine-tuning modes, LoRA on query/value only, layer-wise lr decay, multi-task adapters."""

import pytest
import torch

import zoo_core
from zoo_wavesfm.finetune import FinetuneModeError, layer_decay_param_groups, lora_config, prepare
from zoo_wavesfm.towers import PAPER_ENCODER, ViTEncoder

TINY_NAME = "wavesfm/vit-tiny-p8-32"


def _tiny(seed=0):
    torch.manual_seed(seed)
    return zoo_core.create_model(TINY_NAME, depth=2)


def test_lora_r50_on_paper_config_adds_exactly_1228800_parameters():
    from peft import inject_adapter_in_model

    enc = ViTEncoder(in_chans=3, **PAPER_ENCODER)
    before = sum(p.numel() for p in enc.parameters())
    inject_adapter_in_model(lora_config(rank=50, alpha=8), enc, adapter_name="rf")
    lora = {n: p.numel() for n, p in enc.named_parameters() if "lora_" in n}
    assert sum(lora.values()) == 12 * 2 * 2 * 512 * 50 == 1_228_800
    assert sum(p.numel() for p in enc.parameters()) - before == 1_228_800
    assert all(".attn.q." in n or ".attn.v." in n for n in lora)
    assert not any(".attn.k." in n for n in lora)


def test_lora_scale_is_alpha():
    cfg = lora_config(rank=50, alpha=8)
    assert cfg.lora_alpha / cfg.r == 8


def test_lora_step_trains_adapters_only():
    model = _tiny()
    prepare(model, "activity", "lora", rank=4, alpha=8)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("heads.activity.") for n in trainable)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if n in trainable}
    with torch.no_grad():  # peft zero-inits B: make the adapter path non-trivial
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.1)
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=1e-2)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(model(x, task="activity"), y)
    loss.backward()
    opt.step()
    for n, p in model.named_parameters():
        if n in frozen:
            assert p.grad is None, n
            assert torch.equal(p, frozen[n]), n
    keys = [n for n in frozen if ".attn.k." in n]
    assert keys and all("lora" not in n for n in keys)
    assert any("attn.q.base_layer" in n for n in frozen)
    changed = [n for n in trainable if not torch.equal(dict(model.named_parameters())[n], before[n])]
    assert any("lora_A" in n for n in changed) and any("lora_B" in n for n in changed)


@pytest.mark.parametrize("mode,expect", [
    ("linear-probe", lambda n: n.startswith("heads.activity.")),
    ("last-k", lambda n: n.startswith(("heads.activity.", "encoders.signal.backbone.blocks.1."))),
    ("full", lambda n: n.startswith("encoders.signal.backbone.") or n.startswith("heads.activity.")),
])
def test_modes_set_what_trains(mode, expect):
    model = _tiny()
    prepare(model, "activity", mode, trainable_blocks=1)
    for n, p in model.named_parameters():
        assert p.requires_grad == bool(expect(n)), (mode, n)


def test_unknown_mode_is_a_typed_error():
    with pytest.raises(FinetuneModeError, match="linear-probe"):
        prepare(_tiny(), "activity", "adapters")


def test_layer_decay_groups():
    model = _tiny()
    prepare(model, "activity", "full")
    groups = layer_decay_param_groups(model, lr=1e-3, weight_decay=0.05, layer_decay=0.75)
    depth = 2
    by_layer = {g["layer_id"]: g["lr"] for g in groups}
    for lid, lr in by_layer.items():
        assert lr == pytest.approx(1e-3 * 0.75 ** (depth + 1 - lid))
    assert by_layer[depth + 1] == pytest.approx(1e-3)  # the head at the full lr
    ids = {id(p) for g in groups for p in g["params"]}
    assert ids == {id(p) for p in model.parameters() if p.requires_grad}
    assert all(g["weight_decay"] == 0 for g in groups if all(p.ndim == 1 for p in g["params"]))


def test_multi_task_adapters_switch_save_load_and_plain_peft(tmp_path):
    from peft import PeftModel

    model = _tiny()
    for task in ("activity", "positioning"):
        prepare(model, task, "lora", rank=4, alpha=8)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.2)
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = {}
        for task in ("activity", "positioning"):
            model.set_task(task)
            feats[task] = model.forward_features(x, transform=False)
        assert not torch.allclose(feats["activity"], feats["positioning"])
        out = {t: model(x, task=t) for t in ("activity", "positioning")}
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m/adapters/activity/signal/adapter_model.safetensors").exists()
    loaded = zoo_core.from_pretrained(str(tmp_path / "m"))
    with torch.no_grad():
        for t in ("activity", "positioning"):
            assert torch.equal(loaded(x, task=t), out[t])
    # plain peft on the bare backbone (base weights from model.safetensors)
    base = zoo_core.create_model(TINY_NAME, depth=2).backbone
    from safetensors.torch import load_file

    prefix = "encoders.signal.backbone."
    state = {k.removeprefix(prefix): v for k, v in load_file(str(tmp_path / "m/model.safetensors")).items()
             if k.startswith(prefix)}
    base.load_state_dict(state)
    peft_model = PeftModel.from_pretrained(base, str(tmp_path / "m/adapters/positioning/signal")).eval()
    with torch.no_grad():
        assert torch.allclose(peft_model(x), feats["positioning"], atol=1e-6)
