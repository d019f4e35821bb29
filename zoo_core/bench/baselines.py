"""Non-learned and trivial baselines, registered as strategies so every leaderboard has them.

Without them a leaderboard flatters: LOS on ray-traced data is nearly a received-power
threshold, and a majority beam can beat a model that only sees |CSI|.

- `majority`: the most frequent training class (any classification task, beam included);
- `power-logistic`: logistic regression on the mean received power in dB (LOS);
- `mean-position` and `knn-fingerprint` (k nearest training samples by angle-delay magnitude,
  inverse-distance weighted) for positioning;
- `exhaustive-beam`: codebook search on the true channel, the beam upper bound;
- `ls` and `lmmse` (genie covariance) for channel estimation on the built-in generators.
"""

from __future__ import annotations

import numpy as np

from .strategy import Predictor, Strategy

CLASSIFICATION = ("los", "beam", "activity", "rf-classification")


def power_db(csi: np.ndarray) -> np.ndarray:
    """Mean received power per sample in dB: the core's `power_db` field, on numpy arrays."""
    import torch

    from zoo_core.fields import power_db as field

    return field(torch.from_numpy(np.ascontiguousarray(csi))).double().numpy()


class Baseline(Strategy):
    baseline = True

    def supports(self, task, data):
        if self.tasks and task.name not in self.tasks:
            return f"is a {', '.join(self.tasks)} baseline"
        return None


class Majority(Baseline):
    tasks = CLASSIFICATION

    def adapt(self, model, task, train, val, *, seed=0, progress=True, **options):
        counts = np.bincount(train.targets)
        n = max(task.output_spec(train.data).num_outputs, len(counts))
        scores = np.zeros(n, dtype=np.float32)
        scores[: len(counts)] = counts / counts.sum()  # ranked by frequency, so top-3 is defined too

        return Predictor(lambda s: np.tile(scores, (len(s), 1)), input="training labels only")


def fit_logistic(x: np.ndarray, y: np.ndarray, iterations: int = 50, ridge: float = 1e-6) -> np.ndarray:
    """Weights [w, b] of p(y=1|x) = σ(w·x + b) by Newton's method on standardised x."""
    mu, sd = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
    z = np.column_stack([(x - mu) / sd, np.ones(len(x))])
    w = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y)
        hess = (z * (p * (1 - p))[:, None]).T @ z + ridge * np.eye(z.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    a = w[:-1] / sd  # back to raw x
    return np.concatenate([a, [w[-1] - a @ mu]])


class PowerLogistic(Baseline):
    tasks = ("los",)

    def adapt(self, model, task, train, val, *, seed=0, progress=True, **options):
        w = fit_logistic(power_db(train.csi)[:, None], train.targets.astype(np.float64))

        def predict(s):
            logit = power_db(s.csi) * w[0] + w[1]
            return np.column_stack([-logit, logit]).astype(np.float32)  # softmax of these = σ(logit)

        return Predictor(predict, trainable_parameters=2, input="mean received power (dB), one number")


class MeanPosition(Baseline):
    tasks = ("positioning",)

    def adapt(self, model, task, train, val, *, seed=0, progress=True, **options):
        mean = train.targets.mean(axis=0)
        return Predictor(lambda s: np.tile(mean, (len(s), 1)), input="training positions only")


class KNNFingerprint(Baseline):
    tasks = ("positioning",)
    defaults = {"k": 5}

    @staticmethod
    def features(csi: np.ndarray) -> np.ndarray:
        """The angle-delay magnitude |DFT over BS antennas of IDFT over subcarriers|, unit norm:
        path angles and delays change slowly with position, while |CSI| itself fades within a
        wavelength (1 cm at 28 GHz) and does worse than guessing the mean position."""
        h = np.asarray(csi)
        a = np.abs(np.fft.fft(np.fft.ifft(h, axis=3), axis=2)).reshape(len(h), -1).astype(np.float32)
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-30)

    def adapt(self, model, task, train, val, *, seed=0, progress=True, k: int = 5, **options):
        import torch

        book = torch.from_numpy(self.features(train.csi))
        where = train.targets

        def predict(s):
            q = torch.from_numpy(self.features(s.csi))
            out = []
            for i in range(0, len(q), 1024):
                d = torch.cdist(q[i:i + 1024], book)
                dist, idx = d.topk(min(k, len(book)), largest=False)
                w = 1 / (dist.numpy() + 1e-6)
                out.append((where[idx.numpy()] * w[..., None]).sum(1) / w.sum(1, keepdims=True))
            return np.concatenate(out)

        return Predictor(predict, input="angle-delay magnitude of the CSI (no phase), training fingerprints")


class ExhaustiveBeam(Baseline):
    tasks = ("beam",)

    def adapt(self, model, task, train, val, *, seed=0, progress=True, **options):
        book = task.codebook(train.data)
        return Predictor(lambda s: task.beam_power(s.csi, book).astype(np.float32),
                         input="the true channel (upper bound, not a predictor)")


class _ChannelBaseline(Baseline):
    tasks = ("channel-estimation",)
    generators = ("geometric", "ofdm-pilots")

    def supports(self, task, data):
        reason = super().supports(task, data)
        if reason:
            return reason
        if data.meta.get("generator") not in self.generators:
            return f"needs data from the {' or '.join(self.generators)} generator (pilots and noise known)"
        return None

    def estimate(self, data):
        raise NotImplementedError

    def adapt(self, model, task, train, val, *, seed=0, progress=True, **options):
        return Predictor(lambda s: self.estimate(s.data.subset(s.indices)), input=self.input)


class LeastSquares(_ChannelBaseline):
    input = "received pilots"

    def estimate(self, data):
        from zoo_core.data.baselines import ls

        return ls(data)


class GenieLMMSE(_ChannelBaseline):
    input = "received pilots + true channel covariance and noise variance (genie)"

    def estimate(self, data):
        from zoo_core.data.baselines import lmmse

        return lmmse(data)
