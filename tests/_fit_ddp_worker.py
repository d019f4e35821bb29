"""Worker for test_fit_distributed: one epoch of `fit` on a contrastive objective.

Run alone (one process, the whole global batch) or under torchrun (each rank gets its half of
the same batch from accelerate's sharded loader). Saves the weights after the step and the
evaluated numbers (rank-dependent on purpose) to the safetensors file named on the command line.
"""

import importlib.metadata as md
import json
import sys

import torch
from safetensors.torch import save_file

from zoo_core import plugins

plugins.entry_points = lambda: [md.EntryPoint(name="fake", value="wzoo_fakes", group="wzoo")]
plugins.reset()

import zoo_core  # noqa: E402
from zoo_core.distributed import DistContext  # noqa: E402
from zoo_core.objectives import ContrastiveObjective  # noqa: E402
from zoo_core.train import TrainConfig, fit  # noqa: E402

out, per_rank = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
model = zoo_core.create_model("fake/two-tower").double()
gen = torch.Generator().manual_seed(1)
samples = [{"csi": torch.randn(8, generator=gen, dtype=torch.float64),
            "env": torch.randn(5, generator=gen, dtype=torch.float64)} for _ in range(8)]
loader = torch.utils.data.DataLoader(samples, batch_size=per_rank, shuffle=False)
history = fit(ContrastiveObjective(model, "retrieval"), loader,
              config=TrainConfig(epochs=1, lr=0.1, optimizer="sgd", progress=False),
              evaluate=lambda m: {"rank": float(DistContext.current().rank)})
if DistContext.current().rank == 0:
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out,
              metadata={"history": json.dumps(history.epochs)})
