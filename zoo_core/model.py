"""ZooModel: transform + backbone + named task heads (+ per-task adapters).

One backbone serves many tasks. Each task has a head and, optionally, a LoRA adapter
(through peft) on the shared backbone; `set_task` switches both at once.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import AdapterError, UnknownNameError
from .interfaces import Backbone, TaskHead, Transform
from .transforms import Identity


class ZooModel(nn.Module):
    """A composed model; `config` is the recipe (registered names + args) that rebuilds it."""

    def __init__(
        self,
        backbone: Backbone,
        transform: Transform | None = None,
        heads: dict[str, TaskHead] | None = None,
        config: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.transform = transform if transform is not None else Identity()
        self.backbone = backbone
        self.heads = nn.ModuleDict(heads or {})
        self.config: dict[str, Any] = copy.deepcopy(config) if config else {}
        self.config.setdefault("heads", {})
        self.config.setdefault("adapters", {})
        self.adapter_configs: dict[str, Any] = {}  # task -> peft config
        self.active_task: str | None = next(iter(self.heads), None)

    # ----------------------------------------------------------------- tasks
    @property
    def tasks(self) -> list[str]:
        return list(self.heads)

    @property
    def num_features(self) -> int:
        return self.backbone.num_features

    def add_task(self, task: str, head: str, **head_args: Any) -> TaskHead:
        """Attach a registered head for a task (e.g. `add_task("los", "linear", num_outputs=2)`)."""
        from .factory import build_head

        module = build_head(head, self.num_features, task, head_args)
        self.heads[task] = module
        self.config["heads"][task] = {"name": head, "args": head_args}
        if self.active_task is None:
            self.active_task = task
        return module

    def set_task(self, task: str) -> "ZooModel":
        """Make `task` the default of forward(); activates its adapter (or none)."""
        self._check_task(task)
        self.active_task = task
        self._activate_adapter(task)
        return self

    def _check_task(self, task: str) -> None:
        if task not in self.heads:
            raise UnknownNameError("task", task, self.heads.keys())

    # --------------------------------------------------------------- forward
    def forward_features(self, x: torch.Tensor, transform: bool = True) -> torch.Tensor:
        """Pooled backbone features (batch, num_features), with the active task's adapter."""
        self._activate_adapter(self.active_task)
        if transform:
            x = self.transform(x)
        return self.backbone.forward_head(self.backbone.forward_features(x), pre_logits=True)

    def forward(self, x: torch.Tensor, task: str | None = None, transform: bool = True):
        task = task or self.active_task
        if task is None:
            return self.forward_features(x, transform)
        self._check_task(task)
        self._activate_adapter(task)
        if transform:
            x = self.transform(x)
        tokens = self.backbone.forward_features(x)
        head = self.heads[task]
        if head.uses == "tokens":
            return head(tokens)
        return head(self.backbone.forward_head(tokens, pre_logits=True))

    # -------------------------------------------------------------- freezing
    def freeze_backbone(self, trainable_blocks: int = 0) -> "ZooModel":
        """Freeze the backbone (and transform); adapters stay trainable.

        `trainable_blocks=k` unfreezes the last k entries of `backbone.blocks` (ViT-style)."""
        for name, p in self.backbone.named_parameters():
            p.requires_grad = _is_adapter_param(name)
        for p in self.transform.parameters():
            p.requires_grad = False
        if trainable_blocks:
            blocks = getattr(self.backbone, "blocks", None)
            if blocks is None:
                raise AttributeError("trainable_blocks needs a backbone with a `blocks` list")
            for block in list(blocks)[-trainable_blocks:]:
                for p in block.parameters():
                    p.requires_grad = True
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    # -------------------------------------------------------------- adapters
    def add_adapter(self, task: str, peft_config) -> None:
        """Inject a peft adapter (e.g. `peft.LoraConfig`) into the backbone for one task.

        The backbone's own weights are frozen by peft; the adapter is saved under
        `adapters/<task>/` in peft's format."""
        from peft import inject_adapter_in_model

        self._check_task(task)
        if task in self.adapter_configs:
            raise AdapterError(f"task {task!r} already has an adapter")
        peft_config = copy.deepcopy(peft_config)
        peft_config.base_model_name_or_path = self.config.get("model_name")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*peft_config.*")
            inject_adapter_in_model(peft_config, self.backbone, adapter_name=task)
        self.adapter_configs[task] = peft_config
        self.config["adapters"][task] = {"peft_type": str(peft_config.peft_type.value)}
        self._activate_adapter(self.active_task)

    def _activate_adapter(self, task: str | None) -> None:
        if not self.adapter_configs:
            return
        from peft.tuners.tuners_utils import BaseTunerLayer

        for module in self.backbone.modules():
            if isinstance(module, BaseTunerLayer):
                if task in module._all_available_adapter_names():
                    module.enable_adapters(True)
                    module.set_adapter(task)
                else:
                    module.enable_adapters(False)

    def base_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights without any adapter, named as in the bare model (model.safetensors)."""
        out = {}
        for key, value in self.state_dict().items():
            if _is_adapter_param(key):
                continue
            out[key.replace(".base_layer.", ".")] = value
        return out

    # ------------------------------------------------------------ hub & disk
    def save_pretrained(self, save_directory: str | Path, metrics: dict | None = None) -> Path:
        """Write config.json, model.safetensors, README.md and adapters/<task>/."""
        from .serialization import save_model_folder

        return save_model_folder(self, Path(save_directory), metrics=metrics)

    def push_to_hub(self, repo_id: str, **kwargs) -> str:
        """Publish weights, config, card and adapters in one commit; returns the commit sha."""
        from .hub import push_model

        return push_model(self, repo_id, **kwargs)

    @classmethod
    def from_pretrained(cls, ref: str, **kwargs) -> "ZooModel":
        from .hub import from_pretrained

        return from_pretrained(ref, **kwargs)


def _is_adapter_param(key: str) -> bool:
    return any(part.startswith("lora_") for part in key.split("."))
