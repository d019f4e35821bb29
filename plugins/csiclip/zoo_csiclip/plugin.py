"""wzoo entry point of CSI-CLIP: names, metadata and import paths only (no torch here).

Two ResNet towers with a two-channel (real, imaginary) stem: `csi` reads the CSI (frequency
domain), `cir` the CIR (delay domain; computed from the CSI by the core where the data has
none). Each is projected to a shared embedding; the core's `contrastive` head pairs them.
"""

from zoo_core import hookimpl

#: the paper ("A MIMO Wireless Channel Foundation Model via CIR-CSI Consistency", Jiang et al.):
#: its arXiv id is not in the text we hold, so no `arxiv:` tag is claimed
PAPER_TITLE = "A MIMO Wireless Channel Foundation Model via CIR-CSI Consistency"
OFFICIAL_REPO = "GREAT-Wireless-AI/CSI-CLIP"

#: backbone sizes: the paper's ResNet-50 and a narrow ResNet-18 for tests and CPU work
SIZES = {
    "tiny": dict(arch="resnet18", channels=[16, 32, 64, 128]),
    "paper": dict(arch="resnet50"),
}
EMBED_DIM = {"tiny": 64, "paper": 512}
#: (rx, tx, subcarrier) of each size's input: the tiny one is the city generator's default
#: (1 x 32-ULA x 64 subcarriers); the paper's is 2x2 UE UPA x 8x8 BS UPA x 256 subcarriers,
#: the 2 x 256 x 256 image the released weights expect
GRID = {"tiny": (1, 32, 64), "paper": (4, 64, 256)}
#: min-max scaling of each size: the paper's dataset statistics; per sample for the CPU model,
#: whose pre-training mixes sources 100 dB apart in power (city CSI ~1e-5, OFDM pilots ~1)
MINMAX = {"tiny": "sample", "paper": "dataset"}
MODEL_NAMES = {"tiny": "csiclip/resnet18-tiny", "paper": "csiclip/resnet50"}
OFFICIAL_MODEL = "csiclip/resnet50-official"


def towers(size: str, embed_dim: int | None = None) -> dict:
    """The two towers of a size: same backbone, same transform, one field each."""
    rx, tx, sc = GRID[size]
    image = [rx * tx, sc]
    dim = embed_dim or EMBED_DIM[size]

    def tower(field: str, shape: list[int]) -> dict:
        return {"backbone": "csiclip/resnet", "backbone_args": SIZES[size], "transform": "csiclip/complex-image",
                "transform_config": {"size": image, "minmax": MINMAX[size]}, "embed_dim": dim,
                "fields": {field: {"shape": shape, "dtype": "complex64"}}}

    return {"csi": tower("csi", [rx, tx, sc, 1]), "cir": tower("cir", [rx, tx, sc])}


RETRIEVAL_HEAD = {"retrieval": {"name": "contrastive", "towers": ["csi", "cir"]}}


@hookimpl
def register_backbones(register):
    register("csiclip/resnet", "zoo_csiclip.towers:ResNetEncoder",
             description="timm ResNet with a two-channel (real, imaginary) stem, global average pooled")


@hookimpl
def register_transforms(register):
    register("csiclip/complex-image", "zoo_csiclip.transforms:ComplexImage",
             description="Complex CSI/CIR -> (real, imag) image of (rx*tx) x subcarriers -> min-max with dataset "
                         "statistics -> standardisation -> bilinear resize")


@hookimpl
def register_models(register):
    common = dict(heads=RETRIEVAL_HEAD, default_task="retrieval",
                  tags=["resnet", "clip", "contrastive", "cir", "csi", "foundation-model"])
    register(MODEL_NAMES["tiny"], towers=towers("tiny"), license="apache-2.0",
             description="Narrow ResNet-18 CSI-CLIP pair (widths 16-128, 2x32x64 input, 64-d embedding) for tests "
                         "and CPU runs on the built-in city data", **common)
    register(MODEL_NAMES["paper"], towers=towers("paper"), license="apache-2.0",
             description="CSI-CLIP of the paper: two ResNet-50 towers with a 2-channel stem on 2x256x256 "
                         "(real, imag) images, projected to a 512-d shared embedding", **common)
    register(OFFICIAL_MODEL, towers=towers("paper"), license="cc-by-nc-4.0",
             description="The paper's architecture for the authors' released weights "
                         f"({OFFICIAL_REPO}, cc-by-nc-4.0): load them with "
                         "zoo_csiclip.official.load_official(revision=...) or `wzoo run csiclip/official`; "
                         "create_model gives random weights", **common)


@hookimpl
def register_recipes(register):
    register("csiclip/pretrain", "zoo_csiclip.recipes:pretrain",
             description="CIR-CSI contrastive pre-training (AdamW, lr x0.8 on a validation plateau, early "
                         "stopping) on mixed built-in data; saves a model folder for `wzoo bench --from`",
             size="tiny", sources="city,ofdm-pilots", n=3000, epochs=300, batch_size=128, lr=8e-4,
             plateau_patience=10, plateau_factor=0.8, early_stopping=30, val_fraction=0.2,
             minmax="sample", seed=0, threads=1)
    register("csiclip/official", "zoo_csiclip.recipes:official",
             description="Load the authors' released weights (GREAT-Wireless-AI/CSI-CLIP, pinned by revision, "
                         "hashes checked) into a local model folder; never re-uploaded (cc-by-nc-4.0)",
             revision=None, repo_id=OFFICIAL_REPO, local_files_only=False)


@hookimpl
def register_strategies(register):
    s = "zoo_csiclip.strategies"
    register("csiclip/frozen-head", f"{s}:FrozenHead",
             description="Frozen CSI encoder + two-layer head (the paper's downstream set-up)")
    register("csiclip/fine-tune", f"{s}:FineTune",
             description="CSI encoder and two-layer head all trained (scratch: the paper's supervised baseline)")
    register("csiclip/zero-shot", f"{s}:ZeroShot",
             description="CIR <-> CSI retrieval by cosine similarity of the two towers' embeddings")
