"""The paper's two adaptation methods for `wzoo bench` (Sec. III-B).

- `twotower/zero-shot` (ZSL): the frozen towers answer by similarity alone. `los`: the CSI
  embedding against the sample's environment with the LOS flag 0 and 1 (eq. 13); `retrieval`:
  the (n, n) CSI-environment similarity matrix; `csi-feedback`: the 128-dim CSI embedding
  decoded by the frozen CRNN; the plugin's `twotower/multi-user`, `twotower/map-scale` and
  `twotower/layout-change`: the CSI against the task's environment options.
- `twotower/multi-bs` (TOFT, Fig. 11): positioning from the concatenated frozen CSI embeddings
  of one UE at k BSs (`multibs`).
- `twotower/frozen-head` (TOFT): embeddings of a frozen tower computed once, then a small head
  trained on them: LOS a linear 128 → 2 layer (258 parameters) with cross-entropy (eq. 15),
  beam 128 → 64 → N_beams with the focal loss (eq. 16; 10,336 parameters for 32 beams),
  positioning 128 → 64 → 3 with MSE (eq. 14, on standardised targets). `tower=env` feeds the
  environment tower instead (position-based beam selection: the map and the position vector
  with the sample's LOS flag).

Both start from the folder given with `wzoo bench --from DIR` (written by `wzoo run
twotower/pretrain`); without one they run on the registered model's random weights and the
leaderboard flags the frozen random towers.
"""

from __future__ import annotations

import numpy as np

from zoo_core.bench import Predictor, Strategy
from zoo_core.bench.strategy import StrategyError

from .position import csi_shape_reason, missing_environment

MODELS = ("twotower/env-csi-tiny",)
ENV_TASKS = ("los", "retrieval", "twotower/multi-user", "twotower/map-scale", "twotower/layout-change")


def load_model(ref):
    """The model a strategy adapts: the --from folder (MSNN shared again) or the registered one."""
    import zoo_core

    from .model import load
    from .towers import tie_msnn

    if ref.start is not None and ref.pretrained:
        net = load(ref.start)
    else:
        net = zoo_core.create_model(ref.name)
        tie_msnn(net)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _weights(net) -> dict[str, str]:
    return {e.name: e.weights for e in net.config.encoders}


def _needs_environment(task, data) -> str | None:
    missing = missing_environment(data)
    return f"needs maps and positions in the data (missing {', '.join(missing)})" if missing else None


class ZeroShot(Strategy):
    models = MODELS
    accepts = ("twotower/*",)
    tasks = ENV_TASKS + ("csi-feedback",)
    cpu_time = "seconds (inference only)"

    def supports(self, task, data):
        reason = super().supports(task, data)
        if reason is None and task.name in ENV_TASKS:
            reason = _needs_environment(task, data)
        if reason is None:
            reason = csi_shape_reason(data)
        return reason

    def adapt(self, model, task, train, val, *, seed=0, progress=True, **options):
        from . import zeroshot

        net = load_model(model)
        if task.name == "csi-feedback" and "csi-feedback" not in net.heads:
            raise StrategyError("this model has no CRNN (variant two-tower): zero-shot CSI feedback needs one")
        if task.name == "los":
            predict = lambda s: zeroshot.los_scores(net, s.data, s.indices)  # noqa: E731
            what = "CSI vs environment with LOS flag 0 / 1 (eq. 13)"
        elif task.name == "retrieval":
            predict = lambda s: zeroshot.similarity_matrix(net, s.data, s.indices)  # noqa: E731
            what = "CSI (rows) vs environment (columns) cosine similarity"
        elif task.name == "csi-feedback":
            predict = lambda s: zeroshot.reconstruct(net, s.data, s.indices)  # noqa: E731
            t = net.encoders["csi"].transform
            sent = "RMS and common phase" if getattr(t, "common_phase", False) else "RMS"
            layout = ", angle-delay" if getattr(t, "domain", "") == "angle-delay" else ""
            what = f"CSI{layout} -> frozen CFENN (128 values + {sent}) -> frozen CRNN"
        else:
            predict = lambda s: task.zero_shot(net, s.data, s.indices)  # noqa: E731
            what = "CSI vs environment options"
        weights = _weights(net)
        return Predictor(predict, trainable_parameters=0, input=what, weights=weights,
                         frozen_random="random" in weights.values(), model=net)


