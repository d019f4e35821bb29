"""The example's components: a transform and a backbone, each a few lines of torch."""

import torch
from torch import nn

from zoo_core import Backbone, Transform
from zoo_core.validation import Size


class CSIMagnitudeDB(Transform):
    """Complex CSI (B, rx, tx, subcarrier, symbol) → |CSI| in dB, standardised with dataset
    statistics that live in the config (so they travel with the weights)."""

    def __init__(self, mean_db: float = -100.0, std_db: float = 10.0):
        super().__init__(mean_db=mean_db, std_db=std_db)

    def forward(self, csi):
        db = 20 * torch.log10(csi.abs().flatten(1) + 1e-12)
        return (db - self.config["mean_db"]) / self.config["std_db"]


class CSIMLP(Backbone):
    def __init__(self, n_inputs: Size, width: Size = 64):
        super().__init__()
        self.num_features = width
        self.net = nn.Sequential(nn.Linear(n_inputs, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())

    def forward_features(self, x):
        return self.net(x)
