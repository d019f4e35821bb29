"""Head training with cached frozen features vs recomputing the frozen features every epoch.

Both train the same dense softmax head for E epochs (Adam, lr 1e-3, batch 200) on the same
data; "cached" pays one feature extraction and then trains on the (N, K) tensor.

    .venv/bin/python plugins/lvm4csi/benchmarks/bench_lvm4csi_head_cache.py [--n 400] [--epochs 5] [--size 96] [--arch efficientnet-lite0] [--quick]

Machine-readable lines start with "RATIO | name | value | baseline | goal" (benchmarks/run_all.py).
"""

import argparse
import time

import torch
from zoo_lvm4csi.cache import extract_features
from zoo_lvm4csi.har_data import synthetic_har
from zoo_lvm4csi.losses import classification_loss
from zoo_lvm4csi.training import train_head

import zoo_core
from zoo_core.train import TrainConfig, fit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--arch", default="efficientnet-lite0")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 by default: on a shared CPU, spinning OpenMP threads distort timings)")
    ap.add_argument("--quick", action="store_true", help="100 samples, 3 epochs, 64 px (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.epochs, args.size = min(args.n, 100), min(args.epochs, 3), min(args.size, 64)
    torch.set_num_threads(args.threads)
    x, y = map(torch.from_numpy, synthetic_har(args.n, seed=0))

    def model():
        torch.manual_seed(0)
        return zoo_core.create_model("lvm4csi/har-efficientnet-lite0", arch=args.arch,
                                     transform_config={"size": args.size, "colormap": "jet"})

    m = model()
    t = time.perf_counter()
    feats = extract_features(m, x, batch_size=100, bf16=args.bf16, progress=False)
    t_extract = time.perf_counter() - t
    t = time.perf_counter()
    train_head(m.heads["activity"], feats, y, classification_loss, epochs=args.epochs, progress=False)
    t_head = time.perf_counter() - t

    m2 = model()
    t = time.perf_counter()
    fit(m2, torch.utils.data.TensorDataset(x, y),
        lambda mdl, b: torch.nn.functional.cross_entropy(mdl(b[0]), b[1]),
        TrainConfig(epochs=args.epochs, batch_size=200, lr=1e-3, optimizer="adam", progress=False))
    t_recompute = time.perf_counter() - t

    cached = t_extract + t_head
    print(f"{args.arch}, {args.n} samples, {args.size}px, {args.epochs} epochs")
    print(f"  cached    : {cached:8.2f} s  (extract once {t_extract:.2f} s + head {t_head:.2f} s)")
    print(f"  recompute : {t_recompute:8.2f} s  (frozen forward every epoch)")
    print(f"  ratio recompute / cached = {t_recompute / cached:.2f}x;"
          f" per extra epoch: {t_recompute / args.epochs:.2f} s vs {t_head / args.epochs:.4f} s")
    print(f"RATIO | head training: cached features vs recompute | {t_recompute / cached:.2f} | "
          f"frozen forward every epoch | > 1")


if __name__ == "__main__":
    main()
