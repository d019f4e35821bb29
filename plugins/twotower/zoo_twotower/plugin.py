"""wzoo entry point of the two-tower multimodal method: names, metadata, import paths (no torch)."""

from zoo_core import hookimpl

PAPER = "two-tower multimodal (Jiao et al., Addressing the Curse of Scenario and Task Generalization in AI-6G)"
VARIANTS = ("two-tower", "crnn", "crnn-msnn")

#: Tower and CRNN arguments per size. "paper": width 256, 8 heads, CLIP blocks (MLP 1024) in the
#: MSNN; the modality-specific depths and MLP widths, the CSI patching and the map patching were
#: searched (in that structure) until the channel path is 7,117,312 and the environment path
#: 7,518,720 parameters exactly (Table III); see the model card's note.
SIZES = {
    "paper": {
        "csi": dict(antennas=32, subcarriers=64, patch=[4, 4], width=256, heads=8, specific_depth=1,
                    specific_mlp=896, shared_depth=8, shared_mlp=1024, embed_dim=128),
        "env": dict(map_size=384, patch=32, vector_tokens=4, width=256, heads=8, specific_depth=2,
                    specific_mlp=320, shared_depth=8, shared_mlp=1024, embed_dim=128),
        "crnn": dict(antennas=32, subcarriers=64, patch=[4, 4], width=256, heads=8, depth=8, mlp=1024),
        "map_px": 128,
    },
    "tiny": {
        "csi": dict(antennas=32, subcarriers=64, patch=[8, 16], width=64, heads=4, specific_depth=1,
                    specific_mlp=128, shared_depth=2, shared_mlp=128, embed_dim=128),
        "env": dict(map_size=32, patch=8, vector_tokens=4, width=64, heads=4, specific_depth=1,
                    specific_mlp=128, shared_depth=2, shared_mlp=128, embed_dim=128),
        "crnn": dict(antennas=32, subcarriers=64, patch=[8, 16], width=64, heads=4, depth=1, mlp=128),
        "map_px": 128,
    },
}
MODEL_NAMES = {"paper": "twotower/env-csi-paper", "tiny": "twotower/env-csi-tiny"}


def towers(size: str, msnn: bool = True, csi_domain: str = "antenna-frequency", common_phase: bool = False) -> dict:
    s = SIZES[size]
    px = s["map_px"]
    csi_transform = {"domain": csi_domain, "common_phase": bool(common_phase)}
    return {
        "csi": {"backbone": "twotower/cfenn", "backbone_args": {**s["csi"], "msnn": msnn},
                "transform": "twotower/csi", "transform_config": csi_transform,
                "fields": {"csi": {"shape": [1, s["csi"]["antennas"], s["csi"]["subcarriers"], 1],
                                   "dtype": "complex64"}}},
        "env": {"backbone": "twotower/epnn", "backbone_args": {**s["env"], "msnn": msnn},
                "transform": "twotower/environment", "transform_config": {"map_size": s["env"]["map_size"]},
                "fields": {"env_edges": {"shape": [px, px], "dtype": "float32"},
                           "position_vector": {"shape": [8], "dtype": "float32"}}},
    }


def heads(size: str, crnn: bool = True) -> dict:
    out = {"retrieval": {"name": "contrastive", "towers": ["csi", "env"]}}
    if crnn:
        out["csi-feedback"] = {"name": "twotower/crnn", "args": SIZES[size]["crnn"], "towers": ["csi"]}
    return out


@hookimpl
def register_backbones(register):
    register("twotower/cfenn", "zoo_twotower.towers:CFENN",
             description="CFENN: ViT on real/imag CSI (conv2d antenna x subcarrier patches), class token to 128")
    register("twotower/epnn", "zoo_twotower.towers:EPNN",
             description="EPNN: edge-map conv2d patches + 8-dim position vector patches, class token to 128")


