"""WavesFM's adaptation strategies for `wzoo bench`: the paper's four fine-tuning modes.

`linear-probe`, `last-k`, `lora` and `full` (see `finetune.prepare`) on the CSI magnitude
image: csi (N, rx, tx, subcarrier, symbol) → |H| as one image channel of (rx·tx) rows and
(subcarrier·symbol) columns → `wavesfm/image` fitted to the training split (dB, [0, 1],
resized to the encoder's input, standardised). The phase is dropped and the image is
resampled to the encoder's size: the leaderboard's input column says so. A linear head per
task; AdamW with layer-wise lr decay and weight decay 0.05 as the paper; the best epoch on
the validation split.

Weights: the registered model is built as `create_model` builds it (random: no WavesFM weights
are published on the Hub yet) unless the bench starts it from a folder (`--from
runs/pretrain/model`, written by `wzoo run wavesfm/pretrain`). A frozen random encoder is
flagged on the leaderboard.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo_core.bench import Predictor, Strategy

TASKS = ("los", "beam", "positioning", "activity", "rf-classification")


def magnitude_image(csi: np.ndarray) -> torch.Tensor:
    """(N, rx, tx, sc, sym) complex → (N, 1, rx·tx, sc·sym) float32 |H|."""
    h = np.abs(np.asarray(csi))
    n, rx, tx, sc, sym = h.shape
    return torch.from_numpy(h.reshape(n, 1, rx * tx, sc * sym).astype(np.float32))


class FineTune(Strategy):
    mode = "lora"
    models = ("wavesfm/vit-tiny-p8-32",)
    accepts = ("wavesfm/*",)
    tasks = TASKS
    defaults = {"epochs": 15, "lr": 1e-3, "batch_size": 64, "layer_decay": 0.75}
    cpu_time = "about 1 s per epoch per 1,000 samples (tiny model, 2 cores)"

    def supports(self, task, data):
        reason = super().supports(task, data)
        if reason is None and data.csi.ndim != 5:
            reason = "needs csi (N, rx, tx, subcarrier, symbol)"
        return reason

    def prepare(self, net, task_name: str, **options) -> None:
        from .finetune import prepare

        prepare(net, task_name, self.mode)

    def adapt(self, model, task, train, val, *, seed=0, progress=True, epochs=15, lr=1e-3, batch_size=64,
              layer_decay=0.75, **options):
        from zoo_core.bench.learn import count_trainable, fit_on_task, network_predictor

        from .finetune import layer_decay_param_groups
        from .transforms import WirelessImage

        net = model.create(heads={}) if model.start is None or not model.pretrained else model.create()
        size = int(next(iter(net.encoder().fields.values())).shape[-1])
        x_train, x_val = magnitude_image(train.csi), magnitude_image(val.csi)
        transform = WirelessImage.fit(x_train, log=True, size=size)
        net.set_transform(transform, "wavesfm/image")
        head = task.name.replace("/", "--")
        if head in net.heads:  # a --from folder with a head of its own for this task: a fresh one
            net.drop_task(head)
        net.add_task(task.name, "linear", num_outputs=task.output_spec(train.data).num_outputs)
        self.prepare(net, head, **options)
        groups = layer_decay_param_groups(net, lr, weight_decay=0.05, layer_decay=layer_decay)
        forward = lambda m, xb: m(xb, task=head)  # noqa: E731
        history, scaler, forward = fit_on_task(
            net, task, x_train, train.targets, x_val, val.targets, forward=forward, epochs=epochs, lr=lr,
            batch_size=batch_size, seed=seed, progress=progress, param_groups=groups, weight_decay=0.05,
            val_context=_context(val))
        weights = {e.name: e.weights for e in net.config.encoders}
        return Predictor(
            network_predictor(net, forward, scaler, lambda s: magnitude_image(s.csi)),
            trainable_parameters=count_trainable(net), input="|CSI| " + transform.keeps(tuple(x_train.shape[1:])),
            weights=weights, frozen_random=self.mode != "full" and "random" in weights.values(),
            history=history.epochs, model=net)


def _context(subset) -> dict:
    ctx = subset.context()
    ctx.pop("class_names", None)
    return ctx


class LinearProbe(FineTune):
    mode = "linear-probe"


class LastK(FineTune):
    mode = "last-k"
    defaults = {**FineTune.defaults, "trainable_blocks": 2}

    def prepare(self, net, task_name, trainable_blocks=2, **options):
        from .finetune import prepare

        prepare(net, task_name, "last-k", trainable_blocks=trainable_blocks)


class LoRA(FineTune):
    mode = "lora"
    defaults = {**FineTune.defaults, "rank": 8, "alpha": 8.0}

    def prepare(self, net, task_name, rank=8, alpha=8.0, **options):
        from .finetune import prepare

        prepare(net, task_name, "lora", rank=rank, alpha=alpha)


class Full(FineTune):
    mode = "full"
    full = True
