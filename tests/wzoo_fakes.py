"""A fake plugin for the core's own tests: registrations plus tiny torch components."""

import torch
from torch import nn

from zoo_core import Backbone, hookimpl


class TinyAttentionBackbone(Backbone):
    """Tokens → one block with separate q/k/v projections (so LoRA can target q and v)."""

    def __init__(self, in_features: int = 8, dim: int = 16, tokens: int = 4, norm: bool = False,
                 pretrained: bool = False):
        if pretrained:  # like timm: pretrained weights would need a download
            raise RuntimeError("tried to download pretrained weights")
        super().__init__()
        self.tokens, self.num_features = tokens, dim
        self.embed = nn.Linear(in_features, dim * tokens)
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.norm = nn.BatchNorm1d(dim) if norm else nn.Identity()
        self.blocks = nn.ModuleList([nn.Linear(dim, dim), nn.Linear(dim, dim)])

    def forward_features(self, x):
        t = self.embed(x.flatten(1)).view(x.shape[0], self.tokens, -1)
        attn = torch.softmax(self.q(t) @ self.k(t).transpose(1, 2) / t.shape[-1] ** 0.5, -1)
        t = t + attn @ self.v(t)
        for block in self.blocks:
            t = t + torch.relu(block(t))
        return self.norm(t.transpose(1, 2)).transpose(1, 2)


@hookimpl
def register_backbones(register):
    register("fake/tiny-attn", "wzoo_fakes:TinyAttentionBackbone", description="test backbone")
    register("fake/tiny-mlp", "wzoo_fakes:TinyMLP", description="test tower")


@hookimpl
def register_models(register):
    register(
        "fake/tiny",
        backbone="fake/tiny-attn",
        backbone_args={"in_features": 8, "dim": 16},
        transform="standardize",
        transform_config={"mean": [0.5], "std": [2.0]},
        heads={"los": {"name": "linear", "args": {"num_outputs": 2}},
               "positioning": {"name": "mlp", "args": {"num_outputs": 3, "hidden": [8]}}},
        sample_input={"shape": [3, 1, 8], "dtype": "float32"},
        hub_repo="wzoo-test/fake-tiny",
        description="A tiny model for the core's tests",
        license="apache-2.0",
        papers=["2504.14100"],
    )
    register("fake/no-hub", backbone="fake/tiny-attn", sample_input={"shape": [2, 8]})
    register(
        "fake/two-tower",
        towers={
            "csi": {"backbone": "fake/tiny-mlp", "backbone_args": {"in_features": 8, "dim": 12}, "embed_dim": 6,
                    "fields": {"csi": {"shape": [8], "dtype": "float32"}}},
            "env": {"backbone": "fake/tiny-mlp", "backbone_args": {"in_features": 5, "dim": 10}, "embed_dim": 6,
                    "transform": "standardize", "transform_config": {"mean": [0.0], "std": [2.0]},
                    "fields": {"env": {"shape": [5], "dtype": "float32"}}},
        },
        heads={"retrieval": {"name": "contrastive", "args": {}, "towers": ["csi", "env"]},
               "los": {"name": "linear", "args": {"num_outputs": 2}, "towers": ["csi"]},
               "rf-classification": {"name": "prototype", "args": {"num_classes": 3}, "towers": ["csi"]}},
        default_task="los",
        description="A tiny two-tower contrastive model for the core's tests",
        license="apache-2.0",
    )


class TinyMLP(Backbone):
    """A two-layer MLP on a flat input: one tower of the fake two-tower model."""

    def __init__(self, in_features: int = 8, dim: int = 12):
        super().__init__()
        self.num_features = dim
        self.net = nn.Sequential(nn.Linear(in_features, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward_features(self, x):
        return self.net(x.flatten(1))