@hookimpl
def register_transforms(register):
    register("twotower/csi", "zoo_twotower.transforms:CSIRealImag",
             description="complex CSI -> (2, antennas, subcarriers) real/imag, per-sample RMS-normalised")
    register("twotower/environment", "zoo_twotower.transforms:Environment",
             description="edge map resized to the tower's map size; position vector scaled to order one")


@hookimpl
def register_heads(register):
    register("twotower/crnn", "zoo_twotower.heads:CRNNHead",
             description="CRNN: 128-dim channel embedding -> linear -> patch tokens -> blocks -> CSI")


@hookimpl
def register_models(register):
    common = dict(papers=[], license="apache-2.0", tags=["contrastive", "two-tower", "multimodal", "clip"])
    register(MODEL_NAMES["tiny"], towers=towers("tiny"), heads=heads("tiny"), default_task="retrieval",
             description="Tiny two-tower model (EPNN + CFENN + CRNN, MSNN shared; width 64) for tests and "
                         "CPU pre-training", **common)
    register(MODEL_NAMES["paper"], towers=towers("paper"), heads=heads("paper"), default_task="retrieval",
             description="The paper-size two-tower model (about 18.9 M parameters; channel path 7,117,312, "
                         "environment path 7,518,720 as Table III)", **common)


@hookimpl
def register_tasks(register):
    t = "zoo_twotower.tasks"
    register("twotower/multi-user", f"{t}:MultiUser",
             description="Which of K candidate UE positions (same area and BS) produced this CSI")
    register("twotower/map-scale", f"{t}:MapScale",
             description="The true metres per pixel among [0.8 s, s, 1.2 s], from CSI, map and pixel positions")
    register("twotower/layout-change", f"{t}:LayoutChange",
             description="Which of two maps (the true one, one with a building moved) the CSI belongs to")


@hookimpl
def register_strategies(register):
    s = "zoo_twotower.strategies"
    register("twotower/zero-shot", f"{s}:ZeroShot",
             description="Frozen towers, no training: compare the CSI embedding with environment options (eq. 13)")
    register("twotower/frozen-head", f"{s}:FrozenHead",
             description="TOFT: a small MLP head on a frozen tower's 128-dim embedding (eqs. 14-16)")
    register("twotower/multi-bs", f"{s}:MultiBSHead",
             description="TOFT for multi-BS positioning (Fig. 11): a head on the concatenated frozen CSI "
                         "embeddings of one UE at k BSs")
    register("twotower/position-head", f"{s}:PositionHead",
             description="Position-based TOFT: the beam head on the frozen EPNN (map + position vector)")
    b = "zoo_twotower.baselines"
    register("twotower/task-specific-vit", f"{b}:TaskSpecificViT",
             description="Paper baseline: a CFENN-sized ViT on the CSI trained from scratch for one task")
    register("twotower/task-general-vit", f"{b}:TaskGeneralViT",
             description="Paper baseline: one ViT with position, LOS and beam outputs (MSE + CE + focal loss)")
    register("twotower/position-mlp", f"{b}:PositionMLP",
             description="Paper baseline: beam from the UE position (relative to the BS) through an MLP")
    register("twotower/area-specific-vit", f"{b}:AreaSpecificViT",
             description="Paper baseline: a CFENN + CRNN autoencoder (CSI -> 128 -> CSI) per training area")
    register("twotower/area-general-vit", f"{b}:AreaGeneralViT",
             description="Paper baseline: one CFENN + CRNN autoencoder over all training areas")


@hookimpl
def register_recipes(register):
    register("twotower/pretrain", "zoo_twotower.recipes:pretrain",
             description="Environment-channel contrastive pre-training (L = L_C + L_R) on built-in city areas; "
                         "zero-shot checks and Figs. 3, 5, 6 on held-out areas",
             size="tiny", variant="crnn-msnn", n=6000, epochs=12, batch_size=64, lr=1e-3, warmup_epochs=1.0,
             restart_epochs=0, seed=0, n_bs=5, n_ue=30, dense=0, fig3_pairs=150,
             csi_domain="antenna-frequency", common_phase=False, reconstruction_weight=1.0)
