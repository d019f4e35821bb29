"""`wzoo run wavesfm/...`: pre-train, fine-tune, compare with ViT-SL (same net from scratch).

Data are the core's built-in generators, so every recipe runs offline in minutes on a CPU:
pre-training mixes 4-channel OFDM pilot grids and 1-channel city CSI magnitude images
(one patch embedding per channel count, shared transformer); channel estimation uses the
OFDM pilot generator (NMSE vs SNR next to LS and LMMSE, the paper's Fig. 6d); the
classification task is LOS / NLOS on city CSI (mean per-class accuracy).

Every recipe takes `threads` (default 1): torch's intra-op threads while it runs. The models
are tiny; on a busy 2-core machine torch's default of 2 threads ran a fine-tuning step
about 13x slower than 1 thread (measured: 0.98 s vs 0.073 s per step of 64), on an idle
one 1.4x faster. Pass threads=0 to keep torch's setting.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from zoo_core.train import TrainConfig, batches, fit
from zoo_core.train import threads as _threads

from .plugin import MODEL_NAMES, SIZES, task_heads

#: OFDM grid of the built-in data: antennas x subcarriers = 32 rows, the tiny model's image
#: height, so the pilot grid (32 x 2 pilots) is only up-sampled to the image and the head's
#: output tiles cover the 32 x 14 channel grid exactly (see `ofdm_inputs`)
OFDM_GRID = dict(n_rx=2, n_sc=16)

DECODERS = {
    "tiny": dict(decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=4, decoder_mlp_dim=256),
    "small": dict(decoder_embed_dim=128, decoder_depth=4, decoder_num_heads=8, decoder_mlp_dim=512),
    "paper": dict(decoder_embed_dim=256, decoder_depth=8, decoder_num_heads=16, decoder_mlp_dim=1024),
}


# ------------------------------------------------------------------------- data
def ofdm_inputs(data):
    """(pilots complex (N, 2, n_rx*n_sc, P) [reference, received], channel real (N, 2, n_rx*n_sc, 14)).

    Rows stack the antennas' subcarriers (the paper's Fig. 3d), columns are the pilot
    symbols (input) or all 14 symbols (target). The target is the raw channel
    (E|h|² = 1 per resource element: Re and Im have variance 1/2), the scale NMSE is
    measured in (the head's output is that, unnormalised: an O(1) target)."""
    rx = torch.from_numpy(data.extras["pilots_rx"])  # (N, R, K, P)
    ref = torch.from_numpy(data.extras["pilots_tx"])[:, None].expand_as(rx)
    n, r, k, p = rx.shape
    x = torch.stack([ref, rx], 1).reshape(n, 2, r * k, p)
    h = torch.from_numpy(data.csi[:, :, 0]).reshape(n, r * k, -1)
    return x, torch.stack([h.real, h.imag], 1).float()


def city_inputs(data):
    """(|CSI| images (N, 1, antennas, subcarriers), LOS labels)."""
    x = torch.from_numpy(np.abs(data.csi[:, 0, :, :, 0])).unsqueeze(1).float()
    return x, torch.from_numpy(np.asarray(data.los)).long()


def pretrain_batches(n: int, img: int, batch_size: int, seed: int):
    """Mixed-modality batches (each batch one channel count) and the fitted transforms."""
    from zoo_core.data.generators import city, ofdm

    from .transforms import PilotGrid, WirelessImage

    x_ofdm, _ = ofdm_inputs(ofdm.generate(n, seed=seed + 101, **OFDM_GRID))
    x_city, _ = city_inputs(city.generate(n, seed=seed + 202))
    t_ofdm, t_city = PilotGrid.fit(x_ofdm, size=img, ls=True), WirelessImage.fit(x_city, log=True, size=img)
    out = []
    for t, x in ((t_ofdm, x_ofdm), (t_city, x_city)):
        with torch.no_grad():
            y = t(x)
        out += [b[0] for b in batches([y], batch_size)]
    return out, {"pilots": t_ofdm, "image": t_city}


def pretrain_mae(size: str = "tiny", epochs: int = 10, n_samples: int = 1024, batch_size: int = 64,
                 lr: float = 1e-3, warmup_epochs: float = 1.0, seed: int = 0, progress: bool = True):
    """Masked wireless modelling on built-in data; returns (mae, history, batches)."""
    from torch.utils.data import DataLoader

    from .mae import MaskedAutoencoder
    from .towers import ViTEncoder

    torch.manual_seed(seed)
    a = SIZES[size]
    data, _ = pretrain_batches(n_samples, a["img_size"], batch_size, seed)
    mae = MaskedAutoencoder(ViTEncoder(**a), **DECODERS[size])
    loader = DataLoader(data, batch_size=None, shuffle=True, generator=torch.Generator().manual_seed(seed))
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=0.05, schedule="cosine",
                      warmup_epochs=warmup_epochs, seed=seed, progress=progress)
    history = fit(mae, loader, lambda m, b: m(b)[0], cfg)
    return mae, history, data


