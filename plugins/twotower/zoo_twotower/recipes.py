"""`wzoo run twotower/pretrain`: environment-channel pre-training on built-in city areas.

L = L_C + L_R (`losses.TwoTowerObjective`) with AdamW; the learning rate rises linearly from
~0 to `lr` over `warmup_epochs`, then follows cosine annealing with warm restarts every
`restart_epochs` (0: one cycle to the end of the run) — torch's LinearLR then
CosineAnnealingWarmRestarts, chained by SequentialLR — batch 64, batches drawn across areas,
`zoo_core.train.fit` (so `accelerate launch` runs it on many processes). Areas are split
80/20: the model never sees the held-out areas, on which the recipe reports per-area
matching (Fig. 6), multi-user matching (Fig. 7), zero-shot LOS (eq. 13), scale inference and
the CSI-feedback NMSE, and draws Figs. 3, 5 and 6 into DIR/plots/.

The defaults (6,000 pairs, 12 epochs, peak lr 1e-3, one cosine cycle) are the CPU recipe:
about 900 steps of the tiny model, a few minutes on two cores. The paper trains 100 epochs at
5e-4 on far more data; see the model card for what differs and why.

`csi_domain="angle-delay"` and `common_phase=True` give the CSI tower and the CRNN the
angle-delay coefficients of the phase-aligned CSI (`transforms.CSIRealImag`), and
`reconstruction_weight` scales L_R (eq. 11 sums each sample's squared errors where L_R here
averages them over the 4,096 entries): with `n=12000`, angle-delay, common phase and weight
100 the joint CRNN reaches about −1.2 dB on unseen areas against −0.2 dB for one fitted after
(plugin README).
"""

from __future__ import annotations

import contextlib
import json
import os
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


def evaluate_zero_shot(model, data, indices) -> tuple[dict[str, float], dict[int, float]]:
    """The paper's zero-shot checks on held-out samples: per-area matching (Fig. 6), multi-user
    matching among K = 5 UEs of one BS (Fig. 7), LOS by eq. 13, scale among [0.8 s, s, 1.2 s]
    (with the share of each option picked: a model blind to the scale entry picks an extreme
    option every time, below chance), and the CSI-feedback NMSE where the model has a CRNN."""
    from zoo_core.tasks import CSIFeedback

    from .tasks import MapScale, MultiUser
    from .zeroshot import los_scores, per_area_matching, reconstruct

    idx = np.asarray(indices)
    per_area = per_area_matching(model, data, idx)
    los = data.los[idx].astype(int)
    pred = los_scores(model, data, idx).argmax(1)
    scale = MapScale()
    s_pred = scale.zero_shot(model, data, idx).argmax(1)
    picked = np.stack([o["scale_factor"] for o in scale.options(data, idx)], 1)[np.arange(len(idx)), s_pred]
    users = MultiUser()
    u_idx = idx[users.valid(data)[idx]]
    out = {
        "test_areas": len(per_area), "test_samples": len(idx),
        "matching_accuracy_mean_over_areas": float(np.mean(list(per_area.values()))),
        "matching_chance_mean_over_areas": float(np.mean([1 / max(1, (data.scene_id[idx] == a).sum())
                                                          for a in per_area])),
        "multi_user_accuracy": float((users.zero_shot(model, data, u_idx).argmax(1)
                                      == users.targets(data, u_idx)).mean()),
        "multi_user_chance": 1 / users.k, "multi_user_samples": len(u_idx),
        "zero_shot_los_accuracy": float((pred == los).mean()),
        "zero_shot_los_balanced_accuracy": float(np.mean([(pred[los == k] == k).mean() for k in (0, 1)
                                                          if (los == k).any()])),
        "majority_los_accuracy": float(max(los.mean(), 1 - los.mean())),
        "zero_shot_scale_accuracy": float((s_pred == scale.targets(data, idx)).mean()),
        **{f"scale_picked_{f}": float(np.isclose(picked, f).mean()) for f in (0.8, 1.0, 1.2)},
    }
    if "csi-feedback" in model.heads:
        m = CSIFeedback().metrics(reconstruct(model, data, idx), data.csi[idx])
        out.update(feedback_nmse_db=m["nmse_db"], feedback_rho=m["rho"])
    return out, per_area


def fit_crnn_after(model, dataset, size: str, config, scheduler) -> dict:
    """"Zero-shot CSI feedback without CRNN" made measurable: a model pre-trained with no CRNN
    (variant `two-tower`) cannot reconstruct at all (NMSE 0 dB for the all-zero guess), so a
    CRNN of the same size is fitted afterwards on its frozen CSI tower with L_R alone, for the
    same epochs and schedule as the pre-training. Adds the head to `model`."""
    from zoo_core.train import fit

    from .losses import ReconstructionObjective
    from .plugin import SIZES

    model.add_task("csi-feedback", "twotower/crnn", towers=["csi"], **SIZES[size]["crnn"])
    objective = ReconstructionObjective(model)
    from .data import whole_batch

    history = fit(objective, dataset, config=config, collate_fn=whole_batch,
                  evaluate=lambda m: objective.epoch_means(), scheduler=scheduler)
    return {"crnn_after_final_reconstruction": history.epochs[-1]["reconstruction"]}


