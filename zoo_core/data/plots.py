"""The standard figures of the shared tasks, written as PNG files.

Each function draws on its own `matplotlib.figure.Figure` with an Agg canvas, writes a PNG
and returns its path. pyplot is never imported, so nothing here changes the process-wide
backend or leaks figures in a notebook, a test session or a training loop of someone else.

Figures follow the papers: NMSE vs SNR curves (LVM4CSI Fig. 8), confusion matrices (WavesFM
Fig. 6, 9), error CDFs with the CDF90 line (two-tower Fig. 10-12), similarity matrices
(two-tower Fig. 5), and scene views (buildings, BS, UEs coloured by LOS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import _as_numpy

__all__ = [
    "plot_nmse_vs_snr", "plot_confusion_matrix", "plot_error_cdf", "plot_similarity",
    "plot_csi_grid", "plot_scene", "plot_training_curves",
]

_DPI = 110


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=_DPI)
    return path


def _array(x: Any, name: str) -> np.ndarray:
    arr = _as_numpy(x, name)
    if arr.size == 0:
        raise ValueError(f"{name}: nothing to plot (empty array)")
    return arr


def plot_nmse_vs_snr(
    curves: Mapping[str, tuple[Any, Any]], path, title: str = "NMSE vs SNR"
) -> Path:
    """One line per method: `curves[label] = (snr_db, nmse_db)`, equal-length 1-D arrays."""
    if not curves:
        raise ValueError("plot_nmse_vs_snr: no curves given")
    fig, ax = _figure(6.0, 4.2)
    ax = ax[0, 0]
    markers = "osD^v<>ph*"
    for i, (label, (snr, nmse)) in enumerate(curves.items()):
        snr, nmse = _array(snr, f"{label} snr").ravel(), _array(nmse, f"{label} nmse").ravel()
        if snr.shape != nmse.shape:
            raise ValueError(f"curve {label!r}: {snr.size} SNR values but {nmse.size} NMSE values")
        order = np.argsort(snr)
        ax.plot(snr[order], nmse[order], marker=markers[i % len(markers)], label=str(label))
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("NMSE (dB)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_confusion_matrix(
    cm: Any, class_names: Sequence[str] | None, path, title: str | None = None,
    normalize: bool = True,
) -> Path:
    """Rows = true class, columns = predicted. Colour is the row-normalised rate when
    `normalize` (so imbalanced classes read alike); cells show counts when they fit."""
    cm = _array(cm, "cm").astype(np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square (K, K), got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for a {k}x{k} confusion matrix")
    rows = cm.sum(axis=1, keepdims=True)
    shown = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0) if normalize else cm
    size = min(3.0 + 0.45 * k, 14.0)
    fig, ax = _figure(size + 1.2, size)
    ax = ax[0, 0]
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.diag(cm) / rows[:, 0]
        present = rows[:, 0] > 0
        title = f"mean per-class accuracy {100 * np.mean(recall[present]):.1f} %" if present.any() else ""
    ax.set_title(title)
    if k <= 20:
        hi = shown.max() if shown.max() > 0 else 1.0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] > 0.6 * hi else "black")
    return _save(fig, path)


def plot_error_cdf(
    errors: Mapping[str, Any], path, title: str = "Positioning error CDF", unit: str = "m"
) -> Path:
    """Empirical CDF per method, with the CDF90 level marked and quoted in the legend."""
    if not errors:
        raise ValueError("plot_error_cdf: no error arrays given")
    fig, ax = _figure(6.0, 4.2)
    ax = ax[0, 0]
    for label, err in errors.items():
        e = np.sort(_array(err, f"{label} errors").astype(np.float64).ravel())
        if not np.isfinite(e).all():
            raise ValueError(f"errors {label!r}: contains NaN or infinite values")
        cdf = np.arange(1, e.size + 1) / e.size
        p90 = float(np.quantile(e, 0.9))
        ax.step(e, cdf, where="post", label=f"{label} (mean {e.mean():.2f} {unit}, CDF90 {p90:.2f} {unit})")
    ax.axhline(0.9, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel(f"error ({unit})")
    ax.set_ylabel("CDF")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_similarity(
    matrix: Any, path, title: str = "Similarity", xlabel: str = "channel sample",
    ylabel: str = "environment sample",
) -> Path:
    """Heat map of a (rows, cols) similarity matrix, e.g. cosine similarities of paired
    embeddings: a bright diagonal means matched pairs are found."""
    m = _array(matrix, "matrix")
    if m.ndim != 2:
        raise ValueError(f"similarity matrix must be 2-D, got shape {m.shape}")
    if m.dtype.kind == "c":
        m = np.abs(m)
    fig, ax = _figure(5.6, 4.8)
    ax = ax[0, 0]
    im = ax.imshow(m.astype(np.float64), cmap="viridis", aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.85)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, path)


def plot_csi_grid(images: Any, path, titles: Sequence[str] | None = None, title: str | None = None) -> Path:
    """A grid of images: (K, H, W) real or complex arrays are shown as magnitude, (K, H, W, 3)
    or (K, H, W, 4) as RGB(A) in [0, 1] or uint8. A list of such arrays works too."""
    if isinstance(images, (list, tuple)):
        items = [_array(im, f"image {i}") for i, im in enumerate(images)]
    else:
        arr = _array(images, "images")
        if arr.ndim == 2:
            arr = arr[None]
        items = list(arr)
    if not items:
        raise ValueError("plot_csi_grid: no images given")
    if titles is not None and len(titles) != len(items):
        raise ValueError(f"{len(titles)} titles for {len(items)} images")
    k = len(items)
    ncols = min(k, math.ceil(math.sqrt(k)))
    nrows = math.ceil(k / ncols)
    fig, axes = _figure(2.6 * ncols + 0.4, 2.4 * nrows + (0.4 if title else 0.0), ncols, nrows)
    for idx, ax in enumerate(axes.ravel()):
        if idx >= k:
            ax.set_axis_off()
            continue
        im = items[idx]
        if im.ndim == 3 and im.shape[-1] in (3, 4) and im.dtype.kind != "c":
            ax.imshow(im if im.dtype == np.uint8 else np.clip(im.astype(np.float64), 0, 1))
        elif im.ndim == 2:
            mag = np.abs(im).astype(np.float64)
            shown = ax.imshow(mag, cmap="viridis", aspect="auto", interpolation="nearest")
            fig.colorbar(shown, ax=ax, shrink=0.8)
        else:
            raise ValueError(
                f"image {idx}: expected (H, W) or (H, W, 3|4), got shape {im.shape}"
            )
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(str(titles[idx]), fontsize=9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_scene(
    env_map: Any, bs_pos: Any, ue_pos: Any, los: Any, map_scale: float, path,
    title: str = "Scene",
) -> Path:
    """Top view of one scene: buildings (non-zero cells of `env_map`, rows = y, columns = x,
    row 0 at y = 0), base stations as triangles and UEs coloured by LOS (green) / NLOS
    (red). `map_scale` is metres per map cell, so positions (x, y[, z]) in metres line up."""
    grid = _array(env_map, "env_map")
    if grid.ndim == 3 and grid.shape[-1] in (3, 4):
        grid = grid[..., :3].mean(axis=-1)
    if grid.ndim != 2:
        raise ValueError(f"env_map must be 2-D (H, W), got shape {grid.shape}")
    if not (isinstance(map_scale, (int, float, np.number)) and map_scale > 0):
        raise ValueError(f"map_scale must be a positive number of metres per cell, got {map_scale!r}")
    bs = np.atleast_2d(_array(bs_pos, "bs_pos").astype(np.float64))
    ue = np.atleast_2d(_array(ue_pos, "ue_pos").astype(np.float64))
    if bs.shape[-1] < 2 or ue.shape[-1] < 2:
        raise ValueError(f"positions need x and y columns: bs_pos {bs.shape}, ue_pos {ue.shape}")
    bs, ue = bs.reshape(-1, bs.shape[-1]), ue.reshape(-1, ue.shape[-1])
    flag = None
    if los is not None:
        flag = _array(los, "los").ravel()
        if flag.size != ue.shape[0]:
            raise ValueError(f"{flag.size} LOS flags for {ue.shape[0]} UEs")
    h, w = grid.shape
    extent = (0.0, w * float(map_scale), 0.0, h * float(map_scale))
    aspect = h / w if w else 1.0
    fig, ax = _figure(6.2, max(3.0, min(6.2 * aspect + 0.6, 9.0)))
    ax = ax[0, 0]
    buildings = grid.astype(np.float64)
    if buildings.max() > 0:
        buildings = buildings / buildings.max()
    ax.imshow(buildings, cmap="Greys", origin="lower", extent=extent, vmin=0, vmax=1.4,
              interpolation="nearest")
    if flag is None:
        ax.scatter(ue[:, 0], ue[:, 1], s=10, c="tab:blue", label=f"UE ({ue.shape[0]})")
    else:
        is_los = flag > 0
        if is_los.any():
            ax.scatter(ue[is_los, 0], ue[is_los, 1], s=10, c="tab:green",
                       label=f"UE LOS ({int(is_los.sum())})")
        if (~is_los).any():
            ax.scatter(ue[~is_los, 0], ue[~is_los, 1], s=10, c="tab:red",
                       label=f"UE NLOS ({int((~is_los).sum())})")
    ax.scatter(bs[:, 0], bs[:, 1], s=90, marker="^", c="tab:blue", edgecolors="black",
               label="BS", zorder=3)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
    return _save(fig, path)


def plot_training_curves(
    history: Mapping[str, Sequence[float]], path, title: str = "Training", xlabel: str = "epoch"
) -> Path:
    """Curves per epoch: names containing 'loss' on the left panel (log scale when all
    positive and spanning more than a decade), every other metric on the right."""
    if not history:
        raise ValueError("plot_training_curves: empty history")
    series = {name: _array(list(vals) if not hasattr(vals, "shape") else vals, name).astype(np.float64).ravel()
              for name, vals in history.items()}
    losses = {n: v for n, v in series.items() if "loss" in n.lower()}
    others = {n: v for n, v in series.items() if n not in losses}
    groups = [g for g in ((losses, "loss"), (others, "metric")) if g[0]]
    from matplotlib.ticker import MaxNLocator

    fig, axes = _figure(5.2 * len(groups), 3.8, ncols=len(groups))
    for ax, (group, ylabel) in zip(axes[0], groups):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for name, vals in group.items():
            x = np.arange(1, vals.size + 1)
            ax.plot(x, vals, marker="o" if vals.size <= 30 else None, markersize=3, label=name)
        finite = np.concatenate([v[np.isfinite(v)] for v in group.values()])
        if ylabel == "loss" and finite.size and finite.min() > 0 and finite.max() / finite.min() > 10:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)
