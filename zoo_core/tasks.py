"""The shared tasks as classes: what a task reads, what it predicts, how it is scored and drawn.

A task is registered like any component (`register("los", "zoo_core.tasks:LOS")`); heads,
adapters and benchmarks refuse task names that are not registered, and a plugin may add
`<plugin>/<task>`. Every method that `wzoo bench` compares is scored by the same task object,
so two numbers with the same task, data and split hash are comparable.

Metric names come from one vocabulary, `METRICS` (direction and label of each); `evaluate`
refuses a name outside it, so `accuracy` can never again be `test_accuracy` elsewhere.

Prediction formats (what a predictor returns for `n` samples):

| task               | prediction                                  | target                          |
|--------------------|---------------------------------------------|---------------------------------|
| los, activity, rf-classification, beam | scores (n, C) or class indices (n,) | class index (n,)     |
| positioning        | positions (n, D) in metres                  | `labels.position` or `ue_pos`   |
| channel-estimation, csi-feedback | complex channel, the csi layout | `csi` (n, rx, tx, sc, sym) |
| retrieval          | similarity (n, n): row i = query i          | the diagonal (pair i ↔ i)       |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import WzooError


class TaskError(WzooError, ValueError):
    """Data or predictions a task cannot use (missing target, wrong shape, unknown metric)."""


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    higher_is_better: bool
    unit: str = ""


#: The one metric vocabulary: every task reports names from here only.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("nmse_db", "NMSE", False, "dB"),
    Metric("rho", "cosine similarity ρ", True),
    Metric("mean_error_m", "mean error", False, "m"),
    Metric("median_error_m", "median error", False, "m"),
    Metric("cdf90_error_m", "90th-percentile error", False, "m"),
    Metric("accuracy", "accuracy", True),
    Metric("mean_class_accuracy", "mean per-class accuracy", True),
    Metric("f1", "F1 (positive class)", True),
    Metric("top1_accuracy", "top-1 accuracy", True),
    Metric("top3_accuracy", "top-3 accuracy", True),
    Metric("recall_at_1", "recall@1", True),
    Metric("recall_at_5", "recall@5", True),
    Metric("recall_at_10", "recall@10", True),
    Metric("median_rank", "median rank", False),
)}


@dataclass(frozen=True)
class OutputSpec:
    """What a head for this task must output on given data."""

    num_outputs: int
    label_names: tuple[str, ...] | None = None
    units: str | None = None


@dataclass
class Evaluation:
    """A task's scores of one prediction: scalar `metrics` (vocabulary names) and `curves`
    (e.g. NMSE per SNR) plus what the task's plot draws (`details`, not written to JSON)."""

    metrics: dict[str, float]
    curves: dict[str, dict[str, float]]
    details: dict[str, Any]


