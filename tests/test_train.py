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


def _scripted(values):
    """An `evaluate` that reports the given validation losses, one per epoch."""
    it = iter(values)
    return lambda m: {"val_loss": next(it)}


def test_plateau_schedule_drops_the_lr_after_patience_epochs_without_improvement():
    """ReduceLROnPlateau's documented rule, worked out by hand for a scripted validation loss
    (patience 1, factor 0.5): the lr drops once two epochs in a row bring nothing better."""
    losses = [5, 4, 4, 4, 3, 3, 3, 3]
    # epoch:  1  2  3  4(2nd bad: drop after) 5(best) 6 7(2nd bad: drop after) 8
    expected = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    cfg = TrainConfig(epochs=8, lr=1.0, optimizer="sgd", batch_size=16, progress=False, schedule="plateau",
                      plateau_patience=1, plateau_factor=0.5, monitor="val_loss", monitor_mode="min")
    history = fit(zoo_core.create_model("fake/tiny"), _data(), _loss, cfg, evaluate=_scripted(losses))
    assert [e["lr"] for e in history.epochs] == pytest.approx(expected)
    assert history.stopped_early is None
    assert history.last_lr == pytest.approx(0.25)  # epoch 8 brought nothing better, but only once


def test_early_stopping_ends_the_run_and_keeps_the_best_epoch(tmp_path):
    """Three epochs without a better monitor after the best (epoch 2) end the run at epoch 5
    with epoch 2's weights; resuming the stopped run trains nothing more."""
    snapshots = []
    losses = iter([3.0, 2.0, 2.5, 2.4, 2.2, 1.0, 0.5])

    def evaluate(m):
        snapshots.append({k: v.clone() for k, v in m.state_dict().items()})
        return {"val_loss": next(losses)}

    cfg = TrainConfig(epochs=7, lr=1e-2, batch_size=16, progress=False, early_stopping=3, monitor="val_loss",
                      monitor_mode="min", checkpoint_dir=str(tmp_path / "ckpt"))
    model = zoo_core.create_model("fake/tiny")
    history = fit(model, _data(), _loss, cfg, evaluate=evaluate)
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3, 4, 5]
    assert history.best_epoch == 2 and history.stopped_early == 5
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshots[1][key]), key
    again = fit(zoo_core.create_model("fake/tiny"), _data(), _loss, cfg, evaluate=evaluate)
    assert len(again.epochs) == 5 and again.stopped_early == 5 and len(snapshots) == 5


def test_a_resumed_plateau_run_keeps_its_reduced_lr(tmp_path):
    """The plateau schedule's state is in the checkpoint: killed after its first drop and
    resumed, the run continues at the reduced lr instead of starting over."""
    cfg = TrainConfig(epochs=5, lr=1.0, optimizer="sgd", batch_size=16, progress=False, schedule="plateau",
                      plateau_patience=0, plateau_factor=0.5, monitor="val_loss", monitor_mode="min",
                      checkpoint_dir=str(tmp_path / "ckpt"))
    values = [2.0, 2.0, 2.0, 2.0, 2.0]
    calls = []

    def evaluate(m, crash=False):
        if crash and len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return {"val_loss": values[len(calls) - 1]}

    with pytest.raises(KeyboardInterrupt):
        fit(zoo_core.create_model("fake/tiny"), _data(), _loss, cfg, evaluate=lambda m: evaluate(m, crash=True))
    history = fit(zoo_core.create_model("fake/tiny"), _data(), _loss, cfg, evaluate=evaluate)
    # patience 0: each epoch after the first brings nothing better and halves the lr after it;
    # a schedule restarted on resume would take epoch 3's loss as a new best and keep 0.5 twice
    assert [e["lr"] for e in history.epochs] == pytest.approx([1.0, 1.0, 0.5, 0.25, 0.125])
    assert history.last_lr == pytest.approx(0.0625)  # the drop after the last epoch


@pytest.mark.parametrize("changes, message", [
    (dict(schedule="plateau"), "monitor"),
    (dict(early_stopping=3), "monitor"),
    (dict(schedule="plateau", monitor="val_loss", warmup_epochs=1.0), "warm-up"),
    (dict(schedule="plateau", monitor="val_loss", plateau_factor=1.5), "plateau_factor"),
    (dict(early_stopping=0, monitor="val_loss"), "early_stopping"),
    (dict(schedule="step"), "schedule"),
    (dict(batch_size=0), "batch_size"),
])
def test_schedule_and_stopping_options_are_checked(changes, message):
    cfg = TrainConfig(**{"epochs": 1, "progress": False, **changes})
    with pytest.raises(WzooError, match=message):
        fit(zoo_core.create_model("fake/tiny"), _data(), _loss, cfg, evaluate=_scripted([1.0]))


