"""Fine-tuning modes (paper Sec. IV-B, Algorithm 2) and layer-wise lr decay.

`prepare(model, task, mode)` sets what trains for one task of a ZooModel:

* ``linear-probe`` — backbone frozen, only the task's head trains;
* ``last-k``       — the last k blocks (paper: 2 of 12) and the head train;
* ``lora``         — a per-task LoRA adapter on query and value only, backbone frozen;
* ``full``         — everything trains.

LoRA scale: the paper writes Q + α Z A B (eqs. 15-16), i.e. the update is scaled by α
itself; peft scales by lora_alpha / r, so `lora_config` sets lora_alpha = α · R.
"""

from __future__ import annotations

import re

from zoo_core.adapters import adapter_parameter_names

from .errors import FinetuneModeError

MODES = ("linear-probe", "last-k", "lora", "full")
LORA_TARGETS = ["q", "v"]  # `blocks.<i>.attn.q` / `.v`; the key projection `k` stays frozen


def lora_config(rank: int = 50, alpha: float = 8.0, dropout: float = 0.0):
    """peft LoraConfig on query and value with effective scale α (paper eqs. 15-16)."""
    from peft import LoraConfig

    if rank < 1:
        raise FinetuneModeError(f"LoRA rank must be >= 1, got {rank}")
    return LoraConfig(r=rank, lora_alpha=alpha * rank, target_modules=list(LORA_TARGETS),
                      lora_dropout=dropout, bias="none")


def prepare(model, task: str, mode: str = "lora", trainable_blocks: int = 2, rank: int = 50,
            alpha: float = 8.0, dropout: float = 0.0):
    """Set `requires_grad` for fine-tuning `task` in `mode`; returns the model."""
    if mode not in MODES:
        raise FinetuneModeError(f"fine-tuning mode must be one of {', '.join(MODES)}, got {mode!r}")
    model._check_task(task)
    if mode == "lora" and task not in model.adapter_configs:
        model.add_adapter(task, lora_config(rank, alpha, dropout))
    model.set_task(task)
    adapters = adapter_parameter_names(model.backbone)
    if mode == "full":
        for name, p in model.backbone.named_parameters():
            p.requires_grad = name not in adapters
    else:
        model.freeze_backbone(trainable_blocks if mode == "last-k" else 0)
        own = adapter_parameter_names(model.backbone, task) if mode == "lora" else set()
        for name, p in model.backbone.named_parameters():  # only this task's adapter trains
            if name in adapters:
                p.requires_grad = name in own
    for p in model.transform.parameters():
        p.requires_grad = False
    for head_task, head in model.heads.items():
        for p in head.parameters():
            p.requires_grad = head_task == task
    return model


def layer_id(name: str, depth: int) -> int:
    """0 for embeddings, i + 1 for block i, depth + 1 for the final norm and heads (as MAE)."""
    name = re.sub(r"^encoders\.[^.]+\.backbone\.", "", name)
    if name.startswith(("cls_token", "pos_embed", "patch_embeds")):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return depth + 1


def layer_decay_param_groups(model, lr: float, weight_decay: float = 0.05, layer_decay: float = 0.75):
    """Trainable parameters grouped so that layer l gets lr · decay^(L + 1 - l) (paper: 0.75).

    Biases, norms and the CLS token get no weight decay."""
    depth = len(model.backbone.blocks)
    groups: dict[tuple[int, bool], dict] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        lid = layer_id(name, depth)
        no_decay = p.ndim == 1 or name.endswith("cls_token")
        key = (lid, no_decay)
        if key not in groups:
            groups[key] = {"params": [], "lr": lr * layer_decay ** (depth + 1 - lid),
                           "weight_decay": 0.0 if no_decay else weight_decay, "layer_id": lid}
        groups[key]["params"].append(p)
    return [groups[k] for k in sorted(groups)]


def count_trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