class Task:
    """Base of the registered tasks. Subclasses set the class attributes and `targets`,
    `output_spec`, `loss`, `metrics`; `evaluate` checks names against `METRICS`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ("csi",)
    target: ClassVar[str] = ""
    metric_names: ClassVar[tuple[str, ...]] = ()
    primary: ClassVar[str] = ""
    plot_kind: ClassVar[str] = ""
    output_kind: ClassVar[str] = "classes"  # classes | values | channel | similarity
    #: built-in data `wzoo bench` uses without --data: (generator, samples, parameters); None: needs --data
    default_data: ClassVar[tuple[str, int, dict] | None] = None

    # ------------------------------------------------------------ data
    def targets(self, data, indices=None) -> np.ndarray:
        raise NotImplementedError

    def output_spec(self, data) -> OutputSpec:
        raise NotImplementedError

    def valid(self, data) -> np.ndarray | None:
        """Mask of the samples that have a target (None: all); a bench drops the others."""
        return None

    def check_data(self, data) -> None:
        """Raise TaskError with what is missing when this data cannot be used for the task."""
        self.targets(data, np.arange(min(len(data), 1)))

    # ------------------------------------------------------------ training and scoring
    def loss(self, outputs, batch):
        """Training loss of head outputs against `batch["target"]` (torch)."""
        raise NotImplementedError

    def metrics(self, pred, target, **context) -> dict[str, float]:
        raise NotImplementedError

    def curves(self, pred, target, **context) -> dict[str, dict[str, float]]:
        return {}

    def evaluate(self, pred, target, **context) -> Evaluation:
        scores = self.metrics(pred, target, **context)
        unknown = sorted(set(scores) - set(METRICS))
        if unknown:
            raise TaskError(f"task {self.name!r} reported {', '.join(unknown)}, not in the metric vocabulary "
                            f"(zoo_core.tasks.METRICS): {', '.join(METRICS)}")
        return Evaluation({k: float(v) for k, v in scores.items()}, self.curves(pred, target, **context),
                          {"pred": pred, "target": target, **context})

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.primary].higher_is_better

    # ------------------------------------------------------------ figures
    def plot(self, evaluations: dict[str, Evaluation], out: Path, title: str = "") -> list[Path]:
        """Every method overlaid in one figure (bars of the primary metric by default)."""
        from .bench.plots import plot_metric_bars

        return [plot_metric_bars({k: e.metrics for k, e in evaluations.items()}, self.primary,
                                 out / f"{file_name(self.name)}.png", title or self.name)]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "inputs": list(self.inputs),
                "target": self.target, "metrics": list(self.metric_names), "primary": self.primary,
                "plot": self.plot_kind}


def file_name(name: str) -> str:
    """A method or task label as a plain file name ("wavesfm/vit · lora †" -> "wavesfm-vit-lora")."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-") or "method"


def _classes(data, key: str, what: str) -> np.ndarray:
    if key == "los":
        y = data.los if data.los is not None else data.labels.get("los")
    else:
        y = data.labels.get(key)
    if y is None:
        raise TaskError(f"this data has no {what} labels ({'los' if key == 'los' else 'labels.' + key}); "
                        "use data that has them (e.g. the built-in city generator)")
    return np.asarray(y).astype(np.int64)


# ---------------------------------------------------------------------- classification
class Classification(Task):
    label_key: ClassVar[str] = ""
    metric_names = ("accuracy", "mean_class_accuracy")
    primary = "mean_class_accuracy"
    plot_kind = "confusion-matrix"

    def targets(self, data, indices=None):
        y = _classes(data, self.label_key, self.name)
        return y if indices is None else y[np.asarray(indices)]

    def class_names(self, data) -> tuple[str, ...]:
        n = self.output_spec(data).num_outputs
        names = data.meta.get("class_names")
        if isinstance(names, list) and len(names) == n:
            return tuple(str(c) for c in names)
        return tuple(str(i) for i in range(n))

    def output_spec(self, data) -> OutputSpec:
        y = self.targets(data)
        names = data.meta.get("class_names")
        n = len(names) if isinstance(names, list) and names else int(y.max()) + 1
        return OutputSpec(max(n, 2), tuple(map(str, names)) if isinstance(names, list) and names else None)

    def loss(self, outputs, batch):
        import torch.nn.functional as F

        return F.cross_entropy(outputs, batch["target"].long())

    def metrics(self, pred, target, **context):
        from .data.metrics import accuracy, mean_class_accuracy

        return {"accuracy": accuracy(pred, target), "mean_class_accuracy": mean_class_accuracy(pred, target)}

    def plot(self, evaluations, out, title=""):
        from .data.metrics import confusion_matrix
        from .data.plots import plot_confusion_matrix

        paths = super().plot(evaluations, out, title)
        for label, ev in evaluations.items():
            names = ev.details.get("class_names")
            n = len(names) if names else None
            cm = confusion_matrix(ev.details["pred"], ev.details["target"], n)
            paths.append(plot_confusion_matrix(cm, names, out / f"confusion-{file_name(label)}.png", title=label))
        return paths


class LOS(Classification):
    name = "los"
    description = "Line-of-sight vs non-line-of-sight from the channel"
    target = "los"
    label_key = "los"
    default_data = ("city", 2000, {})
    metric_names = ("accuracy", "mean_class_accuracy", "f1")

    def output_spec(self, data):
        return OutputSpec(2, ("NLOS", "LOS"))

    def class_names(self, data):
        return ("NLOS", "LOS")

    def metrics(self, pred, target, **context):
        from .data.metrics import confusion_matrix

        scores = super().metrics(pred, target)
        cm = confusion_matrix(pred, target, 2)
        tp, fp, fn = cm[1, 1], cm[0, 1], cm[1, 0]
        scores["f1"] = float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 1.0
        return scores


