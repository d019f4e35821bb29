"""`wzoo run csiclip/...`: CIR–CSI contrastive pre-training, and the authors' release to a folder.

`pretrain` follows the paper's recipe (Sec. IV-B): AdamW at lr 8e-4, batch 128, the learning
rate × 0.8 after `plateau_patience` epochs without a better validation loss, early stopping
after `early_stopping` such epochs, the best validation epoch's weights kept. Scenarios are
mixed: every source in `sources` (registered generators: `city`, `ofdm-pilots`, `sionna-rt`
where that extra is installed) gives `n` samples, `val_fraction` of them held out; a batch
comes from one source (their grids differ; the transform resamples each to the model's input).
It trains the core's `ContrastiveObjective` (the `contrastive` head's learnable, clamped
temperature and `ClipLoss`) with `zoo_core.train.fit`, so `accelerate launch -m zoo_core.cli
run csiclip/pretrain` trains data parallel with the loss of one process on the global batch.

The core's `fit` has no plateau schedule and no early stopping yet: this recipe scales the
optimiser's learning rate through its parameter group (`PlateauSchedule`) and stops by
raising from the per-epoch evaluation. Both belong in `TrainConfig` (see the plugin README).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from zoo_core.train import threads as _threads

from .errors import PretrainDataError
from .plugin import MODEL_NAMES, OFFICIAL_REPO


# ------------------------------------------------------------------ schedule
class ScaledGroup(dict):
    """An optimiser parameter group whose learning rate is whatever the core's scheduler sets,
    times `factor`: ReduceLROnPlateau on top of the loop's own per-step schedule."""

    factor = 1.0

    def __setitem__(self, key, value):
        if key == "lr":
            value = value * self.factor
        super().__setitem__(key, value)


class EarlyStop(Exception):
    """Raised from the evaluation once the validation loss has not improved for long enough."""


class PlateauSchedule:
    """lr × `factor` after `patience` epochs without a lower validation loss (torch's
    ReduceLROnPlateau, mode "min", threshold 0); stop after `stop_after` such epochs."""

    def __init__(self, groups: list[ScaledGroup], patience=10, factor=0.8, stop_after=30):
        self.groups, self.patience, self.factor, self.stop_after = groups, patience, factor, stop_after
        self.best, self.bad, self.since_best, self.best_epoch = float("inf"), 0, 0, 0
        self.epoch = 0

    def step(self, value: float) -> bool:
        """Record an epoch's validation loss; True when it is the best so far."""
        self.epoch += 1
        if value < self.best:
            self.best, self.bad, self.since_best, self.best_epoch = value, 0, 0, self.epoch
            return True
        self.bad += 1
        self.since_best += 1
        if self.bad > self.patience:  # as torch: reduce once the patience is exceeded
            for g in self.groups:
                g.factor *= self.factor
                dict.__setitem__(g, "lr", g["lr"] * self.factor)
            self.bad = 0
        return False

    @property
    def exhausted(self) -> bool:
        return bool(self.stop_after) and self.since_best >= self.stop_after

    @property
    def lr_factor(self) -> float:
        return self.groups[0].factor if self.groups else 1.0


# ------------------------------------------------------------------ data
def generate_source(name: str, n: int, seed: int):
    """`n` samples of a registered generator (typed error for an unknown or uninstalled one)."""
    from zoo_core.errors import UnknownNameError, WzooError
    from zoo_core.plugins import registry

    try:
        record = registry().get("dataset", name)
    except UnknownNameError:
        raise PretrainDataError(f"sources: {name!r} is not a registered generator (`wzoo data list`)") from None
    if record.metadata.get("kind", "generator") != "generator":
        raise PretrainDataError(f"sources: {name!r} is a loader, not a generator")
    try:
        data = record.load()(int(n), seed=int(seed))
    except ImportError as exc:
        raise PretrainDataError(f"sources: {name!r} needs an extra that is not installed ({exc.name or exc})") from None
    except WzooError:
        raise
    if np.asarray(data.csi).ndim != 5:
        raise PretrainDataError(f"sources: {name!r} gives csi of shape {data.csi.shape}, not (N, rx, tx, sc, symbol)")
    return data


