"""`fit_on_task` hands `fit` whole batches (one gather per field); the run is the same as the
per-sample path (torch's DataLoader over the items, default_collate): same batches in the same
order, same history, same weights."""

import numpy as np
import pytest
import torch
from torch import nn

from zoo_core.bench import learn
from zoo_core.tasks import get_task


class _ItemsOnly(learn._Pairs):
    """The per-sample path: no batched fetch, so fit's own DataLoader collates items."""

    __getitems__ = None


class _DictNet(nn.Module):
    def __init__(self, outputs):
        super().__init__()
        self.a, self.b = nn.Linear(6, 16), nn.Linear(1, 16)
        self.out = nn.Linear(16, outputs)

    def forward(self, x, task=None):
        return self.out(torch.relu(self.a(x["csi"]) + self.b(torch.as_tensor(x["power"]).float()[:, None])))


def _train(monkeypatch, batched: bool, task_name: str, x, y, xv, yv, outputs):
    if not batched:
        monkeypatch.setattr(learn, "_training_data", lambda x, y: (_ItemsOnly(x, y), None))
    torch.manual_seed(0)
    net = _DictNet(outputs)
    history, _, _ = learn.fit_on_task(net, get_task(task_name), x, y, xv, yv, epochs=3, batch_size=16, seed=5,
                                      progress=False)
    monkeypatch.undo()
    return history, net.state_dict()


@pytest.mark.parametrize("task_name", ["los", "positioning"])
def test_batched_fetch_trains_exactly_as_the_per_sample_path(monkeypatch, task_name):
    rng = np.random.default_rng(0)
    n = 75  # not a multiple of the batch: the last, short batch too
    x = {"csi": torch.from_numpy(rng.standard_normal((n, 6)).astype(np.float32)),
         "power": rng.standard_normal(n)}  # a numpy field: default_collate made it a tensor
    xv = {"csi": x["csi"][:20], "power": x["power"][:20]}
    if task_name == "los":
        y, outputs = rng.integers(0, 2, n), 2
    else:
        y, outputs = rng.standard_normal((n, 2)) * 30, 2
    ref_hist, ref_state = _train(monkeypatch, False, task_name, x, y, xv, y[:20], outputs)
    hist, state = _train(monkeypatch, True, task_name, x, y, xv, y[:20], outputs)
    assert hist.epochs == ref_hist.epochs
    for k in ref_state:
        assert torch.equal(state[k], ref_state[k]), k


def test_gather_matches_default_collate():
    from torch.utils.data import default_collate

    x = {"t": torch.arange(12.).reshape(6, 2), "a": np.arange(6, dtype=np.float64), "m": np.ones((6, 3), np.int32)}
    y = torch.arange(6)
    pairs = learn._Pairs(x, y)
    idx = [4, 0, 5]
    got = pairs.__getitems__(idx)
    ref = default_collate([pairs[i] for i in idx])
    for k in x:
        assert got[0][k].dtype == ref[0][k].dtype and torch.equal(got[0][k], ref[0][k])
    assert torch.equal(got[1], ref[1])