class Activity(Classification):
    name = "activity"
    description = "Human activity recognition from CSI"
    target = "labels.activity"
    label_key = "activity"


class RFClassification(Classification):
    name = "rf-classification"
    description = "Signal / modulation / interference class from spectrograms or IQ"
    target = "labels.class"
    label_key = "class"


class Beam(Classification):
    """Best beam of a DFT codebook at the BS: argmax_b Σ_k ‖w_bᴴ h_k‖² over subcarriers k (and
    UE antennas, symbols). The codebook is the data's `shared["codebook"]` (B, M) when it has
    one, else an M-beam DFT codebook, spatial frequencies on [-1, 1), half-wavelength ULA."""

    name = "beam"
    description = "Best beam of a DFT codebook (top-1 / top-3)"
    target = "best beam of the codebook, from csi"
    metric_names = ("top1_accuracy", "top3_accuracy")
    primary = "top1_accuracy"
    default_data = ("city", 2000, {})

    @staticmethod
    def codebook(data) -> np.ndarray:
        book = data.shared.get("codebook")
        if book is not None:
            return np.asarray(book)
        m = data.n_tx
        u = -1.0 + 2.0 * np.arange(m) / m
        return np.exp(-2j * np.pi * 0.5 * np.outer(u, np.arange(m))) / np.sqrt(m)

    @classmethod
    def beam_power(cls, csi: np.ndarray, codebook: np.ndarray) -> np.ndarray:
        """(N, B) received power of each beam, summed over rx, subcarriers and symbols."""
        h = np.asarray(csi)
        if codebook.shape[1] != h.shape[2]:
            raise TaskError(f"codebook has {codebook.shape[1]} antenna weights but the csi has {h.shape[2]} "
                            "BS (tx) antennas")
        gains = np.einsum("bm,nrmks->nbrks", codebook.conj(), h, optimize=True)
        return (np.abs(gains) ** 2).sum(axis=(2, 3, 4))

    def targets(self, data, indices=None):
        """The best beam; -1 where the channel has no power at all (outage: no best beam)."""
        csi = data.csi if indices is None else data.csi[np.asarray(indices)]
        power = self.beam_power(csi, self.codebook(data))
        return np.where(power.max(axis=1) > 0, power.argmax(axis=1), -1).astype(np.int64)

    def valid(self, data):
        return np.abs(data.csi).reshape(len(data), -1).max(axis=1) > 0

    def output_spec(self, data):
        return OutputSpec(int(self.codebook(data).shape[0]), units="beam index")

    def class_names(self, data):
        return tuple(str(i) for i in range(self.output_spec(data).num_outputs))

    def metrics(self, pred, target, **context):
        from .data.metrics import accuracy, topk_accuracy

        scores = np.asarray(pred)
        if scores.ndim == 1:  # class indices: top-3 is not defined, top-1 is accuracy
            return {"top1_accuracy": accuracy(scores, target)}
        return {"top1_accuracy": topk_accuracy(scores, target, 1),
                "top3_accuracy": topk_accuracy(scores, target, min(3, scores.shape[1]))}

    def plot(self, evaluations, out, title=""):
        return Task.plot(self, evaluations, out, title)  # 64x64 confusion matrices say little


