"""ZooModel: named towers (encoders) + named task heads (+ per-task peft adapters).

A batch is a dict of sample-format fields (`csi`, `cir`, `env_edges`, `power_db`, ...);
each tower reads the fields it declares, each head reads the towers (and fields) it
declares. A one-tower model also takes a bare tensor, fed to its tower's first field.

`model.config` is the frozen record the model was built from (`zoo_core.config`); the
methods that change the model (`add_task`, `add_adapter`, `set_transform`,
`set_weights_source`) change it with them, so what is saved is what was built.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import (
    AdapterConfig,
    ComponentRef,
    HeadConfig,
    ModelConfig,
    check_weight_source,
    freeze_args,
)
from .errors import AdapterError, InputFieldError, UnknownNameError, WzooError
from .fields import get_field
from .interfaces import TaskHead, Transform
from .towers import Encoder


class ZooModel(nn.Module):
    """A composed model; `config` (a `ModelConfig`) is the recipe that rebuilds it."""

    def __init__(self, encoders: Mapping[str, Encoder], heads: Mapping[str, TaskHead], config: ModelConfig):
        super().__init__()
        self.encoders = nn.ModuleDict(dict(encoders))
        self.heads = nn.ModuleDict(dict(heads))
        self._config = config
        self.peft_configs: dict[tuple[str, str], Any] = {}  # (task, tower) -> peft config
        self._active_adapters: dict[str, str | None] = {t: None for t in self.encoders}
        self.active_task: str | None = config.default_task or next(iter(self.heads), None)

    # ------------------------------------------------------------ the record
    @property
    def config(self) -> ModelConfig:
        return self._config

    @property
    def tasks(self) -> list[str]:
        return list(self.heads)

    @property
    def towers(self) -> list[str]:
        return list(self.encoders)

    @property
    def default_tower(self) -> str:
        return next(iter(self.encoders))

    def encoder(self, tower: str | None = None) -> Encoder:
        tower = tower or self.default_tower
        if tower not in self.encoders:
            raise UnknownNameError("tower", tower, self.encoders.keys())
        return self.encoders[tower]

    # one-tower conveniences (today's API): the default tower's parts
    @property
    def backbone(self):
        return self.encoder().backbone

    @property
    def transform(self) -> Transform:
        return self.encoder().transform

    @property
    def num_features(self) -> int:
        return self.encoder().num_features

    @property
    def adapter_configs(self) -> dict[str, Any]:
        """peft configs by task; `peft_configs` keys them by (task, tower)."""
        return {task: cfg for (task, tower), cfg in self.peft_configs.items()}

    # ------------------------------------------------------------ changes
    def add_task(self, task: str, head: str, towers: list[str] | tuple[str, ...] | None = None,
                 uses: str | None = None, **head_args: Any) -> TaskHead:
        """Attach a registered head for a task (e.g. `add_task("los", "linear", num_outputs=2)`)."""
        from .factory import build_head, validate_head_args
        from .tasks import head_key

        task = head_key(task)  # a registered task (or a plugin's `<plugin>/<task>`), or UnknownNameError
        if task in self.heads:
            raise WzooError(f"task {task!r} already has a head; drop_task({task!r}) first to replace it")
        validate_head_args(head, task, head_args)
        cfg = HeadConfig(task, head, freeze_args(head_args, "head arguments"), tuple(towers or (self.default_tower,)),
                         uses)
        module = build_head(cfg, self._encoder_widths())
        anchor = next(self.parameters(), None)
        if anchor is not None:  # where the rest of the model lives
            module = module.to(anchor.device)
        self.heads[task] = module
        self._config = self._config.replace(heads=self._config.heads + (cfg,))
        if self.active_task is None:
            self.active_task = task
        return module

    def set_transform(self, transform: Transform, name: str | None = None, tower: str | None = None) -> "ZooModel":
        """Swap a tower's transform (e.g. one fitted to a data set); `name` is its registered
        name, needed when the instance was not built from the registry."""
        from .factory import registered_transform_name

        encoder = self.encoder(tower)
        name = registered_transform_name(transform, name)
        encoder.transform = transform
        self._config = self._config.with_encoder(
            encoder.name, transform=ComponentRef(name, freeze_args(transform.config, "transform config")))
        return self

    def set_weights_source(self, source: str, tower: str | None = None) -> "ZooModel":
        """Record where a tower's weights came from (`wzoo:<recipe>`, `hf-hub:org/name@sha`, ...)."""
        encoder = self.encoder(tower)
        self._config = self._config.with_encoder(encoder.name, weights=check_weight_source(source))
        return self

    def load_tower_weights(self, state: Mapping[str, torch.Tensor], source: str, tower: str | None = None,
                           part: str = "backbone") -> "ZooModel":
        """Load a state dict into one tower's backbone (or whole encoder) strictly, and record
        where it came from: a pre-trained encoder that a recipe hands over, for instance."""
        check_weight_source(source)
        if part not in ("backbone", "encoder"):
            raise WzooError(f"part must be 'backbone' or 'encoder', got {part!r}")
        from .serialization import load_state_strict

        encoder = self.encoder(tower)
        load_state_strict(encoder.backbone if part == "backbone" else encoder, dict(state))
        return self.set_weights_source(source, encoder.name)

    def drop_task(self, task: str) -> "ZooModel":
        """Remove a task's head, to give the task a new one. A task with an adapter cannot be dropped
        (its adapter lives inside the backbone)."""
        task = self._check_task(task)
        if any(t == task for t, _ in self.peft_configs):
            raise AdapterError(f"task {task!r} has an adapter: a head with an adapter cannot be dropped")
        del self.heads[task]
        default = None if self._config.default_task == task else self._config.default_task
        self._config = self._config.replace(heads=tuple(h for h in self._config.heads if h.task != task),
                                            default_task=default)
        if self.active_task == task:
            self.active_task = next(iter(self.heads), None)
        return self

    def set_task(self, task: str) -> "ZooModel":
        """Make `task` the default of forward() and activate its adapters (only on a change)."""
        task = self._check_task(task)
        self.active_task = task
        self._activate_adapters(task)
        return self

    def _check_task(self, task: str) -> str:
        """The head key of `task` (a plugin task's '/' is '--' there), or UnknownNameError."""
        key = task.replace("/", "--") if isinstance(task, str) else task
        if key not in self.heads:
            raise UnknownNameError("task", task, self.heads.keys())
        return key

    def _encoder_widths(self) -> dict[str, tuple[int, int]]:
        return {name: (e.num_features, e.embed_dim) for name, e in self.encoders.items()}

    # ------------------------------------------------------------ forward
    def _as_batch(self, batch, towers: tuple[str, ...] | None = None) -> Mapping:
        """A dict batch; a bare tensor is the one field of the one tower it can be meant for."""
        if isinstance(batch, Mapping):
            return batch
        if not torch.is_tensor(batch):
            raise InputFieldError(f"a batch is a tensor or a dict of tensors, got {type(batch).__name__}")
        towers = towers or tuple(self.encoders)
        fields = {f for t in towers for f in self.encoders[t].field_names}
        if len(fields) != 1:
            raise InputFieldError(f"this reads fields {sorted(fields)} of towers {', '.join(towers)}: "
                                  "pass a dict batch keyed by field name")
        return {fields.pop(): batch}

    def encode(self, batch, tower: str | None = None, normalize: bool = False, transform: bool = True,
               task: str | None = None) -> torch.Tensor:
        """A tower's pooled embedding (projected where the tower has a projection), with the
        adapters of `task` (default: the active task)."""
        encoder = self.encoder(tower)
        if task is not None:
            task = self._check_task(task)
        self._activate_adapters(task or self.active_task)
        out = encoder(self._as_batch(batch, (encoder.name,)), transform)
        return nn.functional.normalize(out, dim=-1) if normalize else out

    def forward_features(self, batch, transform: bool = True, tower: str | None = None) -> torch.Tensor:
        """Pooled features (batch, num_features) of a tower, with the active task's adapter."""
        encoder = self.encoder(tower)
        self._activate_adapters(self.active_task)
        return encoder.pool(encoder.tokens(self._as_batch(batch, (encoder.name,)), transform))

    def forward(self, batch, task: str | None = None, transform: bool = True):
        task = task or self.active_task
        if task is None:
            return self.forward_features(batch, transform)
        task = self._check_task(task)
        self._activate_adapters(task)
        cfg = self._config.head(task)
        batch = self._as_batch(batch, cfg.towers)
        head = self.heads[task]
        uses = cfg.uses or head.uses
        inputs = []
        for tower in cfg.towers:
            encoder = self.encoders[tower]
            tokens = encoder.tokens(batch, transform)
            if uses == "tokens":
                inputs.append(tokens)
            elif uses == "embedding":
                inputs.append(encoder.project(encoder.pool(tokens)))
            else:
                inputs.append(encoder.pool(tokens))
        extra = {name: get_field(batch, name, f"head of task {task!r}") for name in head.fields}
        return head(*inputs, **extra)

    # ------------------------------------------------------------ freezing
    def freeze_backbone(self, trainable_blocks: int = 0, tower: str | None = None) -> "ZooModel":
        """Freeze a tower's backbone and transform (default: the first tower); adapters stay
        trainable. `trainable_blocks=k` unfreezes the last k entries of `backbone.blocks`
        (ViT-style)."""
        from .adapters import adapter_parameter_names

        encoder = self.encoder(tower)
        adapter_names = adapter_parameter_names(encoder.backbone)
        for name, p in encoder.backbone.named_parameters():
            p.requires_grad = name in adapter_names
        for p in encoder.transform.parameters():
            p.requires_grad = False
        if trainable_blocks:
            blocks = getattr(encoder.backbone, "blocks", None)
            if blocks is None:
                raise AttributeError("trainable_blocks needs a backbone with a `blocks` list")
            for block in list(blocks)[-trainable_blocks:]:
                for p in block.parameters():
                    p.requires_grad = True
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    # ------------------------------------------------------------ adapters
    def add_adapter(self, task: str, peft_config, tower: str | None = None) -> None:
        """Inject a peft adapter (any peft type: LoRA, IA3, ...) into one tower's backbone for one
        task (default: the first tower the task's head reads). peft freezes the base weights; the
        adapter is saved under `adapters/<task>/<tower>/` in peft's format."""
        task = self._check_task(task)
        tower = tower or self._config.head(task).towers[0]
        self.encoder(tower)
        if (task, tower) in self.peft_configs:
            raise AdapterError(f"task {task!r} already has an adapter on tower {tower!r}")
        if getattr(peft_config, "modules_to_save", None):
            raise AdapterError("peft's modules_to_save is not supported: give the task a head of its own "
                               "(add_task) instead of a trainable copy of a backbone module")
        peft_config = copy.deepcopy(peft_config)
        peft_config.base_model_name_or_path = self._config.model_name
        self._inject_adapter(task, tower, peft_config)
        self._config = self._config.replace(
            adapters=self._config.adapters + (AdapterConfig(task, tower, str(peft_config.peft_type.value)),))

    def _inject_adapter(self, task: str, tower: str, peft_config) -> None:
        """peft's injection into one tower's backbone (the config already lists the adapter
        when a saved model is loaded, so recording it is the caller's business)."""
        from peft import inject_adapter_in_model

        encoder = self.encoder(tower)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*peft_config.*")
                inject_adapter_in_model(peft_config, encoder.backbone, adapter_name=task)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AdapterError(f"peft cannot add a {peft_config.peft_type} adapter to tower {tower!r}: "
                               f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        self.peft_configs[(task, tower)] = peft_config
        self._active_adapters[tower] = "?"  # force the next activation
        self._activate_adapters(self.active_task)

    def _activate_adapters(self, task: str | None) -> None:
        """Enable each tower's adapter of `task` (none where it has none); a no-op when nothing changes."""
        if not self.peft_configs:
            return
        from .adapters import activate

        for tower, encoder in self.encoders.items():
            wanted = task if (task, tower) in self.peft_configs else None
            if self._active_adapters.get(tower) != wanted:
                activate(encoder.backbone, wanted)
                self._active_adapters[tower] = wanted

    def base_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights without any adapter, named as in the bare model (model.safetensors)."""
        from .adapters import split_base_state

        return split_base_state(self)

    # ------------------------------------------------------------ hub & disk
    def save_pretrained(self, save_directory: str | Path, metrics: dict | None = None,
                        overwrite: bool = False, results: list[dict] | None = None) -> Path:
        """Write config.json, model.safetensors, README.md and adapters/<task>/<tower>/ into a
        temporary sibling folder and swap it in whole; see `zoo_core.serialization`. `results`:
        what a bench or recipe measured (task, data, split hash, metrics), for the card."""
        from .serialization import save_model_folder

        return save_model_folder(self, Path(save_directory), metrics=metrics, overwrite=overwrite, results=results)

    def push_to_hub(self, repo_id: str, **kwargs) -> str:
        """Publish weights, config, card and adapters in one commit; returns the commit sha."""
        from .hub import push_model

        return push_model(self, repo_id, **kwargs)

    @classmethod
    def from_pretrained(cls, ref: str, **kwargs) -> "ZooModel":
        from .hub import from_pretrained

        return from_pretrained(ref, **kwargs)
