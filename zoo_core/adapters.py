"""peft adapters on towers: which state is adapter state, activation, and peft's file format.

What belongs to an adapter is decided by peft itself: each tuner layer (LoRA, IA3, ...)
lists its adapter sub-modules in `adapter_layer_names` and wraps the original layer as
`base_layer`. Nothing here looks for a `lora_` prefix, so every peft type works.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

from .errors import AdapterError, WeightsDtypeError, WeightsMismatchError

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PEFT_PREFIX = "base_model.model."  # how a PeftModel names the keys of the model it wraps


def _tuner_layers(module: nn.Module):
    if "peft" not in sys.modules:  # no adapter can exist before peft is imported (it is slow to import)
        return
    from peft.tuners.tuners_utils import BaseTunerLayer

    for name, sub in module.named_modules():
        if isinstance(sub, BaseTunerLayer):
            yield name, sub


def _adapter_prefixes(module: nn.Module) -> tuple[list[str], list[str]]:
    """(prefixes of adapter state, prefixes of wrapped base layers) within `module`."""
    adapter, base = [], []
    for name, layer in _tuner_layers(module):
        at = f"{name}." if name else ""
        adapter += [f"{at}{attr}." for attr in layer.adapter_layer_names]
        base.append(f"{at}base_layer.")
    return adapter, base


def adapter_parameter_names(module: nn.Module, adapter: str | None = None) -> set[str]:
    """Names (as `named_parameters` gives them) of every adapter parameter in `module`, or of
    one adapter's (peft keys an adapter's sub-modules by its name)."""
    prefixes, _ = _adapter_prefixes(module)
    if not prefixes:
        return set()
    names = {n for n, _ in module.named_parameters() if n.startswith(tuple(prefixes))}
    if adapter is not None:
        names = {n for n in names if f".{adapter}." in f".{n}."}
    return names


def split_base_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state without adapter tensors, with peft's `base_layer.` wrappers undone,
    so the keys are those of the model before any adapter was added."""
    adapter, base = _adapter_prefixes(model)
    base = sorted(base, key=len, reverse=True)  # innermost wrapper first (adapters of two types nest)
    out = {}
    for key, value in model.state_dict().items():
        if adapter and key.startswith(tuple(adapter)):
            continue
        unwrapped = True
        while unwrapped:
            unwrapped = False
            for prefix in base:
                if key.startswith(prefix):
                    key = prefix.removesuffix("base_layer.") + key[len(prefix):]
                    unwrapped = True
                    break
        out[key] = value
    return out


def activate(backbone: nn.Module, adapter: str | None) -> None:
    """Enable `adapter` in every tuner layer that has it and disable the others."""
    for _, layer in _tuner_layers(backbone):
        if adapter is not None and adapter in layer._all_available_adapter_names():
            layer.enable_adapters(True)
            layer.set_adapter(adapter)
        else:
            layer.enable_adapters(False)


# ------------------------------------------------------------------ files
def save_adapter(backbone: nn.Module, peft_config, adapter: str, folder: Path, save_tensors, write_json) -> None:
    """adapter_config.json + adapter_model.safetensors, keyed as a PeftModel saves them, so
    plain `peft.PeftModel.from_pretrained(bare_backbone, folder)` loads them too."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(backbone, adapter_name=adapter, save_embedding_layers=False)
    save_tensors(folder / ADAPTER_WEIGHTS, {PEFT_PREFIX + k: v for k, v in state.items()}, {"format": "pt"})
    write_json(folder / ADAPTER_CONFIG, json.loads(json.dumps(peft_config.to_dict(), default=_jsonable)))


def _jsonable(obj):
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return getattr(obj, "value", str(obj))


def read_peft_config(folder: Path, peft_type: str):
    """The peft config of a saved adapter; its type must be the one config.json names."""
    from peft import PeftConfig

    path = folder / ADAPTER_CONFIG
    if not path.exists() or not (folder / ADAPTER_WEIGHTS).exists():
        raise AdapterError(f"adapter files are missing from {folder}: save the model again")
    try:
        config = PeftConfig.from_pretrained(str(folder))
    except Exception as exc:  # peft raises many kinds for a malformed file
        raise AdapterError(f"{path} is not a peft adapter config ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    if str(config.peft_type.value) != peft_type:
        raise AdapterError(f"{path} holds a {config.peft_type.value} adapter but config.json says {peft_type}")
    return config


def load_adapter_state(backbone: nn.Module, adapter: str, state: dict[str, torch.Tensor]) -> None:
    """Fill an injected adapter from peft-keyed tensors, strictly and without casting."""
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    state = {k.removeprefix(PEFT_PREFIX): v for k, v in state.items()}
    expected = get_peft_model_state_dict(backbone, adapter_name=adapter, save_embedding_layers=False)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted((k, tuple(state[k].shape), tuple(expected[k].shape)) for k in set(state) & set(expected)
                    if state[k].shape != expected[k].shape)
    if missing or unexpected or shapes:
        raise WeightsMismatchError(missing, unexpected, shapes)
    dtypes = sorted((k, str(state[k].dtype), str(expected[k].dtype)) for k in state if state[k].dtype != expected[k].dtype)
    if dtypes:
        raise WeightsDtypeError(dtypes)
    set_peft_model_state_dict(backbone, state, adapter_name=adapter)
