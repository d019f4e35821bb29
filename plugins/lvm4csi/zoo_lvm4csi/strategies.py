"""LVM4CSI's adaptation strategy for `wzoo bench`: `lvm4csi/frozen-head`, the paper's method.

A frozen ImageNet vision model (`lvm4csi/loc-efficientnet-lite0`: EfficientNet-Lite0 with the
offline ImageNet weights of the `[pretrained]` extra) looks at the CSI image the localization
model registers (`lvm4csi/real-imag-zero`, angular-delay domain, resized to `image_size`);
its features are computed once and cached on disk (`FeatureCache`), and a small head trains on
the cached features with `zoo_core.bench.learn.fit_on_task` (best epoch on the validation split).

- positioning: the paper's localization head (`lvm4csi/localization`, Fig. 7): a power branch
  reading the field `power_db` (which the per-sample normalised image no longer holds) joined
  to the features, dense `loc_hidden` (32-16), sigmoid to metres within the training positions'
  bounding box widened by `margin` of its span on each side. The head gives x and y; a third
  coordinate (the UE height of city data) is predicted as its training mean.
- los, beam: the core's `mlp` head (`mlp_hidden`, two dense layers by default) on the features.

The CSI the image wants is one complex matrix of M antennas x N subcarriers per sample. From
the sample format (N, rx, tx, subcarrier, symbol) it is taken when one antenna side has a single
element and there is one symbol: M = rx·tx (the antennas of the other side), N = subcarriers.
For city data (single-antenna UE, 32-antenna BS ULA, 64 subcarriers) that is
csi[:, 0, :, :, 0], 32 x 64. Other data (MIMO on both sides, several symbols, real CSI) is
refused by `supports()` with the reason: picking one antenna or symbol would drop data silently.

Weights: `pretrained=True` needs `wzoo-lvm4csi[pretrained]`; without it `supports()` says so
(the bench lists the strategy under "not run") instead of running on random frozen weights. A
model built with `pretrained=False` (tests) is flagged `frozen_random` on the leaderboard.

The feature cache is the per-user `FeatureCache()` folder (`$WZOO_CACHE/lvm4csi`, default
`~/.cache/wzoo/lvm4csi`): a strategy is not told the bench's output folder. Entries are keyed by
backbone, weights, transform config and a hash of the CSI, so a second bench on the same data
(another split fraction, seed or head option) reuses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo_core.bench import Predictor, Strategy, StrategyError

MODEL = "lvm4csi/loc-efficientnet-lite0"
TASKS = ("positioning", "los", "beam")


def matrix_shape(shape: tuple[int, ...]) -> tuple[int, int] | str:
    """(M antennas, N subcarriers) of sample-format CSI of `shape`, or why it cannot be mapped."""
    if len(shape) != 5:
        return f"needs csi (N, rx, tx, subcarrier, symbol), got {len(shape)} axes {tuple(shape)}"
    _, rx, tx, sc, sym = shape
    if sym != 1 or (rx != 1 and tx != 1):
        return (f"needs one M antennas x N subcarriers matrix per sample: csi (N, rx, tx, subcarrier, 1) "
                f"with a single antenna on one side, got {tuple(shape)}")
    return rx * tx, sc


def csi_matrix(csi: np.ndarray):
    """(n, rx, tx, sc, 1) complex → (n, M, N) complex64 torch tensor (M = rx·tx, N = sc)."""
    import torch

    shape = matrix_shape(np.shape(csi))
    if isinstance(shape, str):
        raise StrategyError(f"lvm4csi/frozen-head {shape}")
    h = np.asarray(csi)
    return torch.from_numpy(np.ascontiguousarray(h.reshape(len(h), *shape), dtype=np.complex64))


def pretrained_reason() -> str | None:
    """Why pretrained EfficientNet-Lite0 weights cannot be had here (None when they can)."""
    from . import towers

    if towers.lite0_package_available():
        return None
    return f"needs EfficientNet-Lite0's ImageNet weights, offline: {towers.INSTALL_PRETRAINED}"


def _say(progress: bool, message: str) -> None:
    if progress:
        from tqdm.auto import tqdm

        tqdm.write(f"[lvm4csi] {message}")


def _context(subset) -> dict:
    ctx = subset.context()
    ctx.pop("class_names", None)
    return ctx


class FrozenHead(Strategy):
    """Frozen LVM features computed once (cached), a small head trained on them."""

    models = (MODEL,)
    accepts = (MODEL,)
    tasks = TASKS
    defaults: dict[str, Any] = {"epochs": 40, "lr": 1e-3, "batch_size": 128, "loc_hidden": [32, 16],
                                "mlp_hidden": [256], "image_size": 224, "margin": 0.05}
    cpu_time = ("features once, cached: 0.1-0.2 s per sample at 224 px (EfficientNet-Lite0, 2 cores); "
                "the head: about 0.25 s per epoch per 1,000 samples; 1,500 city samples about 4 min in all")

    def supports(self, task, data):
        reason = super().supports(task, data)
        if reason is None:
            csi = getattr(data, "csi", None)
            if csi is None:
                return "needs the field csi"
            shape = matrix_shape(np.shape(csi))
            if isinstance(shape, str):
                return shape
            if not np.iscomplexobj(csi):
                return "needs complex csi (the image is its real and imaginary parts)"
            if task.name == "positioning" and task.output_spec(data).num_outputs < 2:
                return "needs 2-D or 3-D positions (the localization head predicts x and y)"
            reason = pretrained_reason()
        return reason

    # ------------------------------------------------------------ the network
    @staticmethod
    def build(model, m: int, n: int, image_size: int):
        """The registered model with the actual CSI shape and image size, no heads."""
        from zoo_core.factory import model_config

        from .errors import PretrainedWeightsUnavailable

        try:
            if model.start is not None and model.pretrained:
                return model.create()  # a saved folder: its own weights, transform and heads
            encoder = model_config(model.name).encoders[0]
            transform = {**dict(encoder.transform.args), "size": int(image_size)}
            field = next(iter(encoder.fields))
            return model.create(pretrained=model.pretrained, missing_weights="error", heads={},
                                transform_config=transform,
                                towers={encoder.name: {"fields": {field: {"shape": [m, n], "dtype": "complex64"}}}})
        except PretrainedWeightsUnavailable as exc:
            raise StrategyError(str(exc)) from None

    @staticmethod
    def describe_input(net, m: int, n: int, positioning: bool) -> str:
        cfg = dict(net.transform.config)
        if cfg.get("angular_delay", False):
            h, w = cfg["gamma"] * n, cfg["beta"] * m
            what = f"CSI real/imag angular-delay image ({m}x{n}, DFTs zero-padded to {h}x{w})"
        else:
            h, w = m, n
            what = f"CSI real/imag image {m}x{n}"
        size = cfg.get("size")
        what += f" resampled to {size}x{size}" if size and (h, w) != (size, size) else ""
        what += ", per-sample normalised"
        return what + ("; channel power (dB) as a second input" if positioning else ": power removed")

    # ------------------------------------------------------------ adapt
    def adapt(self, model, task, train, val, *, seed=0, progress=True, epochs=100, lr=1e-3, batch_size=128,
              loc_hidden=(32, 16), mlp_hidden=(256,), image_size=224, margin=0.05, **options):
        import torch

        from zoo_core.bench.learn import TargetScaler, count_trainable, fit_on_task, network_predictor
        from zoo_core.fields import power_db

        from .cache import FeatureCache

        if model is None:
            raise StrategyError("lvm4csi/frozen-head adapts a model; none was given")
        shape = matrix_shape(np.shape(train.csi))
        if isinstance(shape, str):
            raise StrategyError(f"lvm4csi/frozen-head {shape}")
        m, n = shape
        torch.manual_seed(seed)  # random weights (pretrained=False) are then the same run to run: cache hits
        net = self.build(model, m, n, image_size)
        net.eval()
        cache = FeatureCache()

        def features(subset, what: str):
            x = csi_matrix(subset.csi)
            got = cache.features(net, x, batch_size=32, progress=progress)
            how = "from the cache" if got.hit else "extracted and cached"
            _say(progress, f"features of {len(x)} {what} samples: {how} ({got.seconds:.1f} s)")
            return x, got.features

        positioning = task.name == "positioning"
        x_tr, f_tr = features(train, "training")
        x_va, f_va = features(val, "validation")
        torch.manual_seed(seed)
        key = task.name
        if key in net.heads:  # a folder started from may bring a head for the task: a fresh one trains
            net.drop_task(key)
        if positioning:
            y = np.asarray(train.targets, dtype=np.float64)
            scaler = TargetScaler.fit(task, y)  # what fit_on_task standardises the targets with
            lo, hi = y[:, :2].min(0), y[:, :2].max(0)
            pad = margin * np.maximum(hi - lo, 1.0)
            p_tr = power_db(x_tr)
            head = net.add_task(key, "lvm4csi/localization", bounds=[(lo - pad).tolist(), (hi + pad).tolist()],
                                hidden=[int(h) for h in loc_hidden], power="field",
                                power_offset_db=float(p_tr.mean()),
                                power_scale_db=max(float(p_tr.std()), 1e-3))
            mean2 = torch.tensor(scaler.mean[:2], dtype=torch.float32)
            std2 = torch.tensor(scaler.std[:2], dtype=torch.float32)
            extra = y.shape[1] - 2

            def forward(h, xb):  # metres from the head → the standardised targets fit_on_task trains on
                z = (h(xb["features"], xb["power_db"]) - mean2) / std2
                return torch.cat([z, z.new_zeros(len(z), extra)], dim=1) if extra else z  # 0 = training mean

            def inputs(x, f):
                return {"features": f, "power_db": power_db(x)}
        else:
            head = net.add_task(key, "mlp", num_outputs=task.output_spec(train.data).num_outputs,
                                hidden=[int(h) for h in mlp_hidden])

            def forward(h, xb):
                return h(xb)

            def inputs(x, f):
                return f

        history, scaler, forward = fit_on_task(
            head, task, inputs(x_tr, f_tr), train.targets, inputs(x_va, f_va), val.targets, forward=forward,
            epochs=int(epochs), lr=float(lr), batch_size=int(batch_size), seed=seed, progress=progress,
            val_context=_context(val), desc="lvm4csi head")

        def test_inputs(subset):
            return inputs(*features(subset, "test"))

        weights = {e.name: e.weights for e in net.config.encoders}
        trainable = count_trainable(net)
        if trainable != count_trainable(head):  # the LVM never trains: anything else is a bug
            raise StrategyError(f"lvm4csi/frozen-head: {trainable - count_trainable(head)} backbone parameters "
                                "are trainable; the LVM must stay frozen")
        return Predictor(
            network_predictor(head, forward, scaler, test_inputs), trainable_parameters=count_trainable(head),
            input=self.describe_input(net, m, n, positioning), weights=weights,
            frozen_random="random" in weights.values(), history=history.epochs, model=net)
