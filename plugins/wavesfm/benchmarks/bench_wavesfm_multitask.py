"""K = 4 tasks on one frozen WavesFM backbone with LoRA adapters vs 4 fine-tuned copies.

Prints parameter bytes of both layouts (and the ratio) and the time to switch tasks
(`ZooModel.set_task`) next to the time of one forward pass, measured side by side.

    .venv/bin/python plugins/wavesfm/benchmarks/bench_wavesfm_multitask.py [tiny|small|paper]
"""

import argparse
import time

import torch

import zoo_core
from zoo_wavesfm.finetune import prepare
from zoo_wavesfm.plugin import MODEL_NAMES

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("size", nargs="?", default="small", choices=sorted(MODEL_NAMES), help="backbone size (default small)")
size = ap.parse_args().size
rank = 50 if size == "paper" else 8
tasks = ["activity", "rf-classification", "positioning", "los"]
heads = {"activity": {"name": "linear", "args": {"num_outputs": 6}},
         "rf-classification": {"name": "linear", "args": {"num_outputs": 20}},
         "positioning": {"name": "linear", "args": {"num_outputs": 3}},
         "los": {"name": "linear", "args": {"num_outputs": 2}}}
torch.manual_seed(0)
model = zoo_core.create_model(MODEL_NAMES[size], heads=heads)
single = sum(p.numel() * p.element_size() for p in model.parameters())
for t in tasks:
    prepare(model, t, "lora", rank=rank, alpha=8)
shared = sum(p.numel() * p.element_size() for p in model.parameters())
separate = len(tasks) * single  # 4 fully fine-tuned copies (backbone + one head each, upper bound)
print(f"size={size} rank={rank}: shared backbone + 4 LoRA adapters + heads = {shared / 2**20:.2f} MiB; "
      f"4 separate copies = {separate / 2**20:.2f} MiB; ratio = {separate / shared:.2f}x")
img = model.backbone.img_size
x = torch.randn(8, 3, *img)
model.eval()
n = 200
t0 = time.perf_counter()
for i in range(n):
    model.set_task(tasks[i % 4])
switch = (time.perf_counter() - t0) / n
with torch.no_grad():
    model(x, transform=False)
    t0 = time.perf_counter()
    for i in range(5):
        model(x, task=tasks[i % 4], transform=False)
fwd = (time.perf_counter() - t0) / 5
print(f"task switch: {switch * 1e6:.1f} us; forward (batch 8): {fwd * 1e3:.2f} ms; switch/forward = {switch / fwd:.4f}")