def features(net, subset, tower: str):
    """(n, 128) un-normalised embeddings of the frozen tower."""
    from .data import embed_csi, embed_env, encode  # noqa: F401

    if tower == "csi":
        from .data import chunks, csi_tensor

        batches = ({"csi": csi_tensor(subset.data, subset.indices[c])} for c in chunks(len(subset)))
        return encode(net, "csi", batches, normalize=False)
    from .data import chunks, env_batch

    batches = (env_batch(subset.data, subset.indices[c]) for c in chunks(len(subset)))
    return encode(net, "env", batches, normalize=False)


def toft_head(task_name: str, width: int, outputs: int, hidden: int):
    from zoo_core.heads import LinearHead, MLPHead

    if task_name == "los":
        return LinearHead(width, outputs, task=task_name)
    return MLPHead(width, outputs, hidden=(hidden,), task=task_name)


class FrozenHead(Strategy):
    models = MODELS
    accepts = ("twotower/*",)
    tasks = ("positioning", "beam", "los")
    defaults = {"epochs": 40, "lr": 2e-3, "batch_size": 64, "hidden": 64, "gamma": 2.0, "tower": "csi"}
    cpu_time = "a few seconds (embeddings once, then a head of about 10k parameters)"

    def supports(self, task, data):
        reason = super().supports(task, data)
        if reason is None:
            reason = csi_shape_reason(data)
        return reason

    def adapt(self, model, task, train, val, *, seed=0, progress=True, epochs=40, lr=2e-3, batch_size=64,
              hidden=64, gamma=2.0, tower="csi", **options):
        import torch

        from zoo_core.bench.learn import count_trainable, fit_on_task, network_predictor

        if tower not in ("csi", "env"):
            raise StrategyError(f"tower must be 'csi' or 'env', got {tower!r}")
        if tower == "env" and task.name != "beam":
            raise StrategyError("tower=env (position-based TOFT) is for beam selection: the environment input "
                                "holds the position and the LOS flag, the targets of the other tasks")
        if tower == "env" and _needs_environment(task, train.data):
            raise StrategyError(_needs_environment(task, train.data))
        net = load_model(model)
        torch.manual_seed(seed)
        width = net.encoders[tower].embed_dim
        head = toft_head(task.name, width, task.output_spec(train.data).num_outputs, int(hidden))
        from .losses import FocalTask

        fit_task = FocalTask(task, float(gamma)) if task.name == "beam" else task
        forward = lambda m, x: m(x)  # noqa: E731
        ctx = val.context()
        ctx.pop("class_names", None)
        history, scaler, forward = fit_on_task(
            head, fit_task, features(net, train, tower), train.targets, features(net, val, tower), val.targets,
            forward=forward, epochs=int(epochs), lr=float(lr), batch_size=int(batch_size), seed=seed,
            progress=progress, val_context=ctx)
        weights = _weights(net)
        what = "CSI -> frozen CFENN" if tower == "csi" else "map + position vector -> frozen EPNN"
        return Predictor(network_predictor(head, forward, scaler, lambda s: features(net, s, tower)),
                         trainable_parameters=count_trainable(head), input=f"{what} (128)", weights=weights,
                         frozen_random="random" in weights.values(), history=history.epochs)