def pretrain(out_dir: Path, size: str = "tiny", epochs: int = 10, n_samples: int = 1024, batch_size: int = 64,
             lr: float = 1e-3, seed: int = 0, threads: int = 1):
    with _threads(threads):
        return _pretrain(out_dir, size, epochs, n_samples, batch_size, lr, seed)


def _pretrain(out_dir, size, epochs, n_samples, batch_size, lr, seed):
    from zoo_core import create_model

    from .mae import plot_reconstruction

    mae, history, data = pretrain_mae(size, epochs, n_samples, batch_size, lr, seed=seed)
    plot_reconstruction(mae, data[0][:4], out_dir / "reconstruction_pilots.png", seed=seed)
    plot_reconstruction(mae, data[-1][:4], out_dir / "reconstruction_city.png", seed=seed)
    model = create_model(MODEL_NAMES[size], heads={})
    model.load_tower_weights(mae.encoder.state_dict(), "wzoo:wavesfm/pretrain")
    metrics = {"mwm_loss_first": history.epochs[0]["train_loss"], "mwm_loss_last": history.epochs[-1]["train_loss"],
               "epochs": epochs}
    model.save_pretrained(out_dir / "model", metrics=metrics)
    return metrics


# ------------------------------------------------------------------- fine-tuning
def _finetune(model, task, mode, x_tr, y_tr, loss_fn, evaluate, monitor, monitor_mode, epochs, lr, batch_size,
              seed, trainable_blocks=2, rank=8, alpha=1.0, layer_decay=0.75, warmup_epochs=None):
    from torch.utils.data import TensorDataset

    from .finetune import layer_decay_param_groups, prepare

    prepare(model, task, mode, trainable_blocks=trainable_blocks, rank=rank, alpha=alpha)
    groups = layer_decay_param_groups(model, lr, weight_decay=0.05, layer_decay=layer_decay)
    warmup = max(1, epochs // 20) if warmup_epochs is None else warmup_epochs  # paper: 10 of 200
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=0.05, schedule="cosine",
                      warmup_epochs=warmup, batch_size=batch_size, seed=seed,
                      monitor=monitor, monitor_mode=monitor_mode)
    return fit(model, TensorDataset(*x_tr, y_tr), loss_fn, cfg, evaluate=evaluate, param_groups=groups)


def _pretrained_model(size, heads, transform, transform_name, mae=None):
    """A registered model with our heads and fitted transform (and pre-trained encoder)."""
    from zoo_core import create_model

    model = create_model(MODEL_NAMES[size], heads=heads)
    model.set_transform(transform, transform_name)  # registered models carry wavesfm/image; the fitted one
    if mae is not None:
        model.load_tower_weights(mae.encoder.state_dict(), "wzoo:wavesfm/pretrain")
    return model


def _plot_curves(histories: dict, key: str, path: Path, ylabel: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, h in histories.items():
        s = h.series()
        ax.plot(range(1, len(s[key]) + 1), s[key], marker="o", label=label)
    ax.set_xlabel("fine-tuning epoch"), ax.set_ylabel(ylabel), ax.grid(alpha=0.3), ax.legend()
    fig.tight_layout(), fig.savefig(path, dpi=100), plt.close(fig)


def _epochs_to_near_best(hist, key: str, tol: float, mode: str) -> int:
    """First epoch within `tol` of the best value (the best epoch itself is noisy on a plateau)."""
    vals = hist.series()[key]
    best = min(vals) if mode == "min" else max(vals)
    near = [i for i, v in enumerate(vals) if (v <= best + tol if mode == "min" else v >= best - tol)]
    return near[0] + 1


def _table(rows: dict, cols: list, fmt="{:.2f}", first="SNR (dB)") -> str:
    """Markdown table: one row per key of `rows` (a list of values per column)."""
    head = f"| {first} | " + " | ".join(str(c) for c in cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 1)]
    lines += [f"| {k} | " + " | ".join(fmt.format(v) for v in vals) + " |" for k, vals in rows.items()]
    return "\n".join(lines) + "\n"