# ---------------------------------------------------------------------- positioning
class Positioning(Task):
    """The UE position in metres, relative to the serving BS where the data has `bs_pos`: the
    network knows where its BS is, so an error is the same in either frame, and data with many
    areas in area-local coordinates (the city generator's) stays one well-posed problem."""

    name = "positioning"
    description = "UE position in metres"
    target = "labels.position (else ue_pos), minus bs_pos where the data has it"
    metric_names = ("mean_error_m", "median_error_m", "cdf90_error_m")
    primary = "mean_error_m"
    plot_kind = "error-cdf"
    output_kind = "values"
    default_data = ("city", 2000, {})

    def targets(self, data, indices=None):
        pos = data.labels.get("position", data.ue_pos)
        if pos is None:
            raise TaskError("this data has no positions (labels.position or ue_pos); positioning needs them")
        pos = np.asarray(pos, dtype=np.float64)
        if data.bs_pos is not None:
            pos = pos - np.asarray(data.bs_pos, dtype=np.float64)
        return pos if indices is None else pos[np.asarray(indices)]

    def output_spec(self, data):
        return OutputSpec(int(self.targets(data, [0]).shape[1]), units="m")

    def loss(self, outputs, batch):
        import torch.nn.functional as F

        return F.mse_loss(outputs, batch["target"].to(outputs.dtype))

    def metrics(self, pred, target, **context):
        from .data.metrics import positioning_errors

        err = positioning_errors(pred, target)
        return {k: err[k] for k in self.metric_names}

    def plot(self, evaluations, out, title=""):
        from .data.metrics import position_errors
        from .data.plots import plot_error_cdf

        errors = {k: position_errors(e.details["pred"], e.details["target"]) for k, e in evaluations.items()}
        return [plot_error_cdf(errors, out / "positioning.png", title=title or "Positioning error CDF")]


# ---------------------------------------------------------------------- channels
class ChannelEstimation(Task):
    """NMSE = 10·log10 of the mean of per-sample ‖Ĥ − H‖² / ‖H‖², overall and per SNR
    (`extras.snr_db` of the data, rounded to 0.1 dB; SNRs drawn from a range, more than
    `max_snr_points` values, are grouped in 5 dB bins keyed by their centre)."""

    max_snr_points: ClassVar[int] = 12

    name = "channel-estimation"
    description = "Recover the channel from pilot observations"
    target = "csi"
    metric_names = ("nmse_db",)
    primary = "nmse_db"
    plot_kind = "nmse-vs-snr"
    output_kind = "channel"
    default_data = ("ofdm-pilots", 1500, {"n_rx": 2, "n_sc": 16})  # the WavesFM recipe's grid

    def targets(self, data, indices=None):
        return data.csi if indices is None else data.csi[np.asarray(indices)]

    def output_spec(self, data):
        return OutputSpec(int(np.prod(data.csi.shape[1:])) * 2, units="complex channel")

    def loss(self, outputs, batch):
        import torch.nn.functional as F

        return F.mse_loss(outputs, batch["target"].to(outputs.dtype))

    def metrics(self, pred, target, **context):
        from .data.metrics import nmse_db

        return {"nmse_db": nmse_db(pred, target).mean_db}

    def curves(self, pred, target, snr_db=None, **context):
        from .data.metrics import nmse_db

        if snr_db is None:
            return {}
        per = nmse_db(pred, target).per_sample_db
        raw = np.asarray(snr_db, dtype=np.float64)
        snr = np.round(raw, 1) + 0.0  # + 0.0: no "-0" key
        if len(np.unique(snr)) > self.max_snr_points:  # SNRs drawn from a range: 5 dB bins by centre
            snr = np.round(raw / 5.0) * 5.0 + 0.0
        curve = {}
        for s in np.unique(snr):
            lin = 10 ** (per[snr == s] / 10)
            curve[f"{s:g}"] = float(10 * np.log10(lin.mean()))
        return {"nmse_db_vs_snr_db": curve}

    def plot(self, evaluations, out, title=""):
        from .data.plots import plot_nmse_vs_snr

        curves = {}
        for label, ev in evaluations.items():
            c = ev.curves.get("nmse_db_vs_snr_db")
            if c:
                curves[label] = (np.array([float(s) for s in c]), np.array(list(c.values())))
        if not curves:
            return super().plot(evaluations, out, title)
        return [plot_nmse_vs_snr(curves, out / "channel-estimation.png", title=title or "NMSE vs SNR")]


