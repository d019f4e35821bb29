"""The batched data path: `WirelessDataset` hands whole batches to torch's DataLoader.

Checked against the per-sample path it replaces (items fetched one by one and stacked by
torch's default collate) and against the `WirelessData` arrays themselves."""

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader

from zoo_core.data.dataset import WirelessDataset, collate
from zoo_core.data.generators import city, geometric
from zoo_core.train import TrainConfig, fit

FIELDS = ("csi", "extras.theta", "extras.snr_db", "extras.n_paths")


@pytest.fixture(scope="module")
def data():
    return geometric.generate(37, seed=1, M=6, N=5, L=(1, 3))


def _per_sample(ds, positions):
    """The old path: one item dict per position, stacked by torch's default collate."""
    return torch.utils.data.default_collate([ds[int(p)] for p in positions])


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert torch.equal(a[k], b[k]), k


def test_batch_equals_stacked_items_and_the_arrays(data):
    ds = WirelessDataset(data, fields=FIELDS, indices=np.arange(3, 30))
    pos = [5, 0, 26, 5, 11]
    got = ds.batch(pos)
    _assert_same(got, _per_sample(ds, pos))
    _assert_same(ds[pos], got)  # a list of positions indexes a batch
    _assert_same(ds[torch.tensor(pos)], got)
    rows = np.arange(3, 30)[pos]
    np.testing.assert_array_equal(got["csi"].numpy(), data.csi[rows])
    assert got["extras.theta"].dtype == torch.float32  # float64 arrays become float32
    np.testing.assert_allclose(got["extras.theta"].numpy(), data.extras["theta"][rows].astype(np.float32))
    assert ds[4]["csi"].shape == data.csi.shape[1:]  # an int is still one sample


def test_batch_does_not_alias_the_data(data):
    ds = WirelessDataset(data, fields=("csi",))
    got = ds.batch(np.arange(4))
    got["csi"].zero_()
    assert np.abs(data.csi[:4]).max() > 0


def test_real_layout_and_scene_fields():
    d = city.generate(12, seed=0, keep_outage=True)
    ds = WirelessDataset(d, fields=("csi", "env_map", "labels.position"), complex_as="real")
    pos = [7, 1, 1, 10]
    got = ds.batch(pos)
    _assert_same(got, _per_sample(ds, pos))
    np.testing.assert_array_equal(got["env_map"].numpy(), d.env_map[d.scene_id[pos]].astype(got["env_map"].numpy().dtype))
    assert got["csi"].shape == (4, *d.csi.shape[1:], 2)


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_yields_the_batches_of_the_per_sample_loader(data, drop_last):
    ds = WirelessDataset(data, fields=FIELDS)
    new_gen, old_gen = torch.Generator(), torch.Generator()
    new = ds.loader(8, shuffle=True, generator=new_gen, drop_last=drop_last)
    old = DataLoader(ds, batch_size=8, shuffle=True, generator=old_gen, drop_last=drop_last)
    assert len(new) == len(old) == (37 // 8 if drop_last else -(-37 // 8))
    for epoch in range(3):  # reseeded per epoch, as fit does
        new_gen.manual_seed(epoch)
        old_gen.manual_seed(epoch)
        batches = list(new)
        reference = list(old)
        assert len(batches) == len(reference)
        for a, b in zip(batches, reference):
            _assert_same(a, b)
    seen = torch.cat([b["extras.snr_db"] for b in ds.loader(8)])  # unshuffled: in order
    torch.testing.assert_close(seen, torch.from_numpy(data.extras["snr_db"].astype(np.float32)))


def test_batch_sampler_is_torchs_and_validates(data):
    ds = WirelessDataset(data, fields=("csi",))
    sampler = ds.batch_sampler(10, shuffle=False)
    assert isinstance(sampler, BatchSampler)  # what accelerate shards across processes
    assert list(sampler)[-1] == list(range(30, 37))
    with pytest.raises(ValueError):
        ds.batch_sampler(0)


def test_loader_is_sharded_like_the_per_sample_loader(data):
    """accelerate splits the batch sampler between processes exactly as it splits the
    per-sample loader's (process i gets every world-th batch)."""
    from accelerate.data_loader import prepare_data_loader

    ds = WirelessDataset(data, fields=("extras.snr_db",))
    for rank in range(2):
        new = prepare_data_loader(ds.loader(4, shuffle=True, generator=torch.Generator().manual_seed(5)),
                                  num_processes=2, process_index=rank, put_on_device=False)
        old = prepare_data_loader(DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(5)),
                                  num_processes=2, process_index=rank, put_on_device=False)
        a = [b["extras.snr_db"] for b in new]
        b = [b["extras.snr_db"] for b in old]
        assert len(a) == len(b) > 0
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y)


class _Counting(WirelessDataset):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.items = self.batches = 0

    def __getitem__(self, i):
        if np.ndim(i) == 0:
            self.items += 1
        return super().__getitem__(i)

    def batch(self, positions):
        self.batches += 1
        return super().batch(positions)


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(2 * 6 * 5, 1)

    def forward(self, csi):
        return self.fc(torch.view_as_real(csi).flatten(1).float())[:, 0]


def _loss(model, batch):
    return torch.nn.functional.mse_loss(model(batch["csi"]), batch["extras.snr_db"] / 10)


def test_fit_takes_whole_batches_and_trains_as_the_per_sample_path(data):
    cfg = TrainConfig(epochs=3, lr=1e-2, batch_size=8, progress=False, seed=4)
    ds = _Counting(data, fields=("csi", "extras.snr_db"))
    batched = fit(_Net(), ds, _loss, cfg)
    assert ds.items == 0 and ds.batches == 3 * 5  # 37 samples in batches of 8, three epochs
    old = _Counting(data, fields=("csi", "extras.snr_db"))
    per_sample = fit(_Net(), old, _loss, cfg, collate_fn=collate)  # a collate_fn keeps the old path
    assert old.batches == 3 * 5 and old.items == 0  # via __getitems__, then split and re-stacked
    assert batched.series()["train_loss"] == per_sample.series()["train_loss"]
