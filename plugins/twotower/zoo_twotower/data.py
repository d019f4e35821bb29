"""Batches of both modalities from the sample format (`WirelessData`), as torch tensors."""

from __future__ import annotations

import numpy as np
import torch

from .position import env_arrays, require_environment


def csi_tensor(data, indices) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(data.csi[np.asarray(indices)]))


def env_batch(data, indices, **options) -> dict[str, torch.Tensor]:
    """The environment tower's fields for `indices` (options as `position.env_arrays`)."""
    return {k: torch.from_numpy(v) for k, v in env_arrays(data, indices, **options).items()}


def pair_batch(data, indices) -> dict[str, torch.Tensor]:
    return {"csi": csi_tensor(data, indices), **env_batch(data, indices)}


class PairDataset(torch.utils.data.Dataset):
    """(CSI, environment) pairs of a `WirelessData`; `__getitems__` gathers a whole batch at
    once (edge maps are gathered per batch through scene_id, never stored per sample)."""

    def __init__(self, data, indices=None):
        require_environment(data)
        self.data = data
        self.indices = np.arange(len(data)) if indices is None else np.asarray(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitems__(self, positions) -> dict[str, torch.Tensor]:
        return pair_batch(self.data, self.indices[np.asarray(positions)])

    def __getitem__(self, i):
        return {k: v[0] for k, v in self.__getitems__([i]).items()}


def whole_batch(batch):
    """collate_fn for `PairDataset`: the batch is already one dict."""
    return batch


@torch.no_grad()
def encode(model, tower: str, batches, normalize: bool = True) -> torch.Tensor:
    """A tower's (normalised) embeddings of an iterable of batches, in eval mode."""
    was = model.training
    model.eval()
    out = torch.cat([model.encode(b, tower, normalize=normalize) for b in batches])
    model.train(was)
    return out


def chunks(n: int, size: int = 256):
    for i in range(0, n, size):
        yield np.arange(i, min(n, i + size))


def embed_csi(model, data, indices, size: int = 256) -> torch.Tensor:
    idx = np.asarray(indices)
    return encode(model, "csi", ({"csi": csi_tensor(data, idx[c])} for c in chunks(len(idx), size)))


def embed_env(model, data, indices, size: int = 256, **options) -> torch.Tensor:
    idx = np.asarray(indices)
    edges = options.pop("edges", None)

    def batches():
        for c in chunks(len(idx), size):
            extra = {} if edges is None else {"edges": edges[c]}
            opts = {k: (v[c] if isinstance(v, np.ndarray) and v.ndim and len(v) == len(idx) else v)
                    for k, v in options.items()}
            yield env_batch(data, idx[c], **opts, **extra)

    return encode(model, "env", batches())