def pretrain(out_dir: Path, size: str = "tiny", variant: str = "crnn-msnn", n: int = 6000, epochs: int = 12,
             batch_size: int = 64, lr: float = 1e-3, warmup_epochs: float = 1.0, restart_epochs: int = 0,
             seed: int = 0, n_bs: int = 5, n_ue: int = 30, dense: int = 0, fig3_pairs: int = 150,
             csi_domain: str = "antenna-frequency", common_phase: bool = False,
             reconstruction_weight: float = 1.0) -> dict:
    """Pre-train, evaluate on held-out areas, save the model, the history and the figures.
    `restart_epochs` 0: one cosine cycle from the end of the warm-up to the end of the run."""
    import time

    import torch

    from zoo_core.distributed import DistContext
    from zoo_core.train import TrainConfig, fit

    from .data import PairDataset, whole_batch
    from .errors import TwotowerError
    from .figures import write_all
    from .losses import TwoTowerObjective
    from .model import create
    from .umap_worker import UmapWorker

    if (n < 10 or epochs < 1 or batch_size < 2 or lr <= 0 or dense < 0 or restart_epochs < 0 or warmup_epochs < 0
            or not reconstruction_weight >= 0):
        raise TwotowerError("n >= 10, epochs >= 1, batch_size >= 2, lr > 0, dense >= 0, restart_epochs >= 0, "
                            "warmup_epochs >= 0 and reconstruction_weight >= 0 are required")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    # UMAP compiles in a second process while this one trains (umap_worker.py); on the first
    # rank only (`accelerate launch` sets RANK; the process group does not exist yet)
    umap_worker = UmapWorker() if fig3_pairs >= 8 and os.environ.get("RANK", "0") == "0" else None
    with umap_worker or contextlib.nullcontext():
        data = city(n, seed, n_bs=n_bs, n_ue=n_ue)
        train_idx, test_idx = area_split(data, seed=seed)
        sets = [PairDataset(data, train_idx)]
        if dense:
            sets.append(PairDataset(city(dense, seed + 1, n_bs=1, n_ue=max(100, dense // 4))))
        dataset = sets[0] if len(sets) == 1 else _Concat(sets)
        model = create(size, variant, csi_domain=csi_domain, common_phase=common_phase)
        objective = TwoTowerObjective(model, reconstruction_weight=reconstruction_weight)
        if len(dataset) < batch_size:
            raise TwotowerError(f"{len(dataset)} training pairs are fewer than one batch of {batch_size}; raise n")
        steps = len(dataset) // batch_size
        warm = warmup_epochs * steps
        # one cycle: one step longer than the run, so its last step is near 0, not a restart
        cycle = restart_epochs * steps if restart_epochs else max(1, epochs * steps - int(warm) + 1)
        # whole batches only: a last batch of a few pairs would make a meaningless contrastive step
        cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=0.01, batch_size=batch_size,
                          drop_last=True, seed=seed, progress=False)
        schedule = library_schedule(warm, cycle)
        history = fit(objective, dataset, config=cfg, collate_fn=whole_batch, evaluate=lambda m: objective.epoch_means(),
                      scheduler=schedule)
        extra = {}
        if "csi-feedback" not in model.heads:
            extra = fit_crnn_after(model, dataset, size, cfg, schedule)
        for tower in model.encoders:
            model.set_weights_source("wzoo:twotower/pretrain", tower)
        metrics, per_area = evaluate_zero_shot(model, data, test_idx)
        metrics["feedback_crnn"] = "joint" if not extra else "fitted after, on the frozen CSI tower"
        metrics.update(extra, train_samples=len(dataset), train_steps=steps * epochs,
                       final_train_loss=history.epochs[-1]["train_loss"],
                       final_contrastive_loss=history.epochs[-1]["contrastive"], chance_contrastive_loss=float(
                           np.log(batch_size * DistContext.current().world_size)), variant=variant, size=size,
                       csi_domain=csi_domain, common_phase=bool(common_phase),
                       reconstruction_weight=reconstruction_weight,
                       parameters=sum(p.numel() for p in model.parameters()))
        model.save_pretrained(out_dir / "model", metrics={k: v for k, v in metrics.items()
                                                          if isinstance(v, (int, float))}, overwrite=True)
        (out_dir / "history.json").write_text(json.dumps(history.epochs, indent=1))
        (out_dir / "per_area_matching.json").write_text(json.dumps(per_area, indent=1))
        metrics.update(write_all(out_dir, model, data, test_idx, per_area, fig3_pairs, seed, umap_worker))
        metrics["wall_seconds"] = round(time.perf_counter() - started, 1)
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
