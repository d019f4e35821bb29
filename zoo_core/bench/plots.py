"""The bench's own figures: the primary metric of every method side by side, and metric against
labelled training samples (the data-efficiency curve). Same conventions as
`zoo_core.data.plots` (a Figure on an Agg canvas, never pyplot)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from zoo_core.data.plots import _figure, _save


def _axis_label(metric: str) -> str:
    from zoo_core.tasks import METRICS

    m = METRICS[metric]
    return f"{m.label} ({m.unit})" if m.unit else m.label


def plot_metric_bars(scores: Mapping[str, Mapping[str, float]], metric: str, path, title: str = "",
                     errors: Mapping[str, float] | None = None) -> Path:
    """One horizontal bar per method (best at the top), with ± std where given."""
    from zoo_core.tasks import METRICS

    higher = METRICS[metric].higher_is_better
    items = [(k, v[metric]) for k, v in scores.items() if metric in v]
    items.sort(key=lambda kv: kv[1], reverse=higher)  # best first, drawn at the top
    fig, ax = _figure(7.5, 0.9 + 0.38 * max(len(items), 1))
    ax = ax[0, 0]
    labels = [k for k, _ in items]
    values = np.array([v for _, v in items], dtype=np.float64)
    err = None if errors is None else np.array([errors.get(k, 0.0) for k in labels])
    ax.barh(range(len(items)), values, xerr=err, color="tab:blue", alpha=0.8)
    ax.set_yticks(range(len(items)), labels, fontsize=8)
    ax.invert_yaxis()
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.3g}", va="center", fontsize=8)
    ax.set_xlabel(_axis_label(metric))
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)


def plot_label_fractions(curves: Mapping[str, tuple], metric: str, path, title: str = "") -> Path:
    """`curves[method] = (labelled samples, mean, std)`: metric against labelled training samples."""
    fig, ax = _figure(9.0, 4.4)
    ax = ax[0, 0]
    markers = "osD^v<>ph*"
    for i, (label, (n, mean, std)) in enumerate(curves.items()):
        n, mean, std = (np.asarray(a, dtype=np.float64) for a in (n, mean, std))
        order = np.argsort(n)
        ax.errorbar(n[order], mean[order], yerr=std[order], marker=markers[i % len(markers)], capsize=3,
                    label=label)
    ax.set_xscale("log")
    counts = sorted({int(v) for n, _, _ in curves.values() for v in n})
    ax.set_xticks(counts, [f"{c:,}" for c in counts])  # the sample counts that ran, not powers of ten
    ax.minorticks_off()
    ax.set_xlabel("labelled training samples")
    ax.set_ylabel(_axis_label(metric))
    ax.set_title(title or "Data efficiency")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside the curves, not on them
    return _save(fig, path)
