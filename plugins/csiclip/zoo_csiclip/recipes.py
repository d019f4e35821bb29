"""`wzoo run csiclip/...`: CIR–CSI contrastive pre-training, and the authors' release to a folder.

`pretrain` follows the paper's recipe (Sec. IV-B): AdamW at lr 8e-4, batch 128, the learning
rate × 0.8 after `plateau_patience` epochs without a better validation loss, early stopping
after `early_stopping` such epochs, the best validation epoch's weights kept. Scenarios are
mixed: every source in `sources` (registered generators: `city`, `ofdm-pilots`, `sionna-rt`
where that extra is installed) gives `n` samples, `val_fraction` of them held out; a batch
comes from one source (their grids differ; the transform resamples each to the model's input).
It trains the core's `ContrastiveObjective` (the `contrastive` head's learnable, clamped
temperature and `ClipLoss`) with `zoo_core.train.fit` (`schedule="plateau"`, `early_stopping`
on the rank-averaged validation loss), so `accelerate launch -m zoo_core.cli run
csiclip/pretrain` trains data parallel with the loss of one process on the global batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from zoo_core.train import threads as _threads

from .errors import PretrainDataError
from .plugin import MODEL_NAMES, OFFICIAL_REPO


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
    """fit() of the ContrastiveObjective with the plateau schedule and early stopping on the
    validation loss; the model ends with the best validation epoch's weights. Returns the
    fit History (per-epoch rows with lr, temperature and validation numbers)."""
    from zoo_core.objectives import ContrastiveObjective
    from zoo_core.train import TrainConfig, fit

    def evaluate(m):
        return {**validation(m, parts, batch_size), "temperature": float(1 / m.heads["retrieval"].scale())}

    # each item is one pre-built one-source batch: fit shuffles them (seeded per epoch) and,
    # under many processes, deals them out to the ranks whole (batch_size is then per process);
    # fit averages the validation numbers over ranks, so every rank takes the same decisions
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=0.01, batch_size=None, seed=seed,
                      progress=progress, schedule="plateau", plateau_patience=plateau_patience,
                      plateau_factor=plateau_factor, early_stopping=early_stopping or None, monitor="val_loss",
                      monitor_mode="min")
    return fit(ContrastiveObjective(model, "retrieval"), source_batches(parts, batch_size), config=cfg,
               evaluate=evaluate)


def _pretrain(out_dir, size, names, n, epochs, batch_size, lr, plateau_patience, plateau_factor, early_stopping,
              val_fraction, minmax, seed):
    from zoo_core.data.plots import plot_similarity, plot_training_curves

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    parts = split_sources(names, n, val_fraction, seed)
    model = contrastive_model(size, parts, minmax)
    history = train_contrastive(model, parts, epochs=epochs, batch_size=batch_size, lr=lr,
                                plateau_patience=plateau_patience, plateau_factor=plateau_factor,
                                early_stopping=early_stopping, seed=seed)
    rows = history.epochs
    final = validation(model, parts, batch_size)
    for tower in ("csi", "cir"):
        model.set_weights_source("wzoo:csiclip/pretrain", tower)
    metrics = {"epochs_run": len(rows), "best_epoch": history.best_epoch, "val_loss": final["val_loss"],
               "lr_factor": history.last_lr / lr, "early_stopped": history.stopped_early is not None,
               "sources": names,
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
