"""WavesFM encoder throughput (images/s) in fp32 and bf16 autocast, next to a plain matmul's
GFLOP/s on the same machine, so the encoder's fraction of the matmul peak is printed.

    .venv/bin/python plugins/wavesfm/benchmarks/bench_wavesfm_throughput.py [tiny|small|paper] [batch]
"""

import argparse
import time

import torch

from zoo_wavesfm.plugin import SIZES
from zoo_wavesfm.towers import ViTEncoder

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("size", nargs="?", default="small", choices=sorted(SIZES), help="backbone size (default small)")
ap.add_argument("batch", nargs="?", type=int, default=8, help="images per forward pass (default 8)")
args = ap.parse_args()
size, batch = args.size, args.batch
a = SIZES[size]
enc = ViTEncoder(**a).eval()
x = torch.randn(batch, 3, a["img_size"], a["img_size"])
tokens = (a["img_size"] // a["patch_size"]) ** 2 + 1
d, h = a["embed_dim"], a["mlp_dim"]
flops_img = 2 * a["depth"] * (tokens * (4 * d * d + 2 * d * h) + 2 * tokens * tokens * d)


def bench(fn, reps=5):
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


with torch.no_grad():
    results = {}
    for label, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        m = torch.randn(1024, 1024, dtype=dtype or torch.float32)
        t_mm = bench(lambda: m @ m)
        if dtype is None:
            t_enc = bench(lambda: enc(x))
        else:
            def run():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    enc(x)
            t_enc = bench(run)
        mm_gflops = 2 * 1024 ** 3 / t_mm / 1e9
        enc_gflops = flops_img * batch / t_enc / 1e9
        results[label] = batch / t_enc
        print(f"{label}: encoder {batch / t_enc:.1f} img/s ({enc_gflops:.1f} GFLOP/s); "
              f"matmul 1024^3 {mm_gflops:.1f} GFLOP/s; fraction of matmul peak {enc_gflops / mm_gflops:.2f}")
    print(f"bf16 / fp32 throughput ratio: {results['bf16'] / results['fp32']:.2f}x (size={size}, batch={batch})")