class MultiBSHead(Strategy):
    """TOFT for multi-BS positioning (Fig. 11): the frozen CFENN embeds the UE's CSI at each of
    k BSs (the sample's own BS first, see `multibs`), the k·128 values are concatenated and a
    small MLP regresses the position relative to the sample's BS with MSE (eq. 14). `order`
    ranks the UE's other BSs: "power" (many areas) or "bs" (one fixed deployment)."""

    models = MODELS
    accepts = ("twotower/*",)
    tasks = ("positioning",)
    defaults = {"k": 3, "order": "power", "epochs": 40, "lr": 2e-3, "batch_size": 64, "hidden": 64}
    cpu_time = "a few seconds (embeddings once, then a head on k x 128 values)"

    def supports(self, task, data):
        from .multibs import bs_per_ue

        reason = super().supports(task, data)
        if reason is None:
            reason = csi_shape_reason(data)
        if reason is None and bs_per_ue(data) < 2:
            reason = "needs UEs seen by several BSs; this data has one BS per UE"
        return reason

    def adapt(self, model, task, train, val, *, seed=0, progress=True, k=3, order="power", epochs=40, lr=2e-3,
              batch_size=64, hidden=64, **options):
        import torch

        from zoo_core.bench.learn import count_trainable, fit_on_task, network_predictor

        from .multibs import ORDERS, bs_per_ue, concatenated, ue_keys

        k = int(k)
        if order not in ORDERS:
            raise StrategyError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
        most = bs_per_ue(train.data)
        if k < 1:
            raise StrategyError(f"k (BSs per UE) must be at least 1, got {k}")
        if k > most:
            raise StrategyError(f"k={k} BSs per UE asked, but no UE in this data is seen by more than {most} "
                                + ("BSs" if most > 1 else "BS (one BS per UE: use twotower/frozen-head)"))
        net = load_model(model)
        torch.manual_seed(seed)

        def with_gaps(s):
            return concatenated(lambda d, i: features(net, _Rows(d, i), "csi"), s.data, s.indices, k, order)

        seen = np.unique(ue_keys(train.data)[train.indices])

        def inputs(s):
            if s.data is train.data:  # the same UE in training and here would leak its position
                shared = int(np.isin(ue_keys(s.data)[s.indices], seen).sum())
                if shared:
                    raise StrategyError(f"{shared} of {len(s)} evaluated samples are UEs whose CSI at another BS is "
                                        "in the training split (their k-BS inputs are the same embeddings): use "
                                        "--split area or --split block")
            return with_gaps(s)[0]

        x_train, short = with_gaps(train)

        width = k * net.encoders["csi"].embed_dim
        head = toft_head(task.name, width, task.output_spec(train.data).num_outputs, int(hidden))
        ctx = val.context()
        ctx.pop("class_names", None)
        history, scaler, forward = fit_on_task(
            head, task, x_train, train.targets, inputs(val), val.targets, forward=lambda m, x: m(x),
            epochs=int(epochs), lr=float(lr), batch_size=int(batch_size), seed=seed, progress=progress,
            val_context=ctx)
        weights = _weights(net)
        return Predictor(network_predictor(head, forward, scaler, inputs), trainable_parameters=count_trainable(head),
                         input=f"CSI of the UE at {k} BS(s) (own, then by {order}) -> frozen CFENN, concatenated "
                               f"({width}); "
                               f"{short} of {len(train)} training samples had fewer BSs (zeros)",
                         weights=weights, frozen_random="random" in weights.values(), history=history.epochs,
                         model=None)


class _Rows:
    """The two fields `features` reads of a subset: data and indices."""

    def __init__(self, data, indices):
        self.data, self.indices = data, np.asarray(indices)

    def __len__(self):
        return len(self.indices)


class PositionHead(FrozenHead):
    """Position-based TOFT (Table III) as its own bench row: `twotower/frozen-head` with
    `tower=env`, so one beam leaderboard holds both the CSI-based and the position-based head."""

    tasks = ("beam",)
    defaults = {k: v for k, v in FrozenHead.defaults.items() if k != "tower"}

    def supports(self, task, data):
        return super().supports(task, data) or _needs_environment(task, data)

    def adapt(self, model, task, train, val, **options):
        return super().adapt(model, task, train, val, tower="env", **options)
