"""`wzoo run wavesfm/...`: pre-train, fine-tune, compare with ViT-SL (same net from scratch).

Data are the core's built-in generators, so every recipe runs offline in minutes on a CPU:
pre-training mixes 4-channel OFDM pilot grids and 1-channel city CSI magnitude images
(one patch embedding per channel count, shared transformer); channel estimation uses the
OFDM pilot generator (NMSE vs SNR next to LS and LMMSE, the paper's Fig. 6d); the
classification task is LOS / NLOS on city CSI (mean per-class accuracy).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from zoo_core.train import TrainConfig, batches, fit

from .plugin import MODEL_NAMES, SIZES, task_heads

DECODERS = {
    "tiny": dict(decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=4, decoder_mlp_dim=256),
    "small": dict(decoder_embed_dim=128, decoder_depth=4, decoder_num_heads=8, decoder_mlp_dim=512),
    "paper": dict(decoder_embed_dim=256, decoder_depth=8, decoder_num_heads=16, decoder_mlp_dim=1024),
}


# ------------------------------------------------------------------------- data
def ofdm_inputs(data):
    """(pilots complex (N, 2, n_rx*n_sc, P) [reference, received], channel real (N, 2, n_rx*n_sc, 14))."""
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

    x_ofdm, _ = ofdm_inputs(ofdm.generate(n, seed=seed + 101, n_rx=4, n_sc=24))
    x_city, _ = city_inputs(city.generate(n, seed=seed + 202))
    t_ofdm, t_city = PilotGrid.fit(x_ofdm, size=img), WirelessImage.fit(x_city, log=True, size=img)
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
    from .vit import ViTEncoder

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
             lr: float = 1e-3, seed: int = 0):
    from zoo_core import create_model

    from .mae import plot_reconstruction

    mae, history, data = pretrain_mae(size, epochs, n_samples, batch_size, lr, seed=seed)
    plot_reconstruction(mae, data[0][:4], out_dir / "reconstruction_pilots.png", seed=seed)
    plot_reconstruction(mae, data[-1][:4], out_dir / "reconstruction_city.png", seed=seed)
    model = create_model(MODEL_NAMES[size], heads={})
    model.backbone.load_state_dict(mae.encoder.state_dict())
    metrics = {"mwm_loss_first": history.epochs[0]["train_loss"], "mwm_loss_last": history.epochs[-1]["train_loss"],
               "epochs": epochs}
    model.save_pretrained(out_dir / "model", metrics=metrics)
    return metrics


# ------------------------------------------------------------------- fine-tuning
def _finetune(model, task, mode, x_tr, y_tr, loss_fn, evaluate, monitor, monitor_mode, epochs, lr, batch_size,
              seed, trainable_blocks=2, rank=8, alpha=1.0, layer_decay=0.75):
    from torch.utils.data import TensorDataset

    from .finetune import layer_decay_param_groups, prepare

    prepare(model, task, mode, trainable_blocks=trainable_blocks, rank=rank, alpha=alpha)
    groups = layer_decay_param_groups(model, lr, weight_decay=0.05, layer_decay=layer_decay)
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adamw", weight_decay=0.05, schedule="cosine",
                      warmup_epochs=max(1, epochs // 20), batch_size=batch_size, seed=seed,
                      monitor=monitor, monitor_mode=monitor_mode)
    return fit(model, TensorDataset(*x_tr, y_tr), loss_fn, cfg, evaluate=evaluate, param_groups=groups)


def _pretrained_model(size, heads, transform, transform_name, mae=None):
    """A registered model with our heads and fitted transform (and pre-trained encoder)."""
    from zoo_core import create_model

    model = create_model(MODEL_NAMES[size], heads=heads)
    model.transform = transform  # registered models carry wavesfm/image; swap in the fitted one
    model.config["transform"] = {"name": transform_name, "config": transform.config}
    if mae is not None:
        model.backbone.load_state_dict(mae.encoder.state_dict())
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


def channel_estimation(out_dir: Path, size: str = "tiny", pretrain_epochs: int = 10, epochs: int = 10,
                       n_pretrain: int = 1024, n_train: int = 2048, n_test: int = 1024, mode: str = "last-k",
                       trainable_blocks: int = 2, lr: float = 1e-3, batch_size: int = 64, snr_weighted: bool = True,
                       seed: int = 0):
    from zoo_core.data import baselines
    from zoo_core.data.generators import ofdm
    from zoo_core.data.metrics import nmse_db
    from zoo_core.data.plots import plot_nmse_vs_snr

    from .losses import mse, snr_weighted_mse
    from .transforms import PilotGrid

    task = "channel-estimation"
    mae, _, _ = pretrain_mae(size, pretrain_epochs, n_pretrain, seed=seed)
    data = ofdm.generate(n_train + n_test, seed=seed + 7, n_rx=4, n_sc=24)
    x, h = ofdm_inputs(data)
    snr = torch.from_numpy(data.extras["snr_db"]).float()
    transform = PilotGrid.fit(x[:n_train], size=SIZES[size]["img_size"])
    head = task_heads(size)[task]
    head = {task: {"name": head["name"], "args": {**head["args"], "out_size": list(h.shape[-2:])}}}
    x_te, h_te, snr_te = x[n_train:], h[n_train:], snr[n_train:]

    def loss_fn(model, batch):
        xb, sb, hb = batch
        pred = model(xb, task=task)
        return snr_weighted_mse(pred, hb, sb) if snr_weighted else mse(pred, hb)

    def predict(model):
        model.eval()
        with torch.no_grad():
            return torch.cat([model(b, task=task) for (b,) in batches([x_te], 256)])

    def evaluate(model):
        return {"nmse_db": float(nmse_db(predict(model).numpy(), h_te.numpy()).mean_db)}

    histories, preds = {}, {}
    for label, init, m in (("WavesFM (pre-trained)", mae, mode), ("ViT-SL (scratch)", None, "full")):
        torch.manual_seed(seed)
        model = _pretrained_model(size, head, transform, "wavesfm/pilots", init)
        histories[label] = _finetune(model, task, m, (x[:n_train], snr[:n_train]), h[:n_train], loss_fn, evaluate,
                                     "nmse_db", "min", epochs, lr, batch_size, seed, trainable_blocks)
        preds[label] = predict(model)
        if init is not None:
            model.save_pretrained(out_dir / "model", metrics={"nmse_db": evaluate(model)["nmse_db"]})

    ls_full = baselines.ls(data)[n_train:, :, 0].reshape(n_test, -1, data.csi.shape[-1])
    lmmse_full = baselines.lmmse(data)[n_train:, :, 0].reshape(n_test, -1, data.csi.shape[-1])
    h_c = torch.complex(h_te[:, 0], h_te[:, 1]).numpy()
    estimates = {k: torch.complex(v[:, 0], v[:, 1]).numpy() for k, v in preds.items()}
    estimates.update({"LS": ls_full, "LMMSE (genie)": lmmse_full})
    bins = np.arange(-10, 21, 5)
    snr_np = snr_te.numpy()
    centre = np.clip(np.round(snr_np / 5) * 5, bins[0], bins[-1])
    curves, metrics = {}, {}
    for label, est in estimates.items():
        vals = [float(nmse_db(est[centre == b], h_c[centre == b]).mean_db) for b in bins]
        curves[label] = (bins, vals)
        key = label.split(" ")[0].lower()
        metrics[f"nmse_db_{key}"] = float(nmse_db(est, h_c).mean_db)
        metrics[f"nmse_db_vs_snr_{key}"] = dict(zip([int(b) for b in bins], vals))
    plot_nmse_vs_snr(curves, out_dir / "nmse_vs_snr.png", title="OFDM channel estimation (NMSE vs SNR)")
    _plot_curves(histories, "nmse_db", out_dir / "convergence.png", "test NMSE (dB)")
    for label, hist in histories.items():
        key = label.split(" ")[0].lower()
        metrics[f"epochs_to_best_{key}"] = hist.best_epoch
        metrics[f"best_nmse_db_{key}"] = hist.best_value
    (out_dir / "histories.json").write_text(json.dumps({k: v.epochs for k, v in histories.items()}, indent=1))
    return metrics


def classification(out_dir: Path, size: str = "tiny", pretrain_epochs: int = 10, epochs: int = 10,
                   n_pretrain: int = 1024, n_train: int = 2048, n_test: int = 1024, mode: str = "lora",
                   rank: int = 8, alpha: float = 1.0, lr: float = 1e-3, batch_size: int = 64, seed: int = 0):
    from zoo_core.data.generators import city
    from zoo_core.data.metrics import confusion_matrix, mean_class_accuracy
    from zoo_core.data.plots import plot_confusion_matrix

    from .losses import class_weights, weighted_ce
    from .transforms import WirelessImage

    task = "los"
    mae, _, _ = pretrain_mae(size, pretrain_epochs, n_pretrain, seed=seed)
    x, y = city_inputs(city.generate(n_train + n_test, seed=seed + 9))
    transform = WirelessImage.fit(x[:n_train], log=True, size=SIZES[size]["img_size"])
    beta = class_weights(y[:n_train], 2)
    heads = {task: {"name": "linear", "args": {"num_outputs": 2}}}
    x_te, y_te = x[n_train:], y[n_train:]

    def loss_fn(model, batch):
        xb, yb = batch
        return weighted_ce(model(xb, task=task), yb, beta)

    def predict(model):
        model.eval()
        with torch.no_grad():
            return torch.cat([model(b, task=task) for (b,) in batches([x_te], 256)]).argmax(1)

    def evaluate(model):
        return {"mean_class_accuracy": float(mean_class_accuracy(predict(model).numpy(), y_te.numpy(), 2))}

    histories, metrics = {}, {}
    for label, init, m in (("WavesFM (pre-trained)", mae, mode), ("ViT-SL (scratch)", None, "full")):
        torch.manual_seed(seed)
        model = _pretrained_model(size, heads, transform, "wavesfm/image", init)
        hist = _finetune(model, task, m, (x[:n_train],), y[:n_train], loss_fn, evaluate, "mean_class_accuracy",
                         "max", epochs, lr, batch_size, seed, rank=rank, alpha=alpha)
        histories[label] = hist
        key = label.split(" ")[0].lower()
        pred = predict(model).numpy()
        metrics[f"mean_class_accuracy_{key}"] = float(mean_class_accuracy(pred, y_te.numpy(), 2))
        metrics[f"best_mean_class_accuracy_{key}"] = hist.best_value
        metrics[f"epochs_to_best_{key}"] = hist.best_epoch
        metrics[f"trainable_parameters_{key}"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        plot_confusion_matrix(confusion_matrix(pred, y_te.numpy(), 2), ["NLOS", "LOS"],
                              out_dir / f"confusion_{key}.png", title=label)
        if init is not None:
            model.save_pretrained(out_dir / "model", metrics={"mean_class_accuracy": metrics[f"mean_class_accuracy_{key}"]})
    _plot_curves(histories, "mean_class_accuracy", out_dir / "convergence.png", "test mean per-class accuracy")
    return metrics
