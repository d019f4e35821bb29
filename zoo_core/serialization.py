"""A model folder on disk: config.json, model.safetensors, README.md, adapters/<task>/.

safetensors only: nothing is ever unpickled. Every file is written to a temporary name
and renamed into place, so an interrupted save never leaves a folder that looks complete.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

from .errors import (
    AdapterError,
    ConfigError,
    ConfigVersionError,
    CorruptWeightsError,
    NotAZooModelError,
    UnsafeWeightsError,
    WeightsMismatchError,
)
from .factory import FORMAT, FORMAT_VERSION
from .fileio import atomic_write

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
ADAPTERS_DIR = "adapters"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PEFT_PREFIX = "base_model.model."  # how a PeftModel names the keys of the model it wraps
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
#: the files a model folder may hold; pushes and downloads are limited to these
ALLOWED_PATTERNS = [CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, f"{ADAPTERS_DIR}/*/{ADAPTER_CONFIG}",
                    f"{ADAPTERS_DIR}/*/{ADAPTER_WEIGHTS}"]


# ----------------------------------------------------------------- writing
def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n"))


def save_tensors(path: Path, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    tensors = _unshared(tensors)
    atomic_write(path, lambda p: save_file(tensors, str(p), metadata=metadata))


def _unshared(tensors: dict) -> dict:
    """safetensors refuses tensors that share memory (tied weights): copy the repeats."""
    seen, out = set(), {}
    for key, t in tensors.items():
        t = t.detach()
        ident = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        out[key] = t.clone().contiguous() if ident in seen else t.contiguous()
        seen.add(ident)
    return out


def save_model_folder(model, folder: Path, metrics: dict | None = None, repo_id: str | None = None) -> Path:
    from .card import render_card

    folder.mkdir(parents=True, exist_ok=True)
    config = copy.deepcopy(model.config)
    config["transform"] = (
        {"name": config["transform"]["name"], "config": model.transform.config}
        if config.get("transform") else None
    )
    config["adapters"] = {t: {"peft_type": str(c.peft_type.value)} for t, c in model.adapter_configs.items()}
    if metrics is not None:
        config.setdefault("card", {})["metrics"] = dict(metrics)
    save_tensors(folder / WEIGHTS_NAME, model.base_state_dict(), {"format": "pt", "wzoo_format_version": str(FORMAT_VERSION)})
    for stale in sorted((folder / ADAPTERS_DIR).glob("*")) if (folder / ADAPTERS_DIR).is_dir() else []:
        if stale.name not in model.adapter_configs:  # an adapter this model no longer has
            shutil.rmtree(stale)
    for task in model.adapter_configs:
        save_adapter(model, task, folder / ADAPTERS_DIR / task)
    write_json(folder / CONFIG_NAME, config)
    card = render_card(config, repo_id=repo_id)
    atomic_write(folder / CARD_NAME, lambda p: p.write_text(str(card), encoding="utf-8"))
    return folder


def save_adapter(model, task: str, folder: Path) -> None:
    """adapter_config.json + adapter_model.safetensors, keyed as a PeftModel saves them."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(model.backbone, adapter_name=task, save_embedding_layers=False)
    save_tensors(folder / ADAPTER_WEIGHTS, {PEFT_PREFIX + k: v for k, v in state.items()}, {"format": "pt"})
    config = model.adapter_configs[task].to_dict()
    write_json(folder / ADAPTER_CONFIG, json.loads(json.dumps(config, default=_jsonable)))


def _jsonable(obj):
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return getattr(obj, "value", str(obj))


# ----------------------------------------------------------------- reading
def check_model_folder(folder: Path) -> None:
    """Refuse pickles and folders that are not wzoo models, before reading anything."""
    if not folder.is_dir():
        raise NotAZooModelError(f"{folder} is not a folder")
    if not (folder / WEIGHTS_NAME).exists():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise UnsafeWeightsError(
                f"{folder} holds pickle weights ({', '.join(pickles)}): wzoo never unpickles. "
                f"Convert them to {WEIGHTS_NAME} (safetensors) with code you trust."
            )
    if not (folder / CONFIG_NAME).exists():
        raise NotAZooModelError(f"{folder} is not a wzoo model folder: no {CONFIG_NAME}")
    if not (folder / WEIGHTS_NAME).exists():
        raise NotAZooModelError(f"{folder} is not a wzoo model folder: no {WEIGHTS_NAME}")


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise NotAZooModelError(f"{path} is not a wzoo config (no \"format\": \"{FORMAT}\")")
    version = config.get("format_version")
    if not isinstance(version, int) or version < 1 or version > FORMAT_VERSION:
        raise ConfigVersionError(
            f"{path} has format_version {version!r}; this wzoo reads 1..{FORMAT_VERSION}. "
            "Upgrade wzoo (pip install -U wzoo) to read it."
        )
    return config


def read_tensors(path: Path) -> dict:
    """Load a safetensors file, turning every kind of damage into CorruptWeightsError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if path.suffix in PICKLE_SUFFIXES:
        raise UnsafeWeightsError(f"{path}: wzoo loads safetensors only and never unpickles")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CorruptWeightsError(
            f"{path} is not a readable safetensors file ({exc}); it may be truncated: "
            "delete it and download or save it again"
        ) from None


def check_tensors(path: Path) -> None:
    """Check a safetensors file's header and size without reading the tensors."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            f.keys()
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CorruptWeightsError(f"{path} is not a readable safetensors file ({exc})") from None


def load_state_strict(module, state: dict) -> None:
    """load_state_dict that first names every missing/unexpected key and shape mismatch."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        (k, tuple(state[k].shape), tuple(expected[k].shape))
        for k in set(state) & set(expected)
        if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or shapes:
        raise WeightsMismatchError(missing, unexpected, shapes)
    module.load_state_dict(state, strict=True)


def load_model_folder(folder: Path):
    """Rebuild a model from a folder: config → registered components → strict weights."""
    from .factory import build_model

    folder = Path(folder)
    check_model_folder(folder)
    config = read_config(folder)
    args = config["backbone"].get("args", {})
    if args.get("pretrained"):  # the weights come from model.safetensors, not from a download
        config["backbone"]["args"] = {**args, "pretrained": False}
    model = build_model(config)
    load_state_strict(model, read_tensors(folder / WEIGHTS_NAME))
    for task in config.get("adapters") or {}:
        load_adapter(model, task, folder / ADAPTERS_DIR / task)
    model.eval()
    return model


def load_adapter(model, task: str, folder: Path) -> None:
    from peft import PeftConfig, set_peft_model_state_dict

    if not (folder / ADAPTER_CONFIG).exists() or not (folder / ADAPTER_WEIGHTS).exists():
        raise AdapterError(f"adapter of task {task!r} is missing from {folder}")
    peft_config = PeftConfig.from_pretrained(str(folder))
    model.add_adapter(task, peft_config)
    state = read_tensors(folder / ADAPTER_WEIGHTS)
    state = {k.removeprefix(PEFT_PREFIX): v for k, v in state.items()}
    result = set_peft_model_state_dict(model.backbone, state, adapter_name=task)
    missing = [k for k in result.missing_keys if _is_key_of_adapter(k, task)]
    if missing or result.unexpected_keys:
        raise WeightsMismatchError(missing, result.unexpected_keys)


def _is_key_of_adapter(key: str, task: str) -> bool:
    return f".{task}." in key or key.endswith(f".{task}")