def source_names(sources) -> list[str]:
    names = [s.strip() for s in (sources.split(",") if isinstance(sources, str) else sources) if s and s.strip()]
    if not names:
        raise PretrainDataError("sources: name at least one generator, e.g. city,ofdm-pilots")
    return names


def split_sources(names, n, val_fraction, seed):
    """{source: (train csi, val csi)} as complex64 tensors."""
    if not 0 < val_fraction < 1:
        raise PretrainDataError(f"val_fraction must be in (0, 1), got {val_fraction}")
    out = {}
    for i, name in enumerate(names):
        csi = torch.from_numpy(np.ascontiguousarray(generate_source(name, n, seed + 101 * (i + 1)).csi,
                                                    dtype=np.complex64))
        perm = torch.randperm(len(csi), generator=torch.Generator().manual_seed(seed + i))
        n_val = max(1, int(round(val_fraction * len(csi))))
        out[name] = (csi[perm[n_val:]], csi[perm[:n_val]])
    return out


def source_batches(parts: dict, batch_size: int) -> list[dict]:
    """One-source batches of {"csi": ...} (the CIR tower computes its input from the CSI);
    a trailing batch of one pair is dropped (a contrastive batch needs negatives)."""
    out = []
    for train, _ in parts.values():
        for i in range(0, len(train), batch_size):
            chunk = train[i:i + batch_size]
            if len(chunk) > 1:
                out.append({"csi": chunk})
    return out


# ------------------------------------------------------------------ pre-training
def pretrain(out_dir: Path, size: str = "tiny", sources="city,ofdm-pilots", n: int = 3000, epochs: int = 300,
             batch_size: int = 128, lr: float = 8e-4, plateau_patience: int = 10, plateau_factor: float = 0.8,
             early_stopping: int = 30, val_fraction: float = 0.2, minmax: str = "sample", seed: int = 0,
             threads: int = 1):
    if size not in MODEL_NAMES:
        raise PretrainDataError(f"size is one of {', '.join(MODEL_NAMES)}, got {size!r}")
    with _threads(threads):
        return _pretrain(Path(out_dir), size, source_names(sources), n, epochs, batch_size, lr, plateau_patience,
                         plateau_factor, early_stopping, val_fraction, minmax, seed)


def contrastive_model(size: str, parts: dict, minmax: str):
    """The registered model with transform statistics fitted on every source's training CSI
    (CSI tower) and its IFFT (CIR tower)."""
    import zoo_core
    from zoo_core.fields import cir_from_csi

    from .transforms import ComplexImage

    model = zoo_core.create_model(MODEL_NAMES[size])
    for tower in ("csi", "cir"):
        cfg = model.encoder(tower).transform.config
        xs = [train if tower == "csi" else cir_from_csi(train) for train, _ in parts.values()]
        model.set_transform(ComplexImage.fit(xs, size=cfg["size"], minmax=minmax), "csiclip/complex-image",
                            tower=tower)
    return model


@torch.no_grad()
def validation(model, parts: dict, batch_size: int) -> dict:
    """Mean CLIP loss over one-source validation batches, and recall@1 (CSI → CIR) per source
    over its whole validation set."""
    from zoo_core.losses import ClipLoss

    from .strategies import embeddings

    head = model.heads["retrieval"]
    losses, weights, scores = [], [], {}
    for name, (_, val) in parts.items():
        a = embeddings(model, val, "csi", batch_size)
        b = embeddings(model, _cir(val), "cir", batch_size)
        for i in range(0, len(a), batch_size):
            if len(a[i:i + batch_size]) > 1:
                losses.append(ClipLoss()(a[i:i + batch_size], b[i:i + batch_size], head.scale()).item())
                weights.append(len(a[i:i + batch_size]))
        sim = a @ b.T
        scores[f"recall_at_1_{name}"] = float((sim.argmax(1) == torch.arange(len(a))).float().mean())
    return {"val_loss": float(np.average(losses, weights=weights)), **scores}


def _cir(csi):
    from zoo_core.fields import cir_from_csi

    return cir_from_csi(csi)


