"""Why `csiclip/frozen-head` caches features: one epoch of the two-layer head on cached CSI
features vs one epoch that runs the frozen encoder on every batch, side by side in one process
(a ratio; absolute times on these shared machines are not stable).

    .venv/bin/python plugins/csiclip/benchmarks/bench_csiclip_frozen_head.py [n] [batch]
"""

import argparse
import time

import torch

import zoo_core

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("n", nargs="?", type=int, default=1024, help="training samples (default 1024)")
ap.add_argument("batch", nargs="?", type=int, default=128, help="batch size (default 128)")
args = ap.parse_args()
torch.set_num_threads(1)
torch.manual_seed(0)

net = zoo_core.create_model("csiclip/resnet18-tiny").eval()
for p in net.parameters():
    p.requires_grad_(False)
net.add_task("los", "mlp", towers=["csi"], num_outputs=2, hidden=[256])
head = net.heads["los"]
x = torch.randn(args.n, 1, 32, 64, 1, dtype=torch.complex64)
y = torch.randint(0, 2, (args.n,))
opt = torch.optim.AdamW(head.parameters(), lr=1e-3)


def epoch(features):
    for i in range(0, args.n, args.batch):
        f = features(i)
        loss = torch.nn.functional.cross_entropy(head(f), y[i:i + args.batch])
        opt.zero_grad()
        loss.backward()
        opt.step()


def encode(i):
    with torch.no_grad():
        return net.forward_features({"csi": x[i:i + args.batch]}, tower="csi")


t0 = time.perf_counter()
cache = torch.cat([encode(i) for i in range(0, args.n, args.batch)])
t_cache = time.perf_counter() - t0
t0 = time.perf_counter()
epoch(lambda i: cache[i:i + args.batch])
t_cached = time.perf_counter() - t0
t0 = time.perf_counter()
epoch(encode)
t_encoding = time.perf_counter() - t0
print(f"{args.n} samples, batch {args.batch}: one-off feature pass {t_cache:.2f} s")
print(f"head epoch on cached features {t_cached * 1e3:.1f} ms, with the encoder in the loop {t_encoding * 1e3:.1f} ms: "
      f"{t_encoding / t_cached:.0f}x per epoch")
