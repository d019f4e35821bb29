"""Frozen features, extracted once and cached on disk; heads train on the cache.

The key is a SHA-256 over (backbone name + args, a hash of the backbone's weights, the
transform's registered name + its live config, a hash of the input data, precision), so a
change to any of them is a different cache entry. The transform part is read from
`model.transform.config` (what extraction actually uses), not from `model.config`, which
records the config at creation and goes stale if the transform is changed afterwards.

An entry is `<key>.safetensors` (tensor "features") and `<key>.json` (what the key was made
of, the shape, the SHA-256 of the tensor file). Both are written with
`zoo_core.fileio.atomic_write` (temporary file in the same folder, fsync, rename), the JSON
last, so a reader never sees half an entry. On read, a missing/unparsable JSON, a different
key record, a checksum or shape mismatch, or an unreadable tensor file is a stale or corrupt
entry: it is removed and the features are extracted again. The tensor file is read once: the
checksum is taken over the same bytes that are deserialised. Nothing is pickled.

The weights hash (a pass over every backbone tensor) is remembered per backbone object and
reused while no tensor of it has changed: a fingerprint of (name, storage pointer, shape,
dtype, in-place version counter) per tensor detects `load_state_dict`, optimiser steps,
in-place edits and `.data` swaps without reading any weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch

from zoo_core.fileio import atomic_write

from .errors import FeatureCacheError

FORMAT = 2  # 2: the transform part of the key is {"name", "config"} of the live transform


def tensor_digest(x: torch.Tensor, h=None) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes."""
    h = h or hashlib.sha256()
    t = x.detach().contiguous().cpu()
    h.update(f"{t.dtype}|{tuple(t.shape)}|".encode())
    if t.is_complex():
        t = torch.view_as_real(t)
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    h.update(t.numpy().tobytes())
    return h.hexdigest()


def _weights_fingerprint(module: torch.nn.Module) -> tuple:
    """Cheap identity of a module's current weights (no tensor data read)."""
    return tuple((name, t.data_ptr(), tuple(t.shape), t.dtype, t._version)
                 for name, t in module.state_dict(keep_vars=True).items())


# backbone -> (fingerprint, digest); weak, so a cached digest never keeps a model alive
_WEIGHTS_DIGESTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 over a module's state dict, remembered per module until a tensor of it changes."""
    fingerprint = _weights_fingerprint(module)
    known = _WEIGHTS_DIGESTS.get(module)
    if known is not None and known[0] == fingerprint:
        return known[1]
    h = hashlib.sha256()
    for name, value in sorted(module.state_dict().items()):
        h.update(name.encode())
        tensor_digest(value, h)
    digest = h.hexdigest()
    _WEIGHTS_DIGESTS[module] = (fingerprint, digest)
    return digest


def model_device(model) -> torch.device:
    """The device of a model's parameters (CPU for a model without parameters)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def extract_features(model, inputs: torch.Tensor, batch_size: int = 64, bf16: bool = False,
                     progress: bool = True, desc: str = "features") -> torch.Tensor:
    """Pooled features (N, num_features) float32 on the CPU of a ZooModel, batched.

    Each batch is moved to the model's device; with `bf16` the backbone runs under bf16
    autocast of that device type (the transform runs in float32; only the backbone is
    autocast). Features come back to the CPU batch by batch (they are cached on disk and the
    heads train on them), so the whole set never sits in accelerator memory."""
    from tqdm.auto import tqdm

    model.eval()
    device = model_device(model)
    # channels-last: CPU depthwise convolutions (EfficientNet, ConvNeXt) run about 1.6x faster
    model.backbone.to(memory_format=torch.channels_last)
    out = []
    with torch.inference_mode():
        for i in tqdm(range(0, len(inputs), batch_size), desc=desc, unit="batch", disable=not progress,
                      leave=False):
            x = model.transform(inputs[i:i + batch_size].to(device))
            if x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                maps = model.backbone.forward_features(x)
                feats = model.backbone.forward_head(maps, pre_logits=True)
            out.append(feats.float().cpu())
    return torch.cat(out) if out else torch.empty(0, model.num_features)


@dataclass
class CacheResult:
    features: torch.Tensor
    hit: bool
    path: Path
    seconds: float


def transform_record(model) -> dict:
    """The transform part of the key: registered name and the live config."""
    registered = getattr(model.transform, "registered_name", None)
    return {"name": registered or type(model.transform).__qualname__,
            "config": dict(getattr(model.transform, "config", {}))}


class FeatureCache:
    """A folder of cached feature tensors (`~/.cache/wzoo/lvm4csi` by default)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else Path(os.environ.get("WZOO_CACHE", Path.home() / ".cache" / "wzoo")) / "lvm4csi"

    @staticmethod
    def record(model, inputs: torch.Tensor, bf16: bool = False) -> dict:
        """What the key is made of (JSON)."""
        backbone = model.config.encoder(model.default_tower).backbone.to_json()
        return {
            "format": FORMAT,
            "backbone": backbone,
            "weights": weights_digest(model.backbone),
            "transform": transform_record(model),
            "data": tensor_digest(inputs),
            "precision": "bf16" if bf16 else "fp32",
        }

    @staticmethod
    def key_of(record: dict) -> str:
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:32]

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.safetensors", self.root / f"{key}.json"

    def load(self, record: dict) -> torch.Tensor | None:
        """The cached features for a record, or None when absent, stale or corrupt."""
        from safetensors.torch import load as load_bytes

        key = self.key_of(record)
        tensor_path, meta_path = self.paths(key)
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("record") != record or not tensor_path.exists():
                raise ValueError("stale entry")
            raw = tensor_path.read_bytes()  # read once: checksum and deserialise the same bytes
            if hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
                raise ValueError("checksum mismatch")
            feats = load_bytes(raw)["features"]
            if list(feats.shape) != meta.get("shape"):
                raise ValueError("shape mismatch")
            return feats
        except Exception:  # any defect: drop the entry, extract again
            self.remove(key)
            return None

    def remove(self, key: str) -> None:
        for p in self.paths(key):
            p.unlink(missing_ok=True)

    def save(self, record: dict, features: torch.Tensor) -> Path:
        from safetensors.torch import save as save_bytes

        key = self.key_of(record)
        tensor_path, meta_path = self.paths(key)
        raw = save_bytes({"features": features.detach().cpu().contiguous()})
        meta = {"record": record, "shape": list(features.shape), "dtype": str(features.dtype),
                "sha256": hashlib.sha256(raw).hexdigest(), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        try:
            atomic_write(tensor_path, lambda p: p.write_bytes(raw))
            # written last: its presence marks a complete entry
            atomic_write(meta_path, lambda p: p.write_text(json.dumps(meta, indent=1)))
        except OSError as exc:
            raise FeatureCacheError(f"cannot write the feature cache in {self.root}: {exc}; "
                                    "set WZOO_CACHE or pass another cache folder") from exc
        return tensor_path

    def features(self, model, inputs: torch.Tensor, batch_size: int = 64, bf16: bool = False,
                 progress: bool = True) -> CacheResult:
        """Load the features of `inputs` through `model`, extracting and caching them on a miss.

        Features come back float32 on the CPU, hit or miss."""
        start = time.perf_counter()
        record = self.record(model, inputs, bf16)
        cached = self.load(record)
        if cached is not None:
            return CacheResult(cached, True, self.paths(self.key_of(record))[0], time.perf_counter() - start)
        feats = extract_features(model, inputs, batch_size, bf16, progress)
        path = self.save(record, feats)
        return CacheResult(feats, False, path, time.perf_counter() - start)
