"""The example's bench strategy: its MLP trained from random weights on a task's data.

A strategy turns the bench's data into the model's input and returns a predictor; the core
runs it next to every other method on the same split (`wzoo bench los`)."""

import numpy as np
import torch

from zoo_core.bench import Predictor, Strategy


class Supervised(Strategy):
    """|CSI| in dB → the example MLP → a linear head, every weight trained."""

    models = ("example/tiny-mlp",)
    tasks = ("los", "beam", "positioning", "activity", "rf-classification")
    full = True
    pretrained = False  # no pre-trained weights exist: this run is its own scratch baseline
    defaults = {"epochs": 30, "lr": 3e-3, "batch_size": 128, "width": 64}
    cpu_time = "a few seconds per 1,000 samples"

    def adapt(self, model, task, train, val, *, seed=0, progress=True, epochs=30, lr=3e-3, batch_size=128,
              width=64):
        import zoo_core
        from zoo_core.bench.learn import count_trainable, fit_on_task, network_predictor

        shape = list(train.csi.shape[1:])
        db = 20 * np.log10(np.abs(train.csi) + 1e-12)  # statistics of the training split only
        net = zoo_core.create_model(
            model.name, n_inputs=int(np.prod(shape)), width=width, heads={},
            transform_config={"mean_db": float(db.mean()), "std_db": float(db.std())},
            towers={"csi": {"fields": {"csi": {"shape": shape, "dtype": "complex64"}}}})
        net.add_task(task.name, "linear", num_outputs=task.output_spec(train.data).num_outputs)

        def inputs(subset):
            return torch.from_numpy(np.ascontiguousarray(subset.csi, dtype=np.complex64))

        history, scaler, forward = fit_on_task(net, task, inputs(train), train.targets, inputs(val), val.targets,
                                               epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                                               progress=progress)
        return Predictor(network_predictor(net, forward, scaler, inputs), trainable_parameters=count_trainable(net),
                         input=f"|CSI| in dB (magnitude only), {'x'.join(map(str, shape))}",
                         weights={t: e.weights for t, e in zip(net.towers, net.config.encoders)},
                         history=history.epochs, model=net)
