"""`wzoo run lvm4csi/...` recipes: the paper's three case studies on built-in or user data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .errors import DetectorUnavailable


def _say(progress: bool, message: str) -> None:
    if progress:
        from tqdm.auto import tqdm

        tqdm.write(f"[lvm4csi] {message}")


def _pinned(revision: str | None) -> dict:
    """Backbone argument pinning timm's Hub weights; nothing (config unchanged) when unpinned."""
    return {"revision": revision} if revision else {}


def _detector(name: str, revision: str | None = None, **kwargs):
    from .detection import PeakDetector

    if name == "peak":
        return PeakDetector(**kwargs)
    if name in ("owlv2", "grounding-dino"):
        from .hf_detector import ZeroShotDetector

        return ZeroShotDetector.from_pretrained(kind=name, revision=revision, **kwargs)
    raise DetectorUnavailable(f"unknown detector {name!r}; use 'peak', 'owlv2' or 'grounding-dino'")


def _plot_nmse_vs_paths(rows, path: Path, title: str) -> Path:
    """NMSE vs the number of paths, one line per method. zoo_core.data.plots has no plot with
    L on the x axis, so it is drawn here the same way (a Figure on an Agg canvas, no pyplot,
    the process-wide matplotlib backend untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.2), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    rows = sorted(rows, key=lambda x: x["L"])
    for key, label, marker in (("lvm4csi_db", "LVM4CSI", "o"), ("ls_db", "LS", "s"), ("lmmse_db", "LMMSE", "D")):
        ax.plot([x["L"] for x in rows], [x[key] for x in rows], marker=marker, label=label)
    ax.set_xlabel("number of paths L")
    ax.set_ylabel("NMSE (dB)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(path, format="png", dpi=110)
    return path


def channel_estimation(out_dir: Path, paths=(2, 4, 6, 8, 10), snrs=(0, 2, 4, 6, 8, 10), samples: int = 50,
                       detector: str = "peak", detector_revision: str | None = None, seed: int = 0,
                       progress: bool = True):
    """Paper Fig. 8: NMSE vs SNR (per L) and NMSE vs L at the lowest SNR, against LS and LMMSE.

    `detector_revision`: Hub commit sha of a transformers detector's weights (pin it)."""
    from zoo_core.data.plots import plot_nmse_vs_snr

    from .estimation import nmse_table

    table = nmse_table(paths, snrs, samples, _detector(detector, detector_revision), seed=seed, progress=progress)
    rows = table["rows"]
    (out_dir / "nmse_table.json").write_text(json.dumps(rows, indent=1))
    curves = {}
    for L in paths:
        r = [x for x in rows if x["L"] == L]
        curves[f"LVM4CSI ({detector}), L={L}"] = ([x["snr_db"] for x in r], [x["lvm4csi_db"] for x in r])
    lmax = [x for x in rows if x["L"] == max(paths)]
    curves[f"LS, L={max(paths)}"] = ([x["snr_db"] for x in lmax], [x["ls_db"] for x in lmax])
    curves[f"LMMSE, L={max(paths)}"] = ([x["snr_db"] for x in lmax], [x["lmmse_db"] for x in lmax])
    plot_nmse_vs_snr(curves, out_dir / "nmse_vs_snr.png", title="Channel estimation, M = N = 64 (paper Fig. 8a)")

    low = min(snrs)
    at = [x for x in rows if x["snr_db"] == float(low)]
    _plot_nmse_vs_paths(at, out_dir / "nmse_vs_paths.png", f"NMSE vs L at {low} dB SNR (paper Fig. 8b)")

    gaps = {f"gain_over_lmmse_db_L{x['L']}_snr{x['snr_db']:g}": x["lmmse_db"] - x["lvm4csi_db"] for x in rows}
    metrics = {
        "nmse_db_lvm4csi_mean": float(np.mean([x["lvm4csi_db"] for x in rows])),
        "min_gain_over_lmmse_db_at_lowest_snr": float(min(x["lmmse_db"] - x["lvm4csi_db"] for x in at)),
        "latency_ms_per_sample": float(np.mean([x["latency_ms"] for x in rows])),
        "detector": detector,
        **gaps,
    }
    return metrics