def channel_estimation(out_dir: Path, size: str = "tiny", pretrain_epochs: int = 30, epochs: int = 12,
                       n_pretrain: int = 1024, n_train: int = 4096, n_test: int = 1024, mode: str = "last-k",
                       trainable_blocks: int = 2, lr: float = 3e-3, batch_size: int = 64, snr_weighted: bool = True,
                       normalize_weights: bool = True, warmup_epochs: int = 1, seed: int = 0, threads: int = 1):
    """Fine-tune the pre-trained WavesFM (last `trainable_blocks` blocks + ViT-block head) and
    train the same network from scratch (ViT-SL, every weight); NMSE vs SNR next to LS and
    genie LMMSE, on OFDM_GRID data (2 antennas x 16 subcarriers x 14 symbols).

    Input: `PilotGrid(ls=True)` of (reference, received) pilots; target: the true channel on
    the (antennas x subcarriers) x 14 grid, one head tile per token. Loss: eq. 21 (SNR-weighted
    MSE), the weights divided by their batch mean when `normalize_weights`
    (`snr_weighted=False`: plain MSE, eq. 19). Both models get the same lr, layer decay 0.75,
    AdamW, weight decay 0.05, cosine schedule with `warmup_epochs` of linear warm-up."""
    with _threads(threads):
        return _channel_estimation(out_dir, size, pretrain_epochs, epochs, n_pretrain, n_train, n_test, mode,
                                   trainable_blocks, lr, batch_size, snr_weighted, normalize_weights,
                                   warmup_epochs, seed)


