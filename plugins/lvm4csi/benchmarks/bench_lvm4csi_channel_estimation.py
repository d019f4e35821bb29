"""Channel-estimation latency per sample (image, detection, LS + rebuild), M = N = 64.

    .venv/bin/python plugins/lvm4csi/benchmarks/bench_lvm4csi_channel_estimation.py [--n 50] [--batch 50] [--quick]

Machine-readable lines start with "RATIO | name | value | baseline | goal" (benchmarks/run_all.py).
"""

import argparse
import time

import numpy as np
import torch
from zoo_lvm4csi.detection import PeakDetector
from zoo_lvm4csi.dft import atoms, ls_gains, pixel_to_path, reconstruct
from zoo_lvm4csi.estimation import PathDetectionEstimator

from zoo_core.data.generators import geometric


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 by default: on a shared CPU, spinning OpenMP threads distort timings)")
    ap.add_argument("--quick", action="store_true", help="20 samples in batches of 20 (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.batch = min(args.n, 20), min(args.batch, 20)
    torch.set_num_threads(args.threads)
    print(f"{'L':>3} {'batch':>5} {'total ms/sample':>16} {'single-sample ms':>17}  breakdown (ms/sample)")
    for L in (2, 6, 10):
        data = geometric.generate(args.n, seed=L, L=L, snr_db=0.0)
        y = torch.from_numpy(data.extras["Y"][:, :, 0, :, 0])
        est = PathDetectionEstimator(PeakDetector(), batch_size=args.batch)
        est(y[:2])  # warm-up
        out = est(y)
        t = time.perf_counter()
        for i in range(min(10, args.n)):
            est(y[i:i + 1])
        single = (time.perf_counter() - t) / min(10, args.n)
        t0 = time.perf_counter()
        img = est.detector_input(y)  # the intensity |Ỹ| (PeakDetector takes it without colours)
        t1 = time.perf_counter()
        dets = est.detector(img)
        t2 = time.perf_counter()
        k = max(len(d.scores) for d in dets)
        cx = np.zeros((args.n, k))
        cy = np.zeros_like(cx)
        mask = torch.zeros(args.n, k, dtype=torch.bool)
        for i, d in enumerate(dets):
            c = d.centres.double().numpy()
            cx[i, :len(c)], cy[i, :len(c)], mask[i, :len(c)] = c[:, 0], c[:, 1], True
        theta, delay = pixel_to_path(cx, cy, 64, 64)
        a, b = atoms(theta, delay, 64, 64)
        reconstruct(ls_gains(y, a, b, mask), a, b)
        t3 = time.perf_counter()
        n = args.n
        print(f"{L:>3} {args.batch:>5} {1000 * out.latency_per_sample:>16.2f} {1000 * single:>17.2f}  "
              f"image {1000 * (t1 - t0) / n:.2f}, detect {1000 * (t2 - t1) / n:.2f}, LS+rebuild {1000 * (t3 - t2) / n:.2f}")
        print(f"RATIO | estimation L={L}: batched vs one sample at a time | {single / out.latency_per_sample:.2f} | "
              f"single-sample calls |")


if __name__ == "__main__":
    main()
