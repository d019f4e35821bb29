"""Worker for test_fit_distributed: `fit` on data whose items are whole batches.

Run alone on items that are pairs of batches joined (the global batch of two ranks), or under
torchrun on the separate batches (each rank takes one item per step). Saves the weights."""

import sys

import torch
from safetensors.torch import save_file

from zoo_core.distributed import DistContext
from zoo_core.train import TrainConfig, fit

out, joined = sys.argv[1], sys.argv[2] == "joined"
gen = torch.Generator().manual_seed(3)
items = [(torch.randn(4, 3, generator=gen, dtype=torch.float64), torch.randn(4, 1, generator=gen, dtype=torch.float64))
         for _ in range(6)]
if joined:  # step k of two ranks sees items 2k (rank 0) and 2k + 1 (rank 1)
    items = [(torch.cat([items[i][0], items[i + 1][0]]), torch.cat([items[i][1], items[i + 1][1]]))
             for i in range(0, len(items), 2)]
torch.manual_seed(0)
model = torch.nn.Linear(3, 1).double()
loader = torch.utils.data.DataLoader(items, batch_size=None, shuffle=False)
fit(model, loader, lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1]),
    config=TrainConfig(epochs=2, lr=0.1, optimizer="sgd", progress=False))
if DistContext.current().rank == 0:
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)
