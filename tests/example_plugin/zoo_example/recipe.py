"""`wzoo run example/los`: train, pick the best epoch on validation areas, score unseen test
areas with the `los` task's own metrics, plot, save a pushable model with its results."""

from pathlib import Path

import numpy as np
import torch
from torch.nn.functional import cross_entropy

from zoo_core.validation import Count, Size


def run(out_dir: Path, n: Size = 4000, epochs: Size = 10, seed: Count = 0, data: str | None = None) -> dict:
    """`data`: a sample-format file, LOADER:PATH or a generator (`wzoo run example/los --data
    city.h5`); default: `n` built-in city pairs with 8 antennas and 16 subcarriers."""
    import zoo_core
    from zoo_core.bench.splits import make_split
    from zoo_core.data import plots
    from zoo_core.data.sources import parse_data
    from zoo_core.tasks import get_task
    from zoo_core.train import TrainConfig, fit

    task = get_task("los")
    source = parse_data(data or "city", {} if data else {"n_ant": 8, "n_sc": 16}, n=n, seed=seed)
    data = source.load(progress=True)
    split = make_split(data, task, "auto", seed=seed)  # disjoint areas (or spatial blocks) where the data has them
    tr, va, te = (split.indices[k] for k in ("train", "val", "test"))
    csi, los = torch.from_numpy(data.csi), torch.from_numpy(task.targets(data))
    train = torch.utils.data.TensorDataset(csi[tr], los[tr])
    db = 20 * torch.log10(csi[tr].abs() + 1e-12)  # statistics of the training split only
    shape = list(csi.shape[1:])
    model = zoo_core.create_model("example/tiny-mlp", n_inputs=int(np.prod(shape)),
                                  transform_config={"mean_db": db.mean().item(), "std_db": db.std().item()},
                                  towers={"csi": {"fields": {"csi": {"shape": shape, "dtype": "complex64"}}}})

    def scores(idx):
        with torch.no_grad():
            return task.evaluate(model(csi[idx]).numpy(), los[idx].numpy()).metrics

    history = fit(model, train, lambda m, b: cross_entropy(m(b[0]), b[1]),
                  TrainConfig(epochs=epochs, lr=3e-3, batch_size=128, seed=seed, monitor=task.primary),
                  evaluate=lambda m: {task.primary: scores(va)[task.primary]})  # never the test split
    test = scores(te)
    with torch.no_grad():
        pred = model(csi[te]).argmax(1).numpy()
    truth = los[te].numpy()
    result = {**test, "majority_accuracy": float(max(truth.mean(), 1 - truth.mean())),
              "best_epoch": history.best_epoch, "split": split.describe()}
    model.set_weights_source("wzoo:example/los")  # trained here: the card says where the weights came from
    from zoo_core.data.metrics import confusion_matrix

    plots.plot_confusion_matrix(confusion_matrix(pred, truth, 2), ["NLOS", "LOS"], out_dir / "confusion.png")
    plots.plot_training_curves(history.series(), out_dir / "training.png")
    model.save_pretrained(out_dir / "model", results=[{"task": "los", "method": "example/los", "data": source.describe(),
                                                       "split": split.describe(), "metrics": test}])
    return result