# ---------------------------------------------------------------------------- localization
def _city_localization_data(samples: int, seed: int, snr_db: float):
    """One city area, one BS, `samples` UEs with a path (outage dropped); noise at `snr_db`
    relative to each sample's mean channel power. Returns (csi (n, M, N) complex64, xy (n, 2))."""
    from zoo_core.data.generators import city

    data = city.generate(int(samples * 2.5), seed=seed, n_bs=1, n_ue=int(samples * 2.5), keep_outage=True)
    h = data.csi[:, 0, :, :, 0]
    power = (np.abs(h) ** 2).mean((1, 2))
    keep = np.flatnonzero(power > 0)[:samples]
    h, power = h[keep], power[keep]
    rng = np.random.default_rng(seed + 1)
    w = (rng.standard_normal(h.shape) + 1j * rng.standard_normal(h.shape)) / np.sqrt(2)
    h = h + np.sqrt(power * 10 ** (-snr_db / 10))[:, None, None] * w
    return h.astype(np.complex64), data.labels["position"][keep, :2].astype(np.float32)


def localization(out_dir: Path, arch: str = "efficientnet-lite0", pretrained: bool = True, samples: int = 600,
                 snr_db: float = 10.0, epochs: int = 400, bench_epochs: int = 60, batch_size: int = 200,
                 lr: float = 1e-3, bf16: bool = False, cache_dir: str | None = None, seed: int = 0,
                 image_size: int = 224, revision: str | None = None, progress: bool = True):
    """Paper Sec. V-C3 on a built-in city scene: frozen LVM + power branch + 32-16-2 head on cached
    features, against NoFeatExt-CSI and ConvFeatExt-CSI trained end to end. Error CDF plot.
    `revision`: Hub commit sha of timm's pretrained weights (pin it; see towers)."""
    import torch

    import zoo_core
    from zoo_core.data import random_split
    from zoo_core.data.metrics import position_errors, positioning_errors
    from zoo_core.data.plots import plot_error_cdf
    from zoo_core.train import TrainConfig, fit

    from zoo_core.fields import power_db

    from .cache import FeatureCache
    from .losses import localization_loss
    from .training import train_head

    torch.manual_seed(seed)
    csi, xy = _city_localization_data(samples, seed, snr_db)
    tr, te = random_split(len(csi), [0.8, 0.2], seed=seed)
    x, y = torch.from_numpy(csi), torch.from_numpy(xy)
    p_db = power_db(x)  # the batch field the localization head reads
    m, n = csi.shape[1:]
    power = {"power_offset_db": float(p_db[tr].mean()), "power_scale_db": float(p_db[tr].std().clamp_min(1e-3))}
    lo, hi = y[tr].min(0).values - 1.0, y[tr].max(0).values + 1.0
    heads = {"positioning": {"name": "lvm4csi/localization",
                             "args": {"bounds": [lo.tolist(), hi.tolist()], "power": "field", **power}}}

    # LVM4CSI: frozen features once (cached), then the head on the cache
    lvm = zoo_core.create_model(
        "lvm4csi/loc-efficientnet-lite0", arch=arch, pretrained=pretrained, missing_weights="random",
        **_pinned(revision), heads=heads,
        transform_config={"size": image_size, "angular_delay": True, "beta": 4, "gamma": 4, "power_plane": False})
    cache = FeatureCache(cache_dir or out_dir / "feature_cache")
    got = cache.features(lvm, x, batch_size=32, bf16=bf16, progress=progress)
    head = lvm.heads["positioning"]
    t0 = time.perf_counter()
    _say(progress, f"training the localization head on cached features ({epochs} epochs)")
    train_head(head, got.features[tr], y[tr], localization_loss, epochs, batch_size, lr, seed, progress=False,
               extra=(p_db[tr],))
    head_seconds = time.perf_counter() - t0
    with torch.no_grad():
        pred = {"LVM4CSI": head(got.features[te], p_db[te])}

    # paper benchmarks, trained end to end on the 2-channel real/imag input (no upsampling)
    bench_t = {"size": None, "angular_delay": False, "power_plane": False}
    trainable = {"LVM4CSI": sum(p.numel() for p in head.parameters())}
    for label, name, args in (("NoFeatExt-CSI", "lvm4csi/loc-nofeatext-csi", {"m": m, "n": n}),
                              ("ConvFeatExt-CSI", "lvm4csi/loc-convfeatext-csi", {})):
        net = zoo_core.create_model(name, heads=heads, transform_config=bench_t, **args)
        trainable[label] = sum(p.numel() for p in net.parameters() if p.requires_grad)
        inputs = net.transform(x)  # cheap and deterministic: once, not per epoch
        data = torch.utils.data.TensorDataset(inputs[tr], p_db[tr], y[tr])

        def loss(model, batch):
            images, p, target = batch
            feats = model.forward_features(images, transform=False)
            return localization_loss(model.heads["positioning"], feats, p, target)

        _say(progress, f"training benchmark {label} end to end ({bench_epochs} epochs)")
        fit(net, data, loss, TrainConfig(epochs=bench_epochs, batch_size=batch_size, lr=lr, optimizer="adam",
                                         seed=seed, progress=False))
        with torch.no_grad():
            pred[label] = net({"csi": inputs[te], "power_db": p_db[te]}, transform=False)

    truth = y[te].numpy()
    errors = {k: position_errors(v.numpy(), truth) for k, v in pred.items()}
    plot_error_cdf(errors, out_dir / "error_cdf.png", title=f"Localization error CDF, city scene, {snr_db:g} dB SNR")
    metrics = {"weights": lvm.config.encoder("csi").weights, "arch": arch, "feature_cache_hit": got.hit,
               "feature_seconds": got.seconds, "head_train_seconds": head_seconds,
               "train_samples": len(tr), "test_samples": len(te)}
    for k, v in pred.items():
        tag = k.lower().replace("-", "_")
        for key, val in positioning_errors(v.numpy(), truth).items():
            metrics[f"{tag}_{key}"] = val
        metrics[f"{tag}_trainable_parameters"] = trainable[k]
    lvm.save_pretrained(out_dir / "model", metrics={k: v for k, v in metrics.items() if k.startswith("lvm4csi_")})
    return metrics