def _whole_batches(n_items=6, rows=4, seed=3):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(rows, 3, generator=gen), torch.randn(rows, 1, generator=gen)) for _ in range(n_items)]


def _mse(m, batch):
    return torch.nn.functional.mse_loss(m(batch[0]), batch[1])


def test_data_of_whole_batches_trains_one_item_per_step():
    """batch_size=None: each item is one optimiser step on exactly that batch, in the order of a
    loader built with batch_size=None (the step-by-step reference loop is written out here)."""
    items = _whole_batches()
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    reference = torch.nn.Linear(3, 1)
    reference.load_state_dict(model.state_dict())
    loader = torch.utils.data.DataLoader(items, batch_size=None, shuffle=False)
    fit(model, loader, _mse, TrainConfig(epochs=2, lr=0.1, optimizer="sgd", progress=False))
    opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(2):
        for x, y in items:
            opt.zero_grad()
            _mse(reference, (x, y)).backward()
            opt.step()
    for a, b in zip(model.state_dict().values(), reference.state_dict().values()):
        torch.testing.assert_close(a, b)
    # the same through TrainConfig(batch_size=None) on the plain list (shuffled, 6 steps per epoch)
    steps = []
    fit(torch.nn.Linear(3, 1), items, lambda m, b: steps.append(b[0].shape) or _mse(m, b),
        TrainConfig(epochs=1, lr=0.1, batch_size=None, progress=False))
    assert steps == [torch.Size([4, 3])] * 6


def test_drop_last_leaves_out_the_short_batch():
    sizes = []
    data = TensorDataset(torch.randn(20, 3), torch.randn(20, 1))
    for drop, expected in ((False, [8, 8, 4]), (True, [8, 8])):
        sizes.clear()
        fit(torch.nn.Linear(3, 1), data, lambda m, b: sizes.append(len(b[0])) or _mse(m, b),
            TrainConfig(epochs=1, batch_size=8, drop_last=drop, progress=False))
        assert sizes == expected
    with pytest.raises(WzooError, match="no whole batch"):
        fit(torch.nn.Linear(3, 1), data, _mse, TrainConfig(epochs=1, batch_size=32, drop_last=True, progress=False))


def test_the_fused_optimizer_update_gives_the_per_tensor_loop_s_weights(monkeypatch):
    """fit's optimisers run torch's foreach update (faster on CPU); the same run with torch's
    per-tensor loop (foreach=False) ends with the same weights bit for bit."""
    import zoo_core.train as train

    data = TensorDataset(torch.randn(64, 3), torch.randn(64, 1))
    fused = train._optimizer

    def looped(cfg, groups):
        opt = fused(cfg, groups)
        assert all(g["foreach"] for g in opt.param_groups)
        for g in opt.param_groups:
            g["foreach"] = False
        return opt

    for kind in ("adamw", "adam", "sgd"):
        ends = []
        for make in (fused, looped):
            monkeypatch.setattr(train, "_optimizer", make)
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
            before = [p.clone() for p in model.parameters()]
            fit(model, data, _mse, TrainConfig(epochs=5, lr=0.01, optimizer=kind, weight_decay=0.01, batch_size=16,
                                               progress=False))
            assert not torch.equal(before[0], model[0].weight)
            ends.append(model.state_dict())
        for key in ends[0]:
            assert torch.equal(ends[0][key], ends[1][key]), (kind, key)


def test_a_whole_batch_loader_with_another_sampler_is_refused_not_replaced():
    """A subset or weighted sampler over whole batches is refused (it used to be replaced by
    every item in order); a monitor without an evaluate is refused before any training."""
    items = _whole_batches()
    subset = torch.utils.data.DataLoader(items, batch_size=None,
                                         sampler=torch.utils.data.SubsetRandomSampler([0, 1]))
    with pytest.raises(WzooError, match="SubsetRandomSampler is not supported"):
        fit(torch.nn.Linear(3, 1), subset, _mse, TrainConfig(epochs=1, progress=False))
    calls = []
    with pytest.raises(WzooError, match="needs an `evaluate"):
        fit(torch.nn.Linear(3, 1), items, lambda m, b: calls.append(1) or _mse(m, b),
            TrainConfig(epochs=1, batch_size=None, monitor="val_loss", progress=False))
    assert calls == []
