"""Run by test_csiclip_distributed.py, alone or under torchrun: the pre-training loop (fit +
plateau schedule + early stopping) on tiny city data; rank 0 writes the final weights."""

import sys

import torch
from safetensors.torch import save_file

from zoo_core.distributed import DistContext
from zoo_csiclip.recipes import contrastive_model, split_sources, train_contrastive

out = sys.argv[1]
torch.manual_seed(0)
parts = split_sources(["city"], 64, 0.25, seed=0)
model = contrastive_model("tiny", parts, "sample")
history = train_contrastive(model, parts, epochs=4, batch_size=8, lr=8e-4, plateau_patience=0,
                            plateau_factor=0.5, early_stopping=2, seed=0, progress=False)
rows = history.epochs
state = {k: v.contiguous() for k, v in model.state_dict().items()}
ctx = DistContext.current()
# the parameters (DDP keeps them in step) and the schedule's decisions must agree on every rank;
# BatchNorm's running statistics are each rank's own
params = torch.cat([p.detach().flatten() for p in model.parameters()])
decisions = torch.tensor([len(rows), history.best_epoch, rows[-1]["lr"]], dtype=torch.float64)
g_params = ctx.gather(params[None], with_grad=False) if ctx.world_size > 1 else params[None]
g_decisions = ctx.gather(decisions[None], with_grad=False) if ctx.world_size > 1 else decisions[None]
if ctx.rank == 0:
    save_file(state, out)
    agree = bool(torch.equal(g_params[0], g_params[-1]) and torch.equal(g_decisions[0], g_decisions[-1]))
    print(f"world {ctx.world_size} epochs {len(rows)} last_lr {rows[-1]['lr']} ranks_agree {agree}")
