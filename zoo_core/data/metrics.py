"""The metrics the shared tasks report, in one place so every method is scored the same way.

Plain numpy; torch tensors (any device, bf16 included) are accepted and converted. Names
follow the metric vocabulary `zoo_core.tasks.METRICS` (`nmse_db`, `mean_error_m`, ...).
Bad input (empty, NaN/inf, mismatched shapes, labels out of range) raises `MetricError`,
which is both a `WzooError` and a `ValueError`: a silently wrong number is worse than none.

Conventions, chosen to match the papers:

- NMSE = E{ ||H - Ĥ||² / ||H||² } (LVM4CSI eq. for channel estimation; two-tower CSI
  feedback): the *mean of per-sample linear ratios*, then 10·log10. This is not the mean of
  per-sample dB values; both are returned.
- Mean per-class accuracy (WavesFM) averages recall over the classes present in the labels.
- CDF90 is the 90th percentile of the Euclidean errors (two-tower paper), linear
  interpolation between order statistics (numpy's default quantile).
- Confusion matrices have true classes as rows and predicted classes as columns.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import WzooError

__all__ = [
    "MetricError", "NMSE", "nmse_db", "accuracy", "mean_class_accuracy", "topk_accuracy",
    "position_errors", "positioning_errors", "confusion_matrix",
]


class MetricError(WzooError, ValueError):
    """Input a metric cannot be computed on: empty, non-finite, or of mismatched shape."""


class NMSE(NamedTuple):
    """NMSE in dB: `per_sample_db` (N,) and `mean_db`, 10·log10 of the mean linear NMSE.

    Unpacks as a tuple (`per, mean = nmse_db(...)`) and converts with `float()` to `mean_db`.
    """

    per_sample_db: np.ndarray
    mean_db: float

    def __float__(self) -> float:
        return float(self.mean_db)


def _as_numpy(x: Any, name: str) -> np.ndarray:
    """numpy view of an array-like or a torch tensor, without importing torch."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        try:
            x = x.numpy()
        except (TypeError, RuntimeError):  # bf16 / fp8 have no numpy dtype
            x = x.float().numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise MetricError(f"{name}: cannot be read as an array ({exc})") from None
    if arr.dtype == object:
        raise MetricError(f"{name}: expected a numeric array, got ragged or object data")
    return arr


def _check_nonempty(arr: np.ndarray, name: str) -> None:
    if arr.size == 0:
        raise MetricError(f"{name}: empty input (shape {arr.shape})")


def _check_finite(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise MetricError(f"{name}: {bad} NaN or infinite value(s) in an array of shape {arr.shape}")


def _numeric(x: Any, name: str) -> np.ndarray:
    arr = _as_numpy(x, name)
    if arr.dtype.kind not in "biufc":
        raise MetricError(f"{name}: expected numbers, got dtype {arr.dtype}")
    _check_nonempty(arr, name)
    _check_finite(arr, name)
    return arr


def _labels(x: Any, name: str = "labels") -> np.ndarray:
    arr = _numeric(x, name)
    if arr.ndim != 1:
        raise MetricError(f"{name}: expected class indices of shape (N,), got shape {arr.shape}")
    if arr.dtype.kind in "fc":
        if arr.dtype.kind == "c" or not np.all(arr == np.round(arr)):
            raise MetricError(f"{name}: class indices must be whole numbers")
    arr = arr.astype(np.int64)
    if (arr < 0).any():
        raise MetricError(f"{name}: negative class index {int(arr.min())}")
    return arr


def _predicted_classes(pred: Any, n: int) -> np.ndarray:
    """Class indices from either indices (N,) or scores/logits (N, C) (argmax)."""
    arr = _numeric(pred, "pred")
    if arr.ndim == 2:
        if arr.dtype.kind == "c":
            raise MetricError("pred: scores must be real, got a complex array")
        arr = arr.argmax(axis=1)
    elif arr.ndim != 1:
        raise MetricError(
            f"pred: expected class indices (N,) or scores (N, C), got shape {arr.shape}"
        )
    if arr.shape[0] != n:
        raise MetricError(f"pred has {arr.shape[0]} samples but labels has {n}")
    return _labels(arr, "pred")


def _normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(1, ndim)) if ndim > 1 else tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise MetricError(f"axis {a} is out of range for an array with {ndim} dimension(s)")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise MetricError(f"axis {axis!r} repeats an axis")
    return tuple(sorted(out))


