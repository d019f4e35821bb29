"""Registration only: names and import paths, no torch (so `wzoo list` stays fast)."""

from zoo_core import hookimpl


@hookimpl
def register_backbones(register):
    register("example/csi-mlp", "zoo_example.model:CSIMLP", description="MLP on CSI magnitudes")
    register("example/position-mlp", "zoo_example.towers:PositionMLP", description="MLP on UE positions")


@hookimpl
def register_transforms(register):
    register("example/csi-db", "zoo_example.model:CSIMagnitudeDB", description="|CSI| in dB, standardised")
    register("example/relative-position", "zoo_example.towers:RelativePosition",
             description="UE position relative to its BS, / scale_m")


@hookimpl
def register_models(register):
    register(
        "example/tiny-mlp",
        backbone="example/csi-mlp",
        backbone_args={"n_inputs": 8 * 16, "width": 64},
        transform="example/csi-db",
        heads={"los": {"name": "linear", "args": {"num_outputs": 2}}},
        tower="csi",
        fields={"csi": {"shape": [1, 8, 16, 1], "dtype": "complex64"}},  # (rx, tx, subcarrier, symbol)
        description="A 13k-parameter MLP that tells LOS from NLOS links by their CSI magnitude.",
        license="apache-2.0",
        datasets=["wzoo city scenes (built-in)"],
    )
    register(
        "example/csi-position-clip",
        towers={
            "csi": {"backbone": "example/csi-mlp", "backbone_args": {"n_inputs": 8 * 16, "width": 64},
                    "transform": "example/csi-db", "embed_dim": 32,
                    "fields": {"csi": {"shape": [1, 8, 16, 1], "dtype": "complex64"}}},
            "position": {"backbone": "example/position-mlp", "backbone_args": {"width": 32},
                         "transform": "example/relative-position", "embed_dim": 32,
                         "fields": {"ue_pos": {"shape": [3], "dtype": "float32"},
                                    "bs_pos": {"shape": [3], "dtype": "float32"}}},
        },
        heads={"retrieval": {"name": "contrastive", "towers": ["csi", "position"]}},
        description="Two towers, CSI and UE position, paired by a contrastive (CLIP) head.",
        license="apache-2.0",
        datasets=["wzoo city scenes (built-in)"],
    )


@hookimpl
def register_recipes(register):
    register("example/los", "zoo_example.recipe:run", description="LOS detection on built-in city scenes",
             n=4000, epochs=10, seed=0, cpu_time="under a minute on 2 cores")


@hookimpl
def register_strategies(register):
    register("example/supervised", "zoo_example.strategies:Supervised",
             description="The example MLP on |CSI| in dB, trained from random weights")
