"""CSI-CLIP's strategies for `wzoo bench` (paper Sec. III-B).

- `csiclip/frozen-head`: the CSI encoder frozen, a two-layer head (the core's `mlp`, one
  hidden layer) trained on its pooled features: LoS/NLoS and beam with cross-entropy (beam
  over the data's DFT codebook, as the `beam` task defines it), positioning with MSE.
  Features are extracted once and the head trains on the cached features.
- `csiclip/fine-tune`: the CSI encoder and the same head all train (`full`): the core's
  `scratch` runs it from random weights, which is the paper's baseline (the same network
  trained supervised).
- `csiclip/zero-shot`: CIR ↔ CSI retrieval; the predictor returns the (n, n) cosine
  similarity of the two towers' embeddings, row i = query i; recall@k comes from the task.

Weights: a `--from` folder (e.g. written by `wzoo run csiclip/pretrain`) keeps its own
transform statistics; the registered model (random weights: a frozen random encoder is
flagged), a scratch run and the authors' release (which ships no statistics) get statistics
fitted on the training split. The CIR is the
data's own `cir` where it has one, else the core computes it from the CSI (IFFT over
subcarriers).
"""

from __future__ import annotations

import numpy as np
import torch

from zoo_core.bench import Predictor, Strategy

TASKS = ("los", "positioning", "beam")
TRANSFORM = "csiclip/complex-image"


def csi_tensor(subset) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(subset.csi, dtype=np.complex64))


def cir_tensor(subset) -> torch.Tensor:
    """The subset's CIR, or the core's IFFT of its CSI where the data has none."""
    if subset.has("cir"):
        return torch.from_numpy(np.ascontiguousarray(subset.field("cir"), dtype=np.complex64))
    from zoo_core.fields import cir_from_csi

    return cir_from_csi(csi_tensor(subset))


def network(model, train, towers=("csi",)):
    """The model to adapt; transform statistics fitted on `train` unless it starts from a folder
    that has its own (a pre-training run's; the authors' release has none)."""
    from .transforms import ComplexImage

    net = model.create()
    sources = weights_of(net)
    for tower in towers:
        # the authors' release ships no statistics: fit them like for a model without a folder
        if model.start is None or not model.pretrained or sources[tower].startswith("official:"):
            cfg = net.encoder(tower).transform.config
            x = csi_tensor(train) if tower == "csi" else cir_tensor(train)
            net.set_transform(ComplexImage.fit(x, size=cfg["size"], minmax=cfg["minmax"]), TRANSFORM, tower=tower)
    return net


def input_note(net, subset, tower="csi") -> str:
    shape = (subset.csi if tower == "csi" else cir_tensor(subset)).shape[1:]
    return f"{tower.upper()} " + net.encoder(tower).transform.keeps(tuple(shape))


def weights_of(net) -> dict[str, str]:
    return {e.name: e.weights for e in net.config.encoders}


class _OnCSI(Strategy):
    models = ("csiclip/resnet18-tiny",)
    accepts = ("csiclip/*",)
    tasks = TASKS

    def supports(self, task, data):
        reason = super().supports(task, data)
        if reason is None and data.csi.ndim != 5:
            reason = "needs csi (N, rx, tx, subcarrier, symbol)"
        return reason

    @staticmethod
    def add_head(net, task, train, hidden: int) -> str:
        """A fresh two-layer head for the task on the CSI tower; returns its key in the model."""
        from zoo_core.tasks import head_key

        key = head_key(task.name)
        if key in net.heads:  # a --from folder with a head of its own for this task
            net.drop_task(key)
        net.add_task(task.name, "mlp", towers=["csi"], num_outputs=task.output_spec(train.data).num_outputs,
                     hidden=[int(hidden)])
        return key


class FrozenHead(_OnCSI):
    defaults = {"epochs": 100, "lr": 1e-3, "batch_size": 128, "hidden": 256}
    cpu_time = "one pass of the frozen encoder over the data, then seconds (tiny model, 2 cores)"

    def adapt(self, model, task, train, val, *, seed=0, progress=True, epochs=100, lr=1e-3, batch_size=128,
              hidden=256):
        from zoo_core.bench.learn import count_trainable, fit_on_task, network_predictor, predict_outputs

        net = network(model, train)
        for p in net.parameters():
            p.requires_grad_(False)
        key = self.add_head(net, task, train, hidden)
        head = net.heads[key]
        features = lambda m, x: m.forward_features({"csi": x}, tower="csi")  # noqa: E731
        f_train = predict_outputs(net, features, csi_tensor(train))
        f_val = predict_outputs(net, features, csi_tensor(val))
        history, scaler, _ = fit_on_task(head, task, f_train, train.targets, f_val, val.targets,
                                         forward=lambda m, f: m(f), epochs=epochs, lr=lr, batch_size=batch_size,
                                         seed=seed, progress=progress, val_context=_context(val))
        forward = lambda m, x: m({"csi": x}, task=key)  # noqa: E731
        weights = weights_of(net)
        return Predictor(network_predictor(net, forward, scaler, csi_tensor), trainable_parameters=count_trainable(head),
                         input=input_note(net, train), weights={"csi": weights["csi"]},
                         frozen_random=weights["csi"] == "random", history=history.epochs, model=net)