def _channel_estimation(out_dir, size, pretrain_epochs, epochs, n_pretrain, n_train, n_test, mode,
                        trainable_blocks, lr, batch_size, snr_weighted, normalize_weights, warmup_epochs, seed):
    from zoo_core.data import baselines
    from zoo_core.data.generators import ofdm
    from zoo_core.data.metrics import nmse_db
    from zoo_core.data.plots import plot_nmse_vs_snr

    from .losses import mse, snr_weighted_mse
    from .transforms import PilotGrid

    task = "channel-estimation"
    mae, _, _ = pretrain_mae(size, pretrain_epochs, n_pretrain, seed=seed)
    data = ofdm.generate(n_train + n_test, seed=seed + 7, **OFDM_GRID)
    x, h = ofdm_inputs(data)
    snr = torch.from_numpy(data.extras["snr_db"]).float()
    transform = PilotGrid.fit(x[:n_train], size=SIZES[size]["img_size"], ls=True)
    head = task_heads(size)[task]
    head = {task: {"name": head["name"], "args": {**head["args"], "out_size": list(h.shape[-2:])}}}
    x_te, h_te, snr_te = x[n_train:], h[n_train:], snr[n_train:]
    n_fit = n_train - n_train // 5  # the last fifth of the training samples picks the best epoch
    x_va, h_va = x[n_fit:n_train], h[n_fit:n_train]

    def loss_fn(model, batch):
        xb, sb, hb = batch
        pred = model(xb, task=task)
        return snr_weighted_mse(pred, hb, sb, normalize_weights) if snr_weighted else mse(pred, hb)

    def predict(model, inputs=x_te):
        model.eval()
        with torch.no_grad():
            return torch.cat([model(b, task=task) for (b,) in batches([inputs], 256)])

    def evaluate(model):  # validation only: the test split never chooses an epoch
        return {"nmse_db": float(nmse_db(predict(model, x_va).numpy(), h_va.numpy()).mean_db)}

    histories, preds, learned = {}, {}, {}
    for label, init, m in (("WavesFM (pre-trained)", mae, mode), ("ViT-SL (scratch)", None, "full")):
        torch.manual_seed(seed)
        model = _pretrained_model(size, head, transform, "wavesfm/pilots", init)
        histories[label] = _finetune(model, task, m, (x[:n_fit], snr[:n_fit]), h[:n_fit], loss_fn, evaluate,
                                     "nmse_db", "min", epochs, lr, batch_size, seed, trainable_blocks,
                                     warmup_epochs=warmup_epochs)
        preds[label] = predict(model)
        learned[label] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        if init is not None:
            model.set_weights_source("wzoo:wavesfm/channel-estimation")  # pre-trained, then fine-tuned here
            model.save_pretrained(out_dir / "model", metrics={
                "nmse_db": float(nmse_db(preds[label].numpy(), h_te.numpy()).mean_db)})

    n_sym = data.csi.shape[-1]
    ls_full = baselines.ls(data)[n_train:, :, 0].reshape(n_test, -1, n_sym)
    lmmse_full = baselines.lmmse(data)[n_train:, :, 0].reshape(n_test, -1, n_sym)
    h_c = torch.complex(h_te[:, 0], h_te[:, 1]).numpy()
    estimates = {k: torch.complex(v[:, 0], v[:, 1]).numpy() for k, v in preds.items()}
    estimates.update({"LS": ls_full, "LMMSE (genie)": lmmse_full})
    bins = np.arange(-10, 21, 5)
    snr_np = snr_te.numpy()
    centre = np.clip(np.round(snr_np / 5) * 5, bins[0], bins[-1])
    curves, metrics, rows = {}, {}, {}
    for label, est in estimates.items():
        vals = [float(nmse_db(est[centre == b], h_c[centre == b]).mean_db) for b in bins]
        curves[label] = (bins, vals)
        key = label.split(" ")[0].lower()
        metrics[f"nmse_db_{key}"] = float(nmse_db(est, h_c).mean_db)
        metrics[f"nmse_db_vs_snr_{key}"] = dict(zip([int(b) for b in bins], vals))
        rows[label] = vals + [metrics[f"nmse_db_{key}"]]
    cols = [int(b) for b in bins] + ["all"]
    table = _table({k: v for k, v in rows.items()}, cols, first="NMSE (dB) \\ SNR (dB)")
    metrics["nmse_db_table"] = {"snr_db": cols, **rows}
    metrics["test_samples_per_snr_bin"] = {int(b): int((centre == b).sum()) for b in bins}
    plot_nmse_vs_snr(curves, out_dir / "nmse_vs_snr.png", title="OFDM channel estimation (NMSE vs SNR)")
    _plot_curves(histories, "nmse_db", out_dir / "convergence.png", "validation NMSE (dB)")
    for label, hist in histories.items():
        key = label.split(" ")[0].lower()
        metrics[f"epochs_to_best_{key}"] = hist.best_epoch
        metrics[f"epochs_to_within_0.25db_of_best_{key}"] = _epochs_to_near_best(hist, "nmse_db", 0.25, "min")
        metrics[f"val_best_nmse_db_{key}"] = hist.best_value
        metrics[f"trainable_parameters_{key}"] = learned[label]
        metrics[f"train_loss_first_last_{key}"] = [hist.epochs[0]["train_loss"], hist.epochs[-1]["train_loss"]]
    table += "\n| model | epochs to best | best NMSE (dB) | trainable parameters |\n|---|---|---|---|\n"
    table += "".join(f"| {label} | {h.best_epoch} / {epochs} | {h.best_value:.2f} | {learned[label]:,} |\n"
                     for label, h in histories.items())
    (out_dir / "nmse_vs_snr.md").write_text(table)
    (out_dir / "histories.json").write_text(json.dumps({k: v.epochs for k, v in histories.items()}, indent=1))
    return metrics


def classification(out_dir: Path, size: str = "tiny", pretrain_epochs: int = 30, epochs: int = 30,
                   n_pretrain: int = 1024, n_train: int = 2048, n_test: int = 1024, mode: str = "lora",
                   rank: int = 8, alpha: float = 8.0, lr: float = 1e-3, batch_size: int = 64,
                   warmup_epochs: int = 2, seed: int = 0, threads: int = 1):
    """LOS / NLOS on city CSI: the pre-trained WavesFM fine-tuned in `mode` (default LoRA on
    query and value, backbone frozen) vs the same network trained from scratch (ViT-SL).

    Both get the paper's Table II fine-tuning settings scaled to a CPU run: AdamW, lr 1e-3,
    weight decay 0.05, layer decay 0.75, cosine with linear warm-up (paper 10 of 200 epochs;
    here `warmup_epochs` of `epochs`), weighted cross-entropy (eq. 18). LoRA: the paper's best
    α = 8; rank 8 keeps the paper's rank-to-width ratio (R = 50 of D = 512) on the tiny
    model's D = 64 (rank=50 runs too)."""
    with _threads(threads):
        return _classification(out_dir, size, pretrain_epochs, epochs, n_pretrain, n_train, n_test, mode, rank,
                               alpha, lr, batch_size, warmup_epochs, seed)


