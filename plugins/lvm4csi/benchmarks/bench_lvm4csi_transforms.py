"""CSI → jet image throughput: batched torch (zoo_lvm4csi) vs a per-sample numpy + matplotlib loop.

    .venv/bin/python plugins/lvm4csi/benchmarks/bench_lvm4csi_transforms.py [--n 200] [--repeat 3]
"""

import argparse
import time

import matplotlib
import numpy as np
import torch
from zoo_lvm4csi.transforms import AngularDelayJet, HARImage


def reference_angular_delay_jet(y: np.ndarray, beta=4, gamma=4) -> np.ndarray:
    cmap = matplotlib.colormaps["jet"]
    out = []
    for sample in y:  # what a notebook does: one sample at a time
        m, n = sample.shape
        mag = np.abs(np.fft.fft2(sample, s=(beta * m, gamma * n))).T
        out.append(cmap(mag / mag.max())[..., :3].transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def reference_har(x: np.ndarray, size=224) -> np.ndarray:
    from PIL import Image

    cmap = matplotlib.colormaps["jet"]
    out = []
    for sample in x:
        g = np.abs(sample).reshape(sample.shape[0], -1)
        g = (g - g.min()) / (g.max() - g.min())
        rgb = (cmap(g)[..., :3] * 255).astype(np.uint8)
        out.append(np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR)).transpose(2, 0, 1) / 255.0)
    return np.stack(out).astype(np.float32)


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 by default: on a shared CPU, spinning OpenMP threads distort timings)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    y = (rng.standard_normal((args.n, 64, 64)) + 1j * rng.standard_normal((args.n, 64, 64))).astype(np.complex64)
    t_ours = best(lambda: AngularDelayJet()(torch.from_numpy(y)), args.repeat)
    t_ref = best(lambda: reference_angular_delay_jet(y), args.repeat)
    diff = np.abs(AngularDelayJet()(torch.from_numpy(y)).numpy() - reference_angular_delay_jet(y)).max()
    print(f"angular-delay jet, {args.n} x (64x64 -> 3x256x256), max |diff| vs matplotlib = {diff:.2e}")
    print(f"  torch batched : {args.n / t_ours:9.1f} samples/s")
    print(f"  numpy+mpl loop: {args.n / t_ref:9.1f} samples/s")
    print(f"  speed-up      : {t_ref / t_ours:9.2f}x")
    x = rng.random((args.n, 250, 3, 30)).astype(np.float32)
    t_ours = best(lambda: HARImage(size=224)(torch.from_numpy(x)), args.repeat)
    t_ref = best(lambda: reference_har(x), args.repeat)
    print(f"HAR image, {args.n} x (250x3x30 -> 3x224x224)")
    print(f"  torch batched : {args.n / t_ours:9.1f} samples/s")
    print(f"  numpy+mpl+PIL : {args.n / t_ref:9.1f} samples/s")
    print(f"  speed-up      : {t_ref / t_ours:9.2f}x")


if __name__ == "__main__":
    main()
