"""A model folder on disk: config.json, model.safetensors, README.md, adapters/<task>/<tower>/.

safetensors only: nothing is ever unpickled. Saving writes the whole folder under a
temporary sibling name and swaps it in at once (`zoo_core.folder_write`), so a killed save
leaves the old folder or the new one, never a mix, and never deletes a file it did not
write. Loading validates the config, builds the model on the meta device, compares every
shape and dtype with the safetensors header, and only then allocates and loads the
weights in place (`assign=True`): a hostile config costs nothing and weights are copied
once. Adapters are injected into the meta model and checked against their files the same way. Format-1 folders (adapters in `adapters/<task>/`) are upgraded in memory.
"""

from __future__ import annotations

import fnmatch
import json
import os
from functools import partial
from pathlib import Path
from typing import Any

from .adapters import ADAPTER_CONFIG, ADAPTER_WEIGHTS, PEFT_PREFIX, load_adapter_state, read_peft_config, save_adapter
from .config import V1_TOWER, ModelConfig
from .errors import (
    ConfigError,
    CorruptWeightsError,
    NotAZooModelError,
    UnsafeWeightsError,
    WeightsDtypeError,
    WeightsMismatchError,
)
from .fileio import atomic_write, umask

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
ADAPTERS_DIR = "adapters"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
#: the files a model folder may hold; pushes and downloads are limited to these
ALLOWED_PATTERNS = [CONFIG_NAME, WEIGHTS_NAME, CARD_NAME,
                    f"{ADAPTERS_DIR}/*/*/{ADAPTER_CONFIG}", f"{ADAPTERS_DIR}/*/*/{ADAPTER_WEIGHTS}",
                    f"{ADAPTERS_DIR}/*/{ADAPTER_CONFIG}", f"{ADAPTERS_DIR}/*/{ADAPTER_WEIGHTS}"]  # format 1
_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
                       "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
                       "C64": "complex64", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}


def is_model_file(relative: str) -> bool:
    """Whether a path inside a folder is one a wzoo save writes (and so may replace)."""
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in ALLOWED_PATTERNS)


# ----------------------------------------------------------------- writing
def write_json(path: Path, obj: Any, atomic: bool = True) -> None:
    """Keys keep their order: the order of towers, heads and adapters is part of the model.
    `atomic=False` inside a folder that is itself swapped in whole (no second fsync or lock)."""
    text = json.dumps(obj, indent=2) + "\n"
    _write(path, lambda p: p.write_text(text, encoding="utf-8"), atomic)


def save_tensors(path: Path, tensors: dict, metadata: dict[str, str] | None = None, atomic: bool = True) -> None:
    from safetensors.torch import save_file

    tensors = _unshared(tensors)
    _write(path, lambda p: save_file(tensors, str(p), metadata=metadata), atomic)


def _write(path: Path, write, atomic: bool) -> None:
    if atomic:
        atomic_write(path, write)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        os.chmod(path, 0o666 & ~umask())  # safetensors creates 0600 files; give what open() would


def _unshared(tensors: dict) -> dict:
    """safetensors refuses tensors that share memory (tied weights): copy the repeats."""
    seen, out = set(), {}
    for key in sorted(tensors):  # sorted: the same weights give the same bytes
        t = tensors[key].detach()
        ident = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        out[key] = t.clone().contiguous() if ident in seen else t.contiguous()
        seen.add(ident)
    return out


def adapter_folder(task: str, tower: str) -> str:
    return f"{ADAPTERS_DIR}/{task}/{tower}"


def save_model_folder(model, folder: Path, metrics: dict | None = None, repo_id: str | None = None,
                      overwrite: bool = False, results: list[dict] | None = None) -> Path:
    """Write the model into a temporary sibling of `folder` and swap it in whole. `results`
    (see `zoo_core.card.check_results`) go into the card's model-index."""
    from .card import check_results, render_card
    from .folder_write import write_folder

    config = model.config.replace(default_task=model.active_task).to_json()  # the task forward() runs
    if metrics is not None:
        config["card"]["metrics"] = dict(metrics)
    if results is not None:
        config["card"]["results"] = check_results(results)
    base = model.base_state_dict()

    def write(tmp: Path) -> None:  # the folder is swapped in whole: its files need no atomic writes
        tensors, text = partial(save_tensors, atomic=False), partial(write_json, atomic=False)
        # one metadata key: safetensors writes a metadata map in hash order, so two keys would
        # make identical weights give different bytes (the format version is in config.json)
        tensors(tmp / WEIGHTS_NAME, base, {"format": "pt"})
        for (task, tower), peft_config in model.peft_configs.items():
            save_adapter(model.encoders[tower].backbone, peft_config, task, tmp / adapter_folder(task, tower),
                         tensors, text)
        text(tmp / CONFIG_NAME, config)
        (tmp / CARD_NAME).write_text(str(render_card(config, repo_id=repo_id, folder=folder)), encoding="utf-8")

    folder = Path(folder)
    if not overwrite and folder.is_dir() and any(folder.iterdir()) and not (folder / CONFIG_NAME).is_file():
        from .errors import FolderNotEmptyError

        raise FolderNotEmptyError(f"{folder} holds files but no saved model (no {CONFIG_NAME}); "
                                  "pick an empty folder or pass overwrite=True")
    return write_folder(folder, write, is_model_file, overwrite=overwrite)


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


def read_raw_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise NotAZooModelError(f"{path} is not a file")
    if path.stat().st_size > 1 << 20:
        raise ConfigError(f"{path} is larger than 1 MiB; a wzoo config is a few KB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {str(exc).splitlines()[0]}") from None


def read_config(folder: Path) -> ModelConfig:
    """The folder's config as a ModelConfig (format 1 upgraded in memory)."""
    return ModelConfig.from_json(read_raw_config(folder), str(folder / CONFIG_NAME))


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


