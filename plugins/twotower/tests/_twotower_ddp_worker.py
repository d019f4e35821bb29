"""Worker for test_twotower_distributed: one SGD step of `fit` on the two-tower objective
L = L_C + L_R (tiny model, CRNN, MSNN shared), in float64.

Run alone (one process, the global batch of 8 pairs) or under torchrun with 2 ranks (each
rank gets 4 of the same 8 pairs from accelerate's sharded loader; L_C gathers the embeddings
of both ranks with gradients, L_R is each rank's mean and DDP averages the gradients).
Saves the weights after the step and the epoch's loss to the safetensors file named first.
"""

import json
import sys

import numpy as np
import torch
from safetensors.torch import save_file

from zoo_core.data.generators.city import generate
from zoo_core.distributed import DistContext
from zoo_core.train import TrainConfig, fit
from zoo_twotower.data import PairDataset
from zoo_twotower.losses import TwoTowerObjective
from zoo_twotower.model import create

out, per_rank = sys.argv[1], int(sys.argv[2])
data = generate(8, seed=5, n_bs=2, n_ue=4)
data.csi = data.csi.astype(np.complex128)
torch.manual_seed(0)
model = create("tiny", "crnn-msnn").double()
loader = torch.utils.data.DataLoader(PairDataset(data), batch_size=per_rank, shuffle=False,
                                     collate_fn=lambda batch: batch)
objective = TwoTowerObjective(model)
history = fit(objective, loader, config=TrainConfig(epochs=1, lr=0.5, optimizer="sgd", progress=False))
if DistContext.current().rank == 0:
    state = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, out, metadata={"history": json.dumps(history.epochs), "last": json.dumps(objective.last)})
