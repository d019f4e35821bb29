"""Frozen features, extracted once and cached on disk; heads train on the cache.

The key is a SHA-256 over (backbone name + args, a hash of the backbone's weights, the
transform config, a hash of the input data, precision), so a change to any of them is a
different cache entry. An entry is `<key>.safetensors` (tensor "features") and `<key>.json`
(what the key was made of, the shape, the SHA-256 of the tensor file). Both are written to a
temporary file in the same folder and moved into place with `os.replace`, the JSON last, so a
reader never sees half an entry. On read, a missing/unparsable JSON, a different key record,
a checksum or shape mismatch, or an unreadable tensor file is a stale or corrupt entry: it is
removed and the features are extracted again. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import FeatureCacheError

FORMAT = 1


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


def weights_digest(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, value in sorted(module.state_dict().items()):
        h.update(name.encode())
        tensor_digest(value, h)
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@torch.no_grad()
def extract_features(model, inputs: torch.Tensor, batch_size: int = 64, bf16: bool = False,
                     progress: bool = True, desc: str = "features") -> torch.Tensor:
    """Pooled features (N, num_features) float32 of a ZooModel, batched, optionally under bf16
    autocast (the transform runs in float32; only the backbone is autocast)."""
    from tqdm.auto import tqdm

    model.eval()
    out = []
    for i in tqdm(range(0, len(inputs), batch_size), desc=desc, unit="batch", disable=not progress, leave=False):
        x = model.transform(inputs[i:i + batch_size])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            maps = model.backbone.forward_features(x)
            feats = model.backbone.forward_head(maps, pre_logits=True)
        out.append(feats.float())
    return torch.cat(out) if out else torch.empty(0, model.num_features)


@dataclass
class CacheResult:
    features: torch.Tensor
    hit: bool
    path: Path
    seconds: float


class FeatureCache:
    """A folder of cached feature tensors (`~/.cache/wzoo/lvm4csi` by default)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else Path(os.environ.get("WZOO_CACHE", Path.home() / ".cache" / "wzoo")) / "lvm4csi"

    @staticmethod
    def record(model, inputs: torch.Tensor, bf16: bool = False) -> dict:
        """What the key is made of (JSON)."""
        backbone = model.config.get("backbone") or {"name": type(model.backbone).__name__, "args": {}}
        return {
            "format": FORMAT,
            "backbone": backbone,
            "weights": weights_digest(model.backbone),
            "transform": model.config.get("transform") or dict(getattr(model.transform, "config", {})),
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
        from safetensors.torch import load_file

        key = self.key_of(record)
        tensor_path, meta_path = self.paths(key)
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("record") != record or not tensor_path.exists():
                raise ValueError("stale entry")
            if _file_digest(tensor_path) != meta.get("sha256"):
                raise ValueError("checksum mismatch")
            feats = load_file(str(tensor_path))["features"]
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
        from safetensors.torch import save_file

        key = self.key_of(record)
        tensor_path, meta_path = self.paths(key)
        tmps: list[Path] = []
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmps.append(_tmp(self.root, ".safetensors"))
            save_file({"features": features.contiguous()}, str(tmps[-1]))
            _fsync(tmps[-1])
            os.replace(tmps[-1], tensor_path)
            meta = {"record": record, "shape": list(features.shape), "dtype": str(features.dtype),
                    "sha256": _file_digest(tensor_path), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
            tmps.append(_tmp(self.root, ".json"))
            tmps[-1].write_text(json.dumps(meta, indent=1))
            _fsync(tmps[-1])
            os.replace(tmps[-1], meta_path)  # written last: its presence marks a complete entry
        except OSError as exc:
            raise FeatureCacheError(f"cannot write the feature cache in {self.root}: {exc}; "
                                    "set WZOO_CACHE or pass another cache folder") from exc
        finally:
            for t in tmps:
                t.unlink(missing_ok=True)
        return tensor_path

    def features(self, model, inputs: torch.Tensor, batch_size: int = 64, bf16: bool = False,
                 progress: bool = True) -> CacheResult:
        """Load the features of `inputs` through `model`, extracting and caching them on a miss."""
        start = time.perf_counter()
        record = self.record(model, inputs, bf16)
        cached = self.load(record)
        if cached is not None:
            return CacheResult(cached, True, self.paths(self.key_of(record))[0], time.perf_counter() - start)
        feats = extract_features(model, inputs, batch_size, bf16, progress)
        path = self.save(record, feats)
        return CacheResult(feats, False, path, time.perf_counter() - start)


def _tmp(folder: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    return Path(name)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