def read_header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """{key: (shape, dtype name)} from a safetensors header, without reading the tensors."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            header = {}
            for key in f.keys():
                piece = f.get_slice(key)
                header[key] = (tuple(piece.get_shape()), _SAFETENSORS_DTYPES.get(piece.get_dtype(), piece.get_dtype()))
            return header
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CorruptWeightsError(f"{path} is not a readable safetensors file ({exc}); it may be truncated: "
                                  "delete it and download or save it again") from None


def check_tensors(path: Path) -> None:
    """Check a safetensors file's header and size without reading the tensors."""
    read_header(path)


def compare_with_header(expected: dict, header: dict[str, tuple[tuple[int, ...], str]]) -> None:
    """Every key, shape and dtype of a (meta) state dict against a file header; a dtype that
    differs is refused, never cast."""
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    common = set(expected) & set(header)
    shapes = sorted((k, header[k][0], tuple(expected[k].shape)) for k in common
                    if tuple(expected[k].shape) != header[k][0])
    if missing or unexpected or shapes:
        raise WeightsMismatchError(missing, unexpected, shapes)
    dtypes = sorted((k, header[k][1], str(expected[k].dtype).removeprefix("torch.")) for k in common
                    if str(expected[k].dtype).removeprefix("torch.") != header[k][1])
    if dtypes:
        raise WeightsDtypeError(dtypes)


def load_state_strict(module, state: dict, assign: bool = False) -> None:
    """load_state_dict that first names every missing/unexpected key, shape and dtype that differs."""
    expected = module.state_dict()
    compare_with_header(expected, {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()})
    module.load_state_dict(state, strict=True, assign=assign)


def _upgrade_v1_keys(state: dict) -> dict:
    """Format 1 named the one backbone and transform `backbone.*` and `transform.*`."""
    prefixes = {"backbone.": f"encoders.{V1_TOWER}.backbone.", "transform.": f"encoders.{V1_TOWER}.transform."}
    out = {}
    for key, value in state.items():
        for old, new in prefixes.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def _has_shared_parameters(model) -> bool:
    """Tied weights: loading with assign=True would untie them, so those load by copy."""
    seen = set()
    for _, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            return True
        seen.add(id(p))
    return False


def load_model_folder(folder: Path):
    """Rebuild a model from a folder: config → validated meta build → header check → weights."""
    from .factory import build_model

    folder = Path(folder)
    check_model_folder(folder)
    raw = read_raw_config(folder)
    config = ModelConfig.from_json(raw, str(folder / CONFIG_NAME))
    version = raw["format_version"]
    config = _without_downloads(config)
    meta = build_model(config, device="meta")
    header = read_header(folder / WEIGHTS_NAME)
    if version == 1:
        header = _upgrade_v1_keys(header)
    compare_with_header(meta.base_state_dict(), header)
    adapters = {}  # format 1 kept one tower's adapters in adapters/<task>/
    for adapter in config.adapters:  # all injected before any is compared: adapters of two types nest
        sub = f"{ADAPTERS_DIR}/{adapter.task}" if version == 1 else adapter_folder(adapter.task, adapter.tower)
        adapters[adapter] = (folder / sub, _inject_on_meta(meta, adapter, folder / sub))
    for adapter, (where, _) in adapters.items():
        _compare_adapter(meta, adapter, where)
    tied = _has_shared_parameters(meta)
    del meta
    model = build_model(config)
    state = read_tensors(folder / WEIGHTS_NAME)
    if version == 1:
        state = _upgrade_v1_keys(state)
    model.load_state_dict(state, strict=True, assign=not tied)
    for adapter, (_, peft_config) in adapters.items():
        model._inject_adapter(adapter.task, adapter.tower, peft_config)  # the config already lists it
    for adapter, (where, _) in adapters.items():
        backbone = model.encoders[adapter.tower].backbone
        load_adapter_state(backbone, adapter.task, read_tensors(where / ADAPTER_WEIGHTS))
    if config.default_task:
        model.set_task(config.default_task)
    model.eval()
    return model


def _inject_on_meta(meta, adapter, folder: Path):
    """Inject a saved adapter into the meta model (so a hostile adapter config, a huge rank,
    costs nothing). Returns the peft config to inject for real, with its initialisation off:
    the weights come from the file, and an init that rewrites the base weights (PiSSA, OLoRA)
    must not run a second time."""
    import torch

    peft_config = read_peft_config(folder, adapter.peft_type)
    for flag in ("init_lora_weights", "init_ia3_weights", "init_weights"):
        if hasattr(peft_config, flag):
            setattr(peft_config, flag, False)
    with torch.device("meta"):
        meta._inject_adapter(adapter.task, adapter.tower, peft_config)
    return peft_config


def _compare_adapter(meta, adapter, folder: Path) -> None:
    """An injected meta adapter's shapes and dtypes against its file's header."""
    from peft import get_peft_model_state_dict

    expected = get_peft_model_state_dict(meta.encoders[adapter.tower].backbone, adapter_name=adapter.task,
                                         save_embedding_layers=False)
    header = {k.removeprefix(PEFT_PREFIX): v for k, v in read_header(folder / ADAPTER_WEIGHTS).items()}
    compare_with_header(expected, header)


def _without_downloads(config: ModelConfig) -> ModelConfig:
    """A saved model's weights come from model.safetensors: a backbone argument
    `pretrained=True` (timm's convention) must not download them again."""
    for e in config.encoders:
        if e.backbone.args.get("pretrained"):
            from .config import freeze, thaw

            args = freeze({**thaw(e.backbone.args), "pretrained": False})
            config = config.with_encoder(e.name, backbone=e.backbone.__class__(e.backbone.name, args))
    return config
