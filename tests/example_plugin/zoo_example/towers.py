"""The second tower of the two-tower example: where the UE is, to pair with its CSI."""

from torch import nn

from zoo_core import Backbone, Transform
from zoo_core.validation import Size


class RelativePosition(Transform):
    """A tower that reads two fields gets them as a dict: the UE's position relative to its BS,
    in units of `scale_m` metres (so the tower sees numbers near 1)."""

    def __init__(self, scale_m: float = 100.0):
        super().__init__(scale_m=scale_m)

    def forward(self, fields):
        return (fields["ue_pos"] - fields["bs_pos"]) / self.config["scale_m"]


class PositionMLP(Backbone):
    def __init__(self, width: Size = 32):
        super().__init__()
        self.num_features = width
        self.net = nn.Sequential(nn.Linear(3, width), nn.ReLU(), nn.Linear(width, width))

    def forward_features(self, x):
        return self.net(x)