def _classification(out_dir, size, pretrain_epochs, epochs, n_pretrain, n_train, n_test, mode, rank, alpha, lr,
                    batch_size, warmup_epochs, seed):
    from zoo_core.data.generators import city
    from zoo_core.data.metrics import confusion_matrix, mean_class_accuracy
    from zoo_core.data.plots import plot_confusion_matrix

    from .losses import class_weights, weighted_ce
    from .transforms import WirelessImage

    task = "los"
    mae, _, _ = pretrain_mae(size, pretrain_epochs, n_pretrain, seed=seed)
    x, y = city_inputs(city.generate(n_train + n_test, seed=seed + 9))
    transform = WirelessImage.fit(x[:n_train], log=True, size=SIZES[size]["img_size"])
    beta = class_weights(y[:n_train - n_train // 5], 2)
    heads = {task: {"name": "linear", "args": {"num_outputs": 2}}}
    x_te, y_te = x[n_train:], y[n_train:]
    n_fit = n_train - n_train // 5  # the last fifth of the training samples picks the best epoch
    x_va, y_va = x[n_fit:n_train], y[n_fit:n_train]

    def loss_fn(model, batch):
        xb, yb = batch
        return weighted_ce(model(xb, task=task), yb, beta)

    def predict(model, inputs=x_te):
        model.eval()
        with torch.no_grad():
            return torch.cat([model(b, task=task) for (b,) in batches([inputs], 256)]).argmax(1)

    def evaluate(model):  # validation only: the test split never chooses an epoch
        return {"mean_class_accuracy": float(mean_class_accuracy(predict(model, x_va).numpy(), y_va.numpy(), 2))}

    histories, metrics = {}, {"test_samples_per_class": {"NLOS": int((y_te == 0).sum()), "LOS": int((y_te == 1).sum())},
                              "lora": {"rank": rank, "alpha": alpha} if mode == "lora" else None}
    for label, init, m in (("WavesFM (pre-trained)", mae, mode), ("ViT-SL (scratch)", None, "full")):
        torch.manual_seed(seed)
        model = _pretrained_model(size, heads, transform, "wavesfm/image", init)
        hist = _finetune(model, task, m, (x[:n_fit],), y[:n_fit], loss_fn, evaluate, "mean_class_accuracy",
                         "max", epochs, lr, batch_size, seed, rank=rank, alpha=alpha, warmup_epochs=warmup_epochs)
        histories[label] = hist
        key = label.split(" ")[0].lower()
        pred = predict(model).numpy()
        cm = confusion_matrix(pred, y_te.numpy(), 2)
        metrics[f"mean_class_accuracy_{key}"] = float(mean_class_accuracy(pred, y_te.numpy(), 2))
        metrics[f"per_class_accuracy_{key}"] = {c: float(cm[i, i] / max(cm[i].sum(), 1))
                                                for i, c in enumerate(("NLOS", "LOS"))}
        metrics[f"val_best_mean_class_accuracy_{key}"] = hist.best_value
        metrics[f"epochs_to_best_{key}"] = hist.best_epoch
        metrics[f"epochs_to_within_1pt_of_best_{key}"] = _epochs_to_near_best(hist, "mean_class_accuracy", 0.01, "max")
        metrics[f"trainable_parameters_{key}"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        plot_confusion_matrix(cm, ["NLOS", "LOS"], out_dir / f"confusion_{key}.png", title=label)
        if init is not None:
            model.set_weights_source("wzoo:wavesfm/classification")  # pre-trained, then fine-tuned here
            model.save_pretrained(out_dir / "model",
                                  metrics={"mean_class_accuracy": metrics[f"mean_class_accuracy_{key}"]})
    _plot_curves(histories, "mean_class_accuracy", out_dir / "convergence.png", "validation mean per-class accuracy")
    rows = "| model | mean per-class acc. (last) | best | epochs to best | epochs to within 1 pt | trainable params |\n"
    rows += "|---|---|---|---|---|---|\n"
    for label, hist in histories.items():
        key = label.split(" ")[0].lower()
        rows += (f"| {label} | {metrics[f'mean_class_accuracy_{key}']:.3f} | {hist.best_value:.3f} | "
                 f"{hist.best_epoch} / {epochs} | {metrics[f'epochs_to_within_1pt_of_best_{key}']} | "
                 f"{metrics[f'trainable_parameters_{key}']:,} |\n")
    (out_dir / "accuracy.md").write_text(rows)
    (out_dir / "histories.json").write_text(json.dumps({k: v.epochs for k, v in histories.items()}, indent=1))
    return metrics
