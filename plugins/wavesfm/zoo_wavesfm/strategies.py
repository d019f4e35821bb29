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

TASKS = ("los", "beam", "positioning", "activity", "rf-classification", "channel-estimation")


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
        if reason is None and task.name == "channel-estimation" and not {"pilots_rx", "pilots_tx"} <= set(data.extras):
            reason = "channel estimation needs the pilot grid (extras pilots_rx, pilots_tx: the ofdm-pilots generator)"
        return reason

    def prepare(self, net, task_name: str, **options) -> None:
        from .finetune import prepare

        prepare(net, task_name, self.mode)

    def adapt(self, model, task, train, val, *, seed=0, progress=True, epochs=15, lr=1e-3, batch_size=64,
              layer_decay=0.75, **options):
        from zoo_core.bench.learn import count_trainable, fit_on_task, network_predictor

        from .finetune import layer_decay_param_groups

        net = model.create(heads={}) if model.start is None or not model.pretrained else model.create()
        size = int(next(iter(net.encoder().fields.values())).shape[-1])
        head = task.name.replace("/", "--")
        if head in net.heads:  # a --from folder with a head of its own for this task: a fresh one
            net.drop_task(head)
        io = PilotIO(net, task, train, size) if task.name == "channel-estimation" else ImageIO(net, task, train, size)
        x_train, x_val = io.inputs(train), io.inputs(val)
        self.prepare(net, head, **options)
        groups = layer_decay_param_groups(net, lr, weight_decay=0.05, layer_decay=layer_decay)
        forward = lambda m, xb: m(xb, task=head)  # noqa: E731
        history, scaler, forward = fit_on_task(
            net, task, x_train, io.targets(train), x_val, io.targets(val), forward=forward, epochs=epochs, lr=lr,
            batch_size=batch_size, seed=seed, progress=progress, param_groups=groups, weight_decay=0.05,
            val_context=_context(val))
        weights = {e.name: e.weights for e in net.config.encoders}
        predict = network_predictor(net, forward, scaler, io.inputs)
        return Predictor(
            lambda s: io.predictions(predict(s), s), trainable_parameters=count_trainable(net), input=io.describe(),
            weights=weights, frozen_random=self.mode != "full" and "random" in weights.values(),
            history=history.epochs, model=net)


class ImageIO:
    """Classification and positioning: the |CSI| image through `wavesfm/image`, a linear head."""

    def __init__(self, net, task, train, size: int):
        from .transforms import WirelessImage

        self.shape = tuple(magnitude_image(train.csi[:1]).shape[1:])
        self.transform = WirelessImage.fit(magnitude_image(train.csi), log=True, size=size)
        net.set_transform(self.transform, "wavesfm/image")
        net.add_task(task.name, "linear", num_outputs=task.output_spec(train.data).num_outputs)

    def inputs(self, subset):
        return magnitude_image(subset.csi)

    def targets(self, subset):
        return subset.targets

    def predictions(self, outputs, subset):
        return outputs

    def describe(self) -> str:
        return "|CSI| " + self.transform.keeps(self.shape)


class PilotIO:
    """Channel estimation as the paper (Fig. 3d): reference and received pilots through
    `wavesfm/pilots` (LS-derotated), the ViT-block head regressing Re/Im of the whole
    (rx·subcarrier) × symbol grid; predictions go back to the csi layout."""

    def __init__(self, net, task, train, size: int):
        from .plugin import SIZES, task_heads
        from .recipes import ofdm_inputs
        from .transforms import PilotGrid

        self.ofdm_inputs = ofdm_inputs
        x, h = ofdm_inputs(train.data.subset(train.indices))
        self.transform = PilotGrid.fit(x, size=size, ls=True)
        self.shape = tuple(x.shape[2:])
        net.set_transform(self.transform, "wavesfm/pilots")
        arch = next(k for k, v in SIZES.items() if v["img_size"] == size)
        spec = task_heads(arch)["channel-estimation"]
        net.add_task(task.name, spec["name"], **{**spec["args"], "out_size": list(h.shape[-2:])})

    def inputs(self, subset):
        return self.ofdm_inputs(subset.data.subset(subset.indices))[0]

    def targets(self, subset):
        return self.ofdm_inputs(subset.data.subset(subset.indices))[1].numpy()

    def predictions(self, outputs, subset):
        """(n, 2, rx·sc, sym) real → complex (n, rx, tx=1, sc, sym), the csi layout."""
        csi = subset.data.csi
        out = outputs[:, 0] + 1j * outputs[:, 1]
        return out.reshape(len(out), csi.shape[1], csi.shape[2], csi.shape[3], csi.shape[4]).astype(np.complex64)

    def describe(self) -> str:
        return (f"reference and received pilots, LS-derotated, {self.shape[0]}x{self.shape[1]} resampled to "
                f"{self.transform.config['size'][0]}x{self.transform.config['size'][1]} (bicubic)")


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