def nmse_db(estimate: Any, truth: Any, axis: int | tuple[int, ...] | None = None) -> NMSE:
    """Normalised MSE ||Ĥ - H||² / ||H||² per sample, in dB, and its mean (complex-aware).

    `axis` names the axes one sample spans (its norm is taken over them); the remaining axes
    index samples and are flattened in C order into `per_sample_db`. Default: every axis but
    the first, i.e. axis 0 indexes samples; a 1-D input is one sample. `axis=()` scores
    every element on its own. `mean_db` = 10·log10(mean of the linear ratios).
    """
    est = _numeric(estimate, "estimate")
    ref = _numeric(truth, "truth")
    if est.shape != ref.shape:
        raise MetricError(f"estimate has shape {est.shape} but truth has shape {ref.shape}")
    axes = _normalize_axes(axis, ref.ndim)
    diff = est.astype(np.complex128 if est.dtype.kind == "c" or ref.dtype.kind == "c" else np.float64) - ref
    err = np.sum(np.abs(diff) ** 2, axis=axes)
    power = np.sum(np.abs(ref.astype(diff.dtype)) ** 2, axis=axes)
    err, power = np.ravel(err), np.ravel(power)
    zero = np.flatnonzero(power == 0)
    if zero.size:
        raise MetricError(
            f"truth: sample {int(zero[0])} has zero power, NMSE is undefined "
            f"({zero.size} such sample(s))"
        )
    ratio = err / power
    with np.errstate(divide="ignore"):  # a perfect estimate is -inf dB, which is honest
        per_sample = 10.0 * np.log10(ratio)
        mean = float(10.0 * np.log10(ratio.mean()))
    return NMSE(per_sample, mean)


def accuracy(pred: Any, labels: Any) -> float:
    """Fraction of samples whose predicted class equals the label.

    `pred` is class indices (N,) or scores/logits (N, C), whose argmax is taken."""
    y = _labels(labels)
    p = _predicted_classes(pred, y.shape[0])
    return float(np.mean(p == y))


def mean_class_accuracy(pred: Any, labels: Any, n_classes: int | None = None) -> float:
    """Mean per-class accuracy (balanced accuracy): recall averaged over the classes that
    occur in `labels`; classes with no true sample are left out rather than counted as 0."""
    y = _labels(labels)
    p = _predicted_classes(pred, y.shape[0])
    if n_classes is not None:
        _check_range(y, n_classes, "labels")
    classes = np.unique(y)
    recalls = [np.mean(p[y == c] == c) for c in classes]
    return float(np.mean(recalls))


def topk_accuracy(scores: Any, labels: Any, k: int = 1) -> float:
    """Fraction of samples whose true class is among the k highest scores (N, C).

    Ties count in the sample's favour: a sample is a hit when fewer than k classes score
    strictly higher than its true class (so equal scores never depend on class order)."""
    s = _numeric(scores, "scores")
    if s.ndim != 2:
        raise MetricError(f"scores: expected shape (N, C), got {s.shape}")
    if s.dtype.kind == "c":
        raise MetricError("scores: must be real, got a complex array")
    y = _labels(labels)
    if s.shape[0] != y.shape[0]:
        raise MetricError(f"scores has {s.shape[0]} samples but labels has {y.shape[0]}")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= s.shape[1]:
        raise MetricError(f"k must be an integer in [1, {s.shape[1]}] (number of classes), got {k!r}")
    _check_range(y, s.shape[1], "labels")
    true_score = s[np.arange(s.shape[0]), y]
    higher = np.sum(s > true_score[:, None], axis=1)
    return float(np.mean(higher < k))


def position_errors(pred: Any, truth: Any) -> np.ndarray:
    """Euclidean error per sample (N,), in the units of the positions (metres)."""
    p = _numeric(pred, "pred")
    t = _numeric(truth, "truth")
    if p.dtype.kind == "c" or t.dtype.kind == "c":
        raise MetricError("positions must be real")
    if p.shape != t.shape:
        raise MetricError(f"pred has shape {p.shape} but truth has shape {t.shape}")
    if p.ndim == 1:
        p, t = p[None], t[None]
    if p.ndim != 2:
        raise MetricError(f"positions: expected shape (N, D), got {p.shape}")
    return np.linalg.norm(p.astype(np.float64) - t.astype(np.float64), axis=1)


def positioning_errors(pred: Any, truth: Any) -> dict[str, float]:
    """Positioning metrics in metres from predicted and true positions (N, 2 or 3).

    Keys: `mean_error_m`, `median_error_m`, `cdf90_error_m` (90th percentile), `std_error_m`
    (WavesFM reports it), `max_error_m`. All plain floats, ready for JSON. Use
    `position_errors` for the per-sample errors (e.g. for `plots.plot_error_cdf`)."""
    err = position_errors(pred, truth)
    return {
        "mean_error_m": float(err.mean()),
        "median_error_m": float(np.median(err)),
        "cdf90_error_m": float(np.quantile(err, 0.9)),
        "std_error_m": float(err.std()),
        "max_error_m": float(err.max()),
    }


def confusion_matrix(pred: Any, labels: Any, n_classes: int | None = None) -> np.ndarray:
    """Counts (n_classes, n_classes), int64: row = true class, column = predicted class.

    `pred` is class indices or scores (argmax). `n_classes` defaults to 1 + the largest
    class seen; indices outside [0, n_classes) raise."""
    y = _labels(labels)
    p = _predicted_classes(pred, y.shape[0])
    if n_classes is None:
        n_classes = int(max(y.max(), p.max())) + 1
    if not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool) or n_classes < 1:
        raise MetricError(f"n_classes must be a positive integer, got {n_classes!r}")
    _check_range(y, n_classes, "labels")
    _check_range(p, n_classes, "pred")
    flat = np.bincount(y * n_classes + p, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def _check_range(idx: np.ndarray, n_classes: int, name: str) -> None:
    if idx.max() >= n_classes:
        raise MetricError(f"{name}: class index {int(idx.max())} is out of range for {n_classes} classes")