class FineTune(_OnCSI):
    full = True
    defaults = {"epochs": 10, "lr": 8e-4, "batch_size": 128, "hidden": 256, "weight_decay": 0.01}
    cpu_time = ("about 2 s per epoch per 1,000 samples on a quiet 2-core CPU, several times that on a busy one "
                "(tiny model); 10 epochs by default so a bench stays minutes, --set csiclip/fine-tune.epochs=30 "
                "for longer")

    def adapt(self, model, task, train, val, *, seed=0, progress=True, epochs=10, lr=8e-4, batch_size=128,
              hidden=256, weight_decay=0.01):
        from zoo_core.bench.learn import count_trainable, fit_on_task, network_predictor

        net = network(model, train)
        for p in net.parameters():  # the CIR tower and the contrastive head play no part here
            p.requires_grad_(False)
        for p in net.encoder("csi").parameters():
            p.requires_grad_(True)
        key = self.add_head(net, task, train, hidden)
        forward = lambda m, x: m({"csi": x}, task=key)  # noqa: E731
        history, scaler, forward = fit_on_task(
            net, task, csi_tensor(train), train.targets, csi_tensor(val), val.targets, forward=forward, epochs=epochs,
            lr=lr, batch_size=batch_size, weight_decay=weight_decay, seed=seed, progress=progress,
            val_context=_context(val))
        if model.pretrained and model.start is not None:
            net.set_weights_source("wzoo:csiclip/fine-tune", "csi")
        weights = weights_of(net)
        return Predictor(network_predictor(net, forward, scaler, csi_tensor), trainable_parameters=count_trainable(net),
                         input=input_note(net, train), weights={"csi": weights["csi"]}, history=history.epochs,
                         model=net)


class ZeroShot(Strategy):
    models = ("csiclip/resnet18-tiny",)
    accepts = ("csiclip/*",)
    tasks = ("retrieval",)
    defaults = {"query": "csi", "batch_size": 256}
    cpu_time = "one pass of both encoders over the test data"

    def supports(self, task, data):
        reason = super().supports(task, data)
        if reason is None and data.csi.ndim != 5:
            reason = "needs csi (N, rx, tx, subcarrier, symbol)"
        return reason

    def adapt(self, model, task, train, val, *, seed=0, progress=True, query="csi", batch_size=256):
        from zoo_core.bench.strategy import StrategyError

        if query not in ("csi", "cir"):
            raise StrategyError(f"query is 'csi' (CSI queries, CIR candidates) or 'cir', got {query!r}")
        net = network(model, train, towers=("csi", "cir")).eval()
        other = "cir" if query == "csi" else "csi"

        def predict(subset):
            inputs = {"csi": csi_tensor(subset), "cir": cir_tensor(subset)}
            return similarity(net, inputs[query], inputs[other], query, other, batch_size)

        weights = weights_of(net)
        return Predictor(predict, trainable_parameters=0,
                         input=f"{input_note(net, train, query)} vs {input_note(net, train, other)}",
                         weights=weights, frozen_random="random" in weights.values(), model=net)


@torch.no_grad()
def embeddings(net, x: torch.Tensor, tower: str, batch_size: int = 256) -> torch.Tensor:
    net.eval()
    return torch.cat([net.encode(x[i:i + batch_size], tower, normalize=True) for i in range(0, len(x), batch_size)])


def similarity(net, queries, candidates, query="csi", other="cir", batch_size=256) -> np.ndarray:
    """(n, n) cosine similarity of normalised embeddings; row i is query i."""
    a = embeddings(net, queries, query, batch_size)
    b = embeddings(net, candidates, other, batch_size)
    return (a @ b.T).numpy()


def _context(subset) -> dict:
    ctx = subset.context()
    ctx.pop("class_names", None)
    return ctx