def train_contrastive(model, parts: dict, *, epochs, batch_size, lr, plateau_patience, plateau_factor,
                      early_stopping, seed, progress=True):
    """fit() of the ContrastiveObjective with the plateau schedule and early stopping; the
    model ends with the best validation epoch's weights. Returns (history rows, schedule)."""
    from zoo_core.objectives import ContrastiveObjective
    from zoo_core.train import TrainConfig, fit

    objective = ContrastiveObjective(model, "retrieval")
    group = ScaledGroup(params=[p for p in objective.parameters() if p.requires_grad])
    schedule = PlateauSchedule([group], plateau_patience, plateau_factor, early_stopping)
    rows, best = [], {}

    def evaluate(m):
        scores = validation(m, parts, batch_size)
        # every rank must take the same decisions: BatchNorm statistics are per rank, so the
        # validation loss is averaged over ranks before the schedule sees it
        scores["val_loss"] = objective.dist.reduce_mean(scores["val_loss"])
        if schedule.step(scores["val_loss"]):
            best["state"] = {k: v.detach().clone() for k, v in m.state_dict().items()}
        scores.update(lr=group["lr"], temperature=float(1 / m.heads["retrieval"].scale()))
        rows.append(scores)
        if schedule.exhausted:
            raise EarlyStop
        return scores

    # each item is one pre-built one-source batch: fit shuffles them (seeded per epoch) and,
    # under many processes, deals them out to the ranks (batch_size is then per process)
    batches = source_batches(parts, batch_size)
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=0.01, batch_size=1, seed=seed,
                      progress=progress, monitor="val_loss", monitor_mode="min")
    history = None
    try:
        history = fit(objective, batches, config=cfg, evaluate=evaluate, param_groups=[group], collate_fn=_one)
    except EarlyStop:
        pass
    if "state" in best:
        model.load_state_dict(best["state"])
    model.eval()
    losses = history.epochs if history is not None else None
    for row, h in zip(rows, losses or []):
        row["train_loss"] = h["train_loss"]
    return rows, schedule


def _one(items: list) -> dict:
    """collate_fn of a loader whose items are whole batches already."""
    return items[0]


def _pretrain(out_dir, size, names, n, epochs, batch_size, lr, plateau_patience, plateau_factor, early_stopping,
              val_fraction, minmax, seed):
    from zoo_core.data.plots import plot_similarity, plot_training_curves

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    parts = split_sources(names, n, val_fraction, seed)
    model = contrastive_model(size, parts, minmax)
    rows, schedule = train_contrastive(model, parts, epochs=epochs, batch_size=batch_size, lr=lr,
                                       plateau_patience=plateau_patience, plateau_factor=plateau_factor,
                                       early_stopping=early_stopping, seed=seed)
    final = validation(model, parts, batch_size)
    for tower in ("csi", "cir"):
        model.set_weights_source("wzoo:csiclip/pretrain", tower)
    metrics = {"epochs_run": len(rows), "best_epoch": schedule.best_epoch, "val_loss": final["val_loss"],
               "lr_factor": schedule.lr_factor, "early_stopped": len(rows) < epochs, "sources": names,
               **{k: v for k, v in final.items() if k.startswith("recall")}}
    curves = {k: [r.get(k, float("nan")) for r in rows] for k in ("val_loss", "train_loss")}
    curves.update({k: [r[k] for r in rows] for k in rows[0] if k.startswith("recall")} if rows else {})
    if rows:
        plot_training_curves(curves, out_dir / "pretrain_curves.png", title="CSI-CLIP pre-training")
    first, (_, val) = next(iter(parts.items()))
    from .strategies import similarity

    sim = similarity(model, val[:64], _cir(val[:64]))
    plot_similarity(sim, out_dir / f"similarity_{first}.png", title=f"CSI-CIR cosine similarity ({first}, validation)",
                    xlabel="CIR candidate", ylabel="CSI query")
    (out_dir / "history.json").write_text(json.dumps(rows, indent=1))
    model.save_pretrained(out_dir / "model", metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    return metrics


# ------------------------------------------------------------------ the authors' release
def official(out_dir: Path, revision=None, repo_id: str = OFFICIAL_REPO, local_files_only: bool = False):
    """The release at `revision` as a local wzoo folder (`out_dir/model`), for `wzoo bench --from`.
    The folder is for local use: the weights are cc-by-nc-4.0 and wzoo never pushes them."""
    from .official import load_official

    model = load_official(revision, repo_id=repo_id, local_files_only=local_files_only)
    model.save_pretrained(Path(out_dir) / "model")
    return {"weights": model.config.encoders[0].weights}
