"""The core training loop: it learns, respects frozen parameters, and resumes exactly."""

import pytest
import torch
from torch.utils.data import TensorDataset

import zoo_core
from zoo_core.errors import WzooError
from zoo_core.train import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("fake_plugin")


def _data(n=96, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, generator=gen)
    y = (x[:, 0, :4].sum(1) > 0).long()  # a rule the model can learn
    return TensorDataset(x, y)


def _loss(model, batch):
    return torch.nn.functional.cross_entropy(model(batch[0], task="los"), batch[1])


def _accuracy(model, data):
    x, y = data.tensors
    return (model(x, task="los").argmax(1) == y).float().mean().item()


def test_loss_goes_down_and_history_records_best_epoch():
    data = _data()
    model = zoo_core.create_model("fake/tiny")
    history = fit(model, data, _loss, TrainConfig(epochs=6, lr=1e-2, batch_size=16, progress=False),
                  evaluate=lambda m: {"acc": _accuracy(m, data)})
    losses = history.series()["train_loss"]
    assert losses[-1] < 0.7 * losses[0]
    assert history.best_epoch == 1 + min(range(6), key=losses.__getitem__)
    assert history.series()["acc"][-1] > 0.8


def test_frozen_parameters_do_not_move_and_frozen_norm_stats_stay():
    model = zoo_core.create_model("fake/tiny", norm=True).freeze_backbone()
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = model.heads["los"].fc.weight.clone()
    fit(model, _data(), _loss, TrainConfig(epochs=2, lr=1e-2, batch_size=16, weight_decay=0.1, progress=False))
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} changed although frozen"
    assert all(p.grad is None for p in model.backbone.parameters())
    assert not torch.equal(model.heads["los"].fc.weight, head_before)


def test_resume_equals_uninterrupted_training(tmp_path):
    cfg = dict(lr=5e-3, batch_size=16, progress=False, schedule="cosine", warmup_epochs=1, seed=3)
    torch.manual_seed(0)
    straight = zoo_core.create_model("fake/tiny")
    fit(straight, _data(), _loss, TrainConfig(epochs=4, **cfg))

    def crash_in_epoch_3(model):
        if len(model.seen) == 2:
            raise KeyboardInterrupt
        model.seen.append(1)
        return {}

    torch.manual_seed(0)
    first = zoo_core.create_model("fake/tiny")
    first.seen = []
    with pytest.raises(KeyboardInterrupt):
        fit(first, _data(), _loss, TrainConfig(epochs=4, checkpoint_dir=str(tmp_path / "ckpt"), **cfg),
            evaluate=crash_in_epoch_3)
    assert (tmp_path / "ckpt" / "state.json").exists()
    resumed = zoo_core.create_model("fake/tiny")  # different random init: the checkpoint must win
    history = fit(resumed, _data(), _loss, TrainConfig(epochs=4, checkpoint_dir=str(tmp_path / "ckpt"), **cfg))
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3, 4]
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6)


def test_clear_errors():
    model = zoo_core.create_model("fake/tiny")
    with pytest.raises(WzooError, match="empty"):
        fit(model, TensorDataset(torch.zeros(0, 1, 8), torch.zeros(0).long()), _loss)
    with pytest.raises(WzooError, match="no trainable parameters"):
        fit(model.requires_grad_(False), _data(), _loss, TrainConfig(epochs=1, progress=False))
    with pytest.raises(WzooError, match="optimizer must be one of"):
        fit(model.requires_grad_(True), _data(), _loss, TrainConfig(epochs=1, optimizer="lion", progress=False))
    nan_loss = lambda m, b: _loss(m, b) * float("nan")  # noqa: E731
    with pytest.raises(WzooError, match="loss became nan"):
        fit(model, _data(), nan_loss, TrainConfig(epochs=1, progress=False))


def test_the_model_ends_with_the_weights_of_the_best_monitored_epoch():
    """A monitor whose best epoch is not the last: the weights evaluated at that epoch are the
    ones the model ends with (and `restore_best=False` keeps the last epoch's)."""
    data = _data()
    snapshots = []

    def evaluate(m):
        snapshots.append({k: v.clone() for k, v in m.state_dict().items()})
        return {"score": next(scores)}

    for restore, expected in ((True, 1), (False, 3)):
        scores = iter([0.2, 0.9, 0.5, 0.4])  # epoch 2 is the best by this made-up metric
        snapshots.clear()
        model = zoo_core.create_model("fake/tiny")
        history = fit(model, data, _loss, TrainConfig(epochs=4, lr=1e-2, batch_size=16, progress=False,
                                                      monitor="score", restore_best=restore), evaluate=evaluate)
        assert history.best_epoch == 2
        for key, value in model.state_dict().items():
            assert torch.equal(value, snapshots[expected][key]), key


def test_a_resumed_run_still_ends_with_the_best_epoch(tmp_path):
    """The best weights are kept in the checkpoint: killed in epoch 3 and resumed, a run whose
    best epoch was 1 ends with epoch 1's weights."""
    cfg = TrainConfig(epochs=4, lr=1e-2, batch_size=16, progress=False, monitor="score",
                      checkpoint_dir=str(tmp_path / "ckpt"))
    snapshots = {}

    def evaluate(m, crash=False):
        epoch = len(snapshots) + 1
        if crash and epoch == 3:
            raise KeyboardInterrupt
        snapshots[epoch] = {k: v.clone() for k, v in m.state_dict().items()}
        return {"score": 1.0 if epoch == 1 else 0.5}

    with pytest.raises(KeyboardInterrupt):
        fit(zoo_core.create_model("fake/tiny"), _data(), _loss, cfg, evaluate=lambda m: evaluate(m, crash=True))
    resumed = zoo_core.create_model("fake/tiny")
    history = fit(resumed, _data(), _loss, cfg, evaluate=evaluate)
    assert history.best_epoch == 1 and [e["epoch"] for e in history.epochs] == [1, 2, 3, 4]
    for key, value in resumed.state_dict().items():
        assert torch.equal(value, snapshots[1][key]), key


def test_a_library_scheduler_steps_once_per_batch():
    """fit(scheduler=...) runs torch's own schedulers, e.g. cosine with warm restarts."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    data = TensorDataset(torch.randn(32, 3), torch.randn(32, 1))
    seen = {}

    def make(cfg, optimizer, steps_per_epoch):
        seen["steps"] = steps_per_epoch
        seen["scheduler"] = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        return seen["scheduler"]

    fit(model, data, lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1]),
        TrainConfig(epochs=2, lr=0.1, batch_size=8, progress=False), scheduler=make)
    assert seen["steps"] == 4 and seen["scheduler"].get_last_lr()[0] == pytest.approx(0.1 * 0.5 ** 8)
