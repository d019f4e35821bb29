"""Data path throughput: whole batches from `WirelessDataset.loader` against the per-sample path.

Side by side in one process, one thread, best of --repeat epochs, batches per second of:
  - batched: `dataset.loader(batch_size, shuffle=True)`: one gather per field per batch, the
    stacked dict handed through (what `zoo_core.train.fit` now uses);
  - per-sample (today): `DataLoader(dataset, batch_size, shuffle=True)`: one gather, split into
    per-sample dicts, re-stacked by torch's default collate (what fit used before);
  - per-item: the same loader over a dataset without a batched fetch, one `dataset[i]` per
    sample (what any map-style dataset gets by default).

    .venv/bin/python benchmarks/bench_data_path.py [--n 8192] [--batch 64] [--quick]

Machine-readable lines start with "RATIO | name | value | baseline | goal" (benchmarks/run_all.py).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, Dataset

from zoo_core.data.dataset import WirelessDataset
from zoo_core.data.generators import geometric


class _ItemsOnly(Dataset):
    """The same dataset without its batched fetch."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return self.ds[i]


def epoch_rate(loader) -> float:
    start = time.perf_counter()
    count = 0
    for batch in loader:
        count += 1
        assert batch["csi"].ndim == 5
    return count / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8192, help="samples")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--antennas", type=int, default=32)
    ap.add_argument("--quick", action="store_true", help="2,048 samples, 2 repeats (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeat = min(args.n, 2048), min(args.repeat, 2)
    torch.set_num_threads(1)
    data = geometric.generate(args.n, seed=0, M=args.antennas, N=32, L=4)
    fields = ("csi", "extras.theta", "extras.delay", "extras.snr_db", "extras.n_paths")
    ds = WirelessDataset(data, fields=fields)
    gen = torch.Generator()
    loaders = {
        "batched": ds.loader(args.batch, shuffle=True, generator=gen),
        "per-sample": DataLoader(ds, batch_size=args.batch, shuffle=True, generator=gen),
        "per-item": DataLoader(_ItemsOnly(ds), batch_size=args.batch, shuffle=True, generator=gen),
    }
    rate = {k: 0.0 for k in loaders}
    for r in range(args.repeat):  # interleaved: the machine is shared and noisy
        for name, loader in loaders.items():
            gen.manual_seed(r)
            rate[name] = max(rate[name], epoch_rate(loader))
    print(f"{args.n} samples, batches of {args.batch}, fields {', '.join(fields)} "
          f"(csi {tuple(data.csi.shape[1:])} complex64)")
    for name, value in rate.items():
        print(f"  {name:<12} {value:9.1f} batches/s  ({value * args.batch:10.0f} samples/s)")
    print(f"RATIO | data path batched vs per-sample | {rate['batched'] / rate['per-sample']:.2f} | "
          f"per-sample loader (split + re-stack) | > 1")
    print(f"RATIO | data path batched vs per-item | {rate['batched'] / rate['per-item']:.2f} | "
          f"one dataset[i] per sample | > 1")


if __name__ == "__main__":
    main()