# ---------------------------------------------------------------------------- HAR
def _har_data(data, samples: int, seed: int):
    """(x_train, y_train, x_test, y_test, class names): UT-HAR from a folder, or built-in."""
    if data:
        from zoo_core.data.loaders.ut_har import CLASS_NAMES, load_ut_har

        def split(name):
            d = load_ut_har(data, name)
            amp = np.abs(d.csi[:, :, 0]).transpose(0, 3, 1, 2)  # (n, T, M, N)
            return amp.astype(np.float32), d.labels["activity"]

        (xa, ya), (xb, yb) = split("train"), split("test")
        return xa, ya, xb, yb, list(CLASS_NAMES)
    from .har_data import CLASS_NAMES, synthetic_har

    x, y = synthetic_har(samples, seed=seed)
    cut = int(0.8 * samples)
    return x[:cut], y[:cut], x[cut:], y[cut:], list(CLASS_NAMES)


def har(out_dir: Path, arch: str = "efficientnet-lite0", pretrained: bool = True, data: str | None = None,
        samples: int = 700, epochs: int = 300, batch_size: int = 200, lr: float = 1e-3,
        scratch: bool = True, scratch_epochs: int = 4, scratch_size: int = 64, bf16: bool = False,
        cache_dir: str | None = None, seed: int = 0, image_size: int = 224, revision: str | None = None,
        progress: bool = True):
    """Paper Sec. V-C2: frozen LVM features + one dense softmax layer, against the same network
    trained from scratch (`scratch_size` images, `scratch_epochs`, to fit a CPU budget).
    `data` = a UT-HAR folder; without it, built-in synthetic activities. `revision`: Hub commit
    sha of timm's pretrained weights (pin it; see towers)."""
    import torch

    import zoo_core
    from zoo_core.data.metrics import accuracy, confusion_matrix, mean_class_accuracy
    from zoo_core.data.plots import plot_confusion_matrix
    from zoo_core.train import TrainConfig, fit

    from .cache import FeatureCache
    from .losses import classification_loss
    from .training import train_head

    torch.manual_seed(seed)
    xa, ya, xb, yb, names = _har_data(data, samples, seed)
    xa, ya, xb, yb = map(torch.from_numpy, (xa, ya, xb, yb))
    heads = {"activity": {"name": "lvm4csi/dense-softmax", "args": {"num_classes": len(names)}}}
    model = zoo_core.create_model("lvm4csi/har-efficientnet-lite0", arch=arch, pretrained=pretrained,
                                  missing_weights="random", **_pinned(revision), heads=heads,
                                  transform_config={"size": image_size, "colormap": "jet"})
    cache = FeatureCache(cache_dir or out_dir / "feature_cache")
    fa = cache.features(model, xa, batch_size=32, bf16=bf16, progress=progress)
    fb = cache.features(model, xb, batch_size=32, bf16=bf16, progress=progress)
    head = model.heads["activity"]
    t0 = time.perf_counter()
    _say(progress, f"training the dense softmax head on cached features ({epochs} epochs)")
    train_head(head, fa.features, ya, classification_loss, epochs, batch_size, lr, seed, progress=False)
    head_seconds = time.perf_counter() - t0
    with torch.no_grad():
        pred = head(fb.features).argmax(-1).numpy()
    metrics = {"weights": model.config.encoder("csi").weights, "arch": arch, "head_train_seconds": head_seconds,
               "lvm4csi_accuracy": accuracy(pred, yb.numpy()),
               "lvm4csi_mean_class_accuracy": mean_class_accuracy(pred, yb.numpy(), len(names)),
               "lvm4csi_trainable_parameters": sum(p.numel() for p in head.parameters()),
               "data": data or "built-in synthetic"}
    plot_confusion_matrix(confusion_matrix(pred, yb.numpy(), len(names)), names, out_dir / "confusion_lvm4csi.png",
                          title=f"HAR, frozen {arch} + dense softmax")

    if scratch:  # the same architecture, every weight trainable, from random init
        net = zoo_core.create_model("lvm4csi/har-efficientnet-lite0", arch=arch, frozen=False, heads=heads,
                                    transform_config={"size": scratch_size, "colormap": "jet"})
        ia, ib = net.transform(xa), net.transform(xb)
        _say(progress, f"training {arch} from scratch ({scratch_epochs} epochs, {scratch_size}px)")
        fit(net, torch.utils.data.TensorDataset(ia, ya),
            lambda mdl, b: torch.nn.functional.cross_entropy(mdl(b[0], transform=False), b[1]),
            TrainConfig(epochs=scratch_epochs, batch_size=32, lr=lr, optimizer="adam", seed=seed, progress=progress))
        with torch.no_grad():
            sp = torch.cat([net(ib[i:i + 64], transform=False) for i in range(0, len(ib), 64)]).argmax(-1).numpy()
        metrics.update({"scratch_accuracy": accuracy(sp, yb.numpy()),
                        "scratch_mean_class_accuracy": mean_class_accuracy(sp, yb.numpy(), len(names)),
                        "scratch_trainable_parameters": sum(p.numel() for p in net.parameters() if p.requires_grad),
                        "scratch_epochs": scratch_epochs, "scratch_image_size": scratch_size})
    model.save_pretrained(out_dir / "model", metrics={k: v for k, v in metrics.items() if k.startswith("lvm4csi_")})
    return metrics

