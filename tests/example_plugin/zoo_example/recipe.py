"""`wzoo run example/los`: train, evaluate on unseen areas, plot, save a pushable model."""

from pathlib import Path

import torch
from torch.nn.functional import cross_entropy

from zoo_core.validation import Count, Size


def run(out_dir: Path, n: Size = 4000, epochs: Size = 10, seed: Count = 0) -> dict:
    import zoo_core
    from zoo_core.data import metrics, plots
    from zoo_core.data.generators.city import generate
    from zoo_core.data.sample import scene_split
    from zoo_core.train import TrainConfig, fit

    data = generate(n, seed=seed, n_ant=8, n_sc=16, progress=True)
    train_idx, test_idx = scene_split(data, (0.8, 0.2), seed=seed)  # test areas are unseen
    csi, los = torch.from_numpy(data.csi), torch.from_numpy(data.los.astype("int64"))
    train = torch.utils.data.TensorDataset(csi[train_idx], los[train_idx])
    db = 20 * torch.log10(csi[train_idx].abs() + 1e-12)  # statistics of the training split only
    model = zoo_core.create_model("example/tiny-mlp", transform_config={"mean_db": db.mean().item(),
                                                                        "std_db": db.std().item()})

    def evaluate(m):
        pred = m(csi[test_idx]).argmax(1)
        return {"test_accuracy": metrics.accuracy(pred.numpy(), los[test_idx].numpy())}

    history = fit(model, train, lambda m, b: cross_entropy(m(b[0]), b[1]),
                  TrainConfig(epochs=epochs, lr=3e-3, batch_size=128, seed=seed, monitor="test_accuracy"),
                  evaluate=evaluate)
    with torch.no_grad():
        pred = model(csi[test_idx]).argmax(1).numpy()
    truth = los[test_idx].numpy()
    result = {
        "test_accuracy": metrics.accuracy(pred, truth),
        "majority_baseline": float(max(truth.mean(), 1 - truth.mean())),
        "best_epoch": history.best_epoch,
        "n_train": len(train_idx),
        "n_test": len(test_idx),
    }
    model.set_weights_source("wzoo:example/los")  # trained here: the card says where the weights came from
    plots.plot_confusion_matrix(metrics.confusion_matrix(pred, truth, 2), ["NLOS", "LOS"], out_dir / "confusion.png")
    plots.plot_training_curves(history.series(), out_dir / "training.png")
    model.save_pretrained(out_dir / "model", metrics={"test_accuracy": result["test_accuracy"]})
    return result