class CSIFeedback(ChannelEstimation):
    """NMSE and ρ = mean over samples and (subcarrier, symbol) of |ĥᴴh| / (‖ĥ‖‖h‖), the
    antenna-domain cosine similarity of CsiNet."""

    name = "csi-feedback"
    description = "Compress and reconstruct CSI"
    metric_names = ("nmse_db", "rho")
    plot_kind = "bars"
    default_data = ("city", 2000, {})

    def metrics(self, pred, target, **context):
        scores = super().metrics(pred, target)
        p, t = np.asarray(pred, dtype=np.complex128), np.asarray(target, dtype=np.complex128)
        n = p.shape[0]
        p = p.reshape(n, p.shape[1] * p.shape[2], -1)
        t = t.reshape(n, t.shape[1] * t.shape[2], -1)
        inner = np.abs(np.einsum("nak,nak->nk", p.conj(), t))
        norm = np.linalg.norm(p, axis=1) * np.linalg.norm(t, axis=1)
        scores["rho"] = float(np.mean(inner / np.maximum(norm, np.finfo(np.float64).tiny)))
        return scores

    def curves(self, pred, target, **context):
        return {}

    def plot(self, evaluations, out, title=""):
        return Task.plot(self, evaluations, out, title)


# ---------------------------------------------------------------------- retrieval
class Retrieval(Task):
    """Pairs i ↔ i of two modalities (CSI and CIR, CSI and environment): recall@k = share of
    queries whose partner ranks in the top k of its row; median rank is 1-based."""

    name = "retrieval"
    description = "Find the paired sample of the other modality"
    inputs = ("csi", "other modality")
    target = "the pair index (diagonal)"
    metric_names = ("recall_at_1", "recall_at_5", "recall_at_10", "median_rank")
    primary = "recall_at_1"
    plot_kind = "similarity-matrix"
    output_kind = "similarity"
    default_data = ("city", 2000, {})

    def targets(self, data, indices=None):
        n = len(data) if indices is None else len(np.asarray(indices))
        return np.arange(n)

    def output_spec(self, data):
        return OutputSpec(len(data))

    def loss(self, outputs, batch):
        import torch
        import torch.nn.functional as F

        labels = torch.arange(outputs.shape[0], device=outputs.device)
        return (F.cross_entropy(outputs, labels) + F.cross_entropy(outputs.T, labels)) / 2

    @staticmethod
    def ranks(similarity) -> np.ndarray:
        s = np.asarray(similarity, dtype=np.float64)
        if s.ndim != 2 or s.shape[0] != s.shape[1]:
            raise TaskError(f"retrieval predictions are a square similarity matrix, got shape {s.shape}")
        true = np.diag(s)
        return 1 + (s > true[:, None]).sum(axis=1)  # ties count in the query's favour

    def metrics(self, pred, target, **context):
        r = self.ranks(pred)
        return {"recall_at_1": float(np.mean(r <= 1)), "recall_at_5": float(np.mean(r <= 5)),
                "recall_at_10": float(np.mean(r <= 10)), "median_rank": float(np.median(r))}

    def plot(self, evaluations, out, title=""):
        from .data.plots import plot_similarity

        paths = super().plot(evaluations, out, title)
        for label, ev in evaluations.items():
            s = np.asarray(ev.details["pred"])[:64, :64]
            paths.append(plot_similarity(s, out / f"similarity-{file_name(label)}.png", title=label,
                                         xlabel="candidate", ylabel="query"))
        return paths


CORE_TASKS = {t.name: t for t in (ChannelEstimation, CSIFeedback, Positioning, LOS, Beam, Activity,
                                  RFClassification, Retrieval)}


def task_names() -> list[str]:
    from .plugins import registry

    return registry().names("task")


def get_task(name: str) -> Task:
    """The registered task `name` as an instance (UnknownNameError with close matches)."""
    from .plugins import registry

    return registry().get("task", name).instance(Task, TaskError)


def head_key(name: str) -> str:
    """The key a head of task `name` has in a model: the registered name, with a plugin task's
    '/' written '--' (`twotower/map-scale` -> `twotower--map-scale`), since heads, adapters and
    their folders are plain identifiers. Refuses names that are not registered tasks."""
    from .plugins import registry

    if not isinstance(name, str):
        raise TaskError(f"a task name is a string, got {type(name).__name__}")
    registered = name.replace("--", "/", 1) if "--" in name and "/" not in name else name
    if ("task", registered) not in registry():
        registry().get("task", registered)  # UnknownNameError with close matches and the known tasks
    return registered.replace("/", "--")
