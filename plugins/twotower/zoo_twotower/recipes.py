"""`wzoo run twotower/pretrain`: environment-channel pre-training on built-in city areas.

L = L_C + L_R (`losses.TwoTowerObjective`) with AdamW; the learning rate rises linearly from
~0 to `lr` over `warmup_epochs` and then follows cosine annealing with warm restarts every
`restart_epochs` (torch's LinearLR then CosineAnnealingWarmRestarts, chained by
SequentialLR), batch 64, `zoo_core.train.fit` (so `accelerate launch` runs it on many
processes). Areas are split 80/20: the model never sees the held-out areas, on which the
recipe reports per-area matching (Fig. 6), zero-shot LOS (eq. 13), scale inference and the
CSI-feedback NMSE.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def library_schedule(warmup_steps: int, restart_steps: int):
    """A factory for `fit`: LinearLR warm-up, then CosineAnnealingWarmRestarts (per step)."""
    import torch

    def make(cfg, optimizer, steps_per_epoch):
        warm = max(1, int(warmup_steps))
        ramp = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warm, end_factor=1.0, total_iters=warm)
        cosine = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=max(1, int(restart_steps)))
        return torch.optim.lr_scheduler.SequentialLR(optimizer, [ramp, cosine], milestones=[warm])

    return make


def city(n: int, seed: int, **params):
    from zoo_core.data.generators.city import generate

    return generate(n, seed=seed, **params)


def area_split(data, held_out: float = 0.2, seed: int = 0):
    from zoo_core.data.sample import scene_split

    train, test = scene_split(data, [1 - held_out, held_out], seed=seed)
    return train, test


def evaluate_zero_shot(model, data, indices) -> dict[str, float]:
    from zoo_core.tasks import CSIFeedback

    from .tasks import MapScale
    from .zeroshot import los_scores, per_area_matching, reconstruct

    idx = np.asarray(indices)
    per_area = per_area_matching(model, data, idx)
    los = data.los[idx].astype(int)
    pred = los_scores(model, data, idx).argmax(1)
    scale = MapScale()
    s_pred = scale.zero_shot(model, data, idx).argmax(1)
    out = {
        "test_areas": len(per_area), "test_samples": len(idx),
        "matching_accuracy_mean_over_areas": float(np.mean(list(per_area.values()))),
        "matching_chance_mean_over_areas": float(np.mean([1 / max(1, (data.scene_id[idx] == a).sum())
                                                          for a in per_area])),
        "zero_shot_los_accuracy": float((pred == los).mean()),
        "majority_los_accuracy": float(max(los.mean(), 1 - los.mean())),
        "zero_shot_scale_accuracy": float((s_pred == scale.targets(data, idx)).mean()),
    }
    if "csi-feedback" in model.heads:
        m = CSIFeedback().metrics(reconstruct(model, data, idx), data.csi[idx])
        out.update(feedback_nmse_db=m["nmse_db"], feedback_rho=m["rho"])
    return out, per_area


def pretrain(out_dir: Path, size: str = "tiny", variant: str = "crnn-msnn", n: int = 3000, epochs: int = 4,
             batch_size: int = 64, lr: float = 5e-4, warmup_epochs: float = 1.0, restart_epochs: int = 2,
             seed: int = 0, n_bs: int = 5, n_ue: int = 30, dense: int = 0) -> dict:
    import torch

    from zoo_core.train import TrainConfig, fit

    from .data import PairDataset, whole_batch
    from .errors import TwotowerError
    from .losses import TwoTowerObjective
    from .model import create

    if n < 10 or epochs < 1 or batch_size < 2 or lr <= 0 or dense < 0:
        raise TwotowerError("n >= 10, epochs >= 1, batch_size >= 2, lr > 0 and dense >= 0 are required")
    out_dir = Path(out_dir)
    data = city(n, seed, n_bs=n_bs, n_ue=n_ue)
    train_idx, test_idx = area_split(data, seed=seed)
    sets = [PairDataset(data, train_idx)]
    if dense:
        sets.append(PairDataset(city(dense, seed + 1, n_bs=1, n_ue=max(100, dense // 4))))
    dataset = sets[0] if len(sets) == 1 else _Concat(sets)
    model = create(size, variant)
    objective = TwoTowerObjective(model)
    steps = max(1, int(np.ceil(len(dataset) / batch_size)))
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=0.01, batch_size=batch_size,
                      seed=seed, progress=False)

    def evaluate(m):
        return dict(objective.last)

    history = fit(objective, dataset, config=cfg, collate_fn=whole_batch, evaluate=evaluate,
                  scheduler=library_schedule(warmup_epochs * steps, restart_epochs * steps))
    for tower in model.encoders:
        model.set_weights_source("wzoo:twotower/pretrain", tower)
    metrics, per_area = evaluate_zero_shot(model, data, test_idx)
    metrics.update(train_samples=len(dataset), final_train_loss=history.epochs[-1]["train_loss"],
                   variant=variant, size=size, parameters=sum(p.numel() for p in model.parameters()))
    model.save_pretrained(out_dir / "model", metrics={k: v for k, v in metrics.items()
                                                      if isinstance(v, (int, float))}, overwrite=True)
    (out_dir / "history.json").write_text(json.dumps(history.epochs, indent=1))
    (out_dir / "per_area_matching.json").write_text(json.dumps(per_area, indent=1))
    _figures(out_dir, model, data, test_idx, per_area)
    torch.set_grad_enabled(True)
    return metrics


class _Concat:
    """Several PairDatasets as one, whole batches per dataset part."""

    def __init__(self, parts):
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])

    def __len__(self):
        return int(self.offsets[-1])

    def __getitems__(self, positions):
        import torch

        pos = np.asarray(positions)
        part = np.searchsorted(self.offsets, pos, side="right") - 1
        pieces = [self.parts[k].__getitems__(pos[part == k] - self.offsets[k]) for k in np.unique(part)]
        out = {}
        for key in pieces[0]:
            values = [p[key] for p in pieces]
            if key == "env_edges" and len({v.shape[1:] for v in values}) > 1:
                raise ValueError("the dense areas' maps must have the same size as the others")
            out[key] = torch.cat(values)
        return out

    def __getitem__(self, i):
        return {k: v[0] for k, v in self.__getitems__([i]).items()}


def _figures(out_dir: Path, model, data, test_idx, per_area) -> None:
    """Fig. 5 (one held-out area's similarity matrix) and Fig. 6 (per-area matching histogram)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .zeroshot import similarity_matrix

    plots = out_dir / "plots"
    plots.mkdir(exist_ok=True)
    idx = np.asarray(test_idx)
    first = idx[data.scene_id[idx] == data.scene_id[idx[0]]]
    s = similarity_matrix(model, data, first)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    im = ax.imshow(s, cmap="viridis")
    fig.colorbar(im, ax=ax)
    ax.set(title=f"held-out area {int(data.scene_id[first[0]])}: CSI vs environment", xlabel="environment",
           ylabel="CSI")
    fig.savefig(plots / "similarity-matrix.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(list(per_area.values()), bins=np.linspace(0, 1, 11), edgecolor="black")
    ax.set(title="matching accuracy per held-out area", xlabel="accuracy", ylabel="areas")
    fig.savefig(plots / "matching-per-area.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
