"""wzoo entry point of WavesFM: names, metadata and import paths only (no torch here)."""

from zoo_core import hookimpl

PAPER = "2504.14100"
CHANNELS = [1, 3, 4]  # spectrogram, WiFi CSI, 5G CSI / pilot grid

#: backbone sizes: the paper's Table I encoder and two small ones for tests and CPU work
SIZES = {
    "tiny": dict(img_size=32, patch_size=8, in_chans=CHANNELS, embed_dim=64, depth=4, num_heads=4, mlp_dim=256),
    "small": dict(img_size=64, patch_size=8, in_chans=CHANNELS, embed_dim=192, depth=6, num_heads=6, mlp_dim=768),
    "paper": dict(img_size=224, patch_size=16, in_chans=CHANNELS, embed_dim=512, depth=12, num_heads=8, mlp_dim=2048),
}
MODEL_NAMES = {"tiny": "wavesfm/vit-tiny-p8-32", "small": "wavesfm/vit-small-p8-64", "paper": "wavesfm/vit-p16-224"}


def task_heads(size: str) -> dict:
    """The paper's four task heads for a backbone size."""
    a = SIZES[size]
    grid = [a["img_size"] // a["patch_size"]] * 2
    return {
        "activity": {"name": "linear", "args": {"num_outputs": 6}},
        "rf-classification": {"name": "linear", "args": {"num_outputs": 20}},
        "positioning": {"name": "linear", "args": {"num_outputs": 3}},
        "channel-estimation": {"name": "wavesfm/vit-block", "args": {
            "grid_size": grid, "patch_size": a["patch_size"], "out_chans": 2, "num_heads": a["num_heads"],
            "mlp_dim": a["mlp_dim"]}},
    }


@hookimpl
def register_backbones(register):
    register("wavesfm/vit", "zoo_wavesfm.towers:ViTEncoder",
             description="WavesFM ViT encoder: CLS token, 2-D sin-cos positions, split q/k/v for LoRA, "
                         "one patch embedding per input channel count")


@hookimpl
def register_heads(register):
    register("wavesfm/vit-block", "zoo_wavesfm.heads:ViTBlockHead",
             description="One ViT block on patch tokens, reassembled to a grid (channel estimation)")


@hookimpl
def register_transforms(register):
    register("wavesfm/image", "zoo_wavesfm.transforms:WirelessImage",
             description="[log] -> [0,1] (dataset min/max) -> bicubic resize -> channel standardisation")
    register("wavesfm/pilots", "zoo_wavesfm.transforms:PilotGrid",
             description="Reference + received pilots -> [-1,1] -> standardisation -> bicubic resize")


def _signal(size: int) -> dict:
    """One tower, `signal`: a wireless image (spectrogram, CSI, pilot grid) of 1, 3 or 4 channels."""
    return {"signal": {"shape": [3, size, size], "dtype": "float32"}}


@hookimpl
def register_models(register):
    common = dict(backbone="wavesfm/vit", transform="wavesfm/image", tower="signal", papers=[PAPER], license="apache-2.0",
                  tags=["vit", "mae", "lora", "foundation-model"])
    register(MODEL_NAMES["tiny"], backbone_args=SIZES["tiny"], transform_config={"size": 32},
             heads=task_heads("tiny"), fields=_signal(32),
             description="Tiny WavesFM ViT (32x32, patch 8, dim 64, 4 blocks) with the paper's four task heads; "
                         "for tests and quick CPU runs", **common)
    register(MODEL_NAMES["small"], backbone_args=SIZES["small"], transform_config={"size": 64},
             heads={}, fields=_signal(64),
             description="Small WavesFM ViT (64x64, patch 8, dim 192, 6 blocks) for CPU pre-training", **common)
    register(MODEL_NAMES["paper"], backbone_args=SIZES["paper"], transform_config={"size": 224},
             heads={}, fields=_signal(224),
             description="WavesFM encoder of the paper (Table I: 224x224, patch 16, 12 blocks, dim 512, "
                         "MLP 2048, 8 heads, about 38 M parameters)", **common)


@hookimpl
def register_recipes(register):
    register("wavesfm/pretrain", "zoo_wavesfm.recipes:pretrain",
             description="Masked wireless modelling of a small ViT MAE on built-in data; reconstruction plot",
             cpu_time="about 25 s with the defaults on 2 cores (measured)")
    register("wavesfm/channel-estimation", "zoo_wavesfm.recipes:channel_estimation",
             description="Pre-train, then fine-tune for OFDM channel estimation vs from-scratch ViT-SL; "
                         "NMSE vs SNR with LS and LMMSE")
    register("wavesfm/classification", "zoo_wavesfm.recipes:classification",
             description="Pre-train, then fine-tune for LOS classification vs from-scratch ViT-SL; "
                         "mean per-class accuracy and epochs to best")


@hookimpl
def register_strategies(register):
    s = "zoo_wavesfm.strategies"
    register("wavesfm/linear-probe", f"{s}:LinearProbe", description="Frozen encoder, a linear head (paper Sec. IV-B)")
    register("wavesfm/last-k", f"{s}:LastK", description="The last k encoder blocks and the head train")
    register("wavesfm/lora", f"{s}:LoRA", description="Per-task LoRA on query and value, encoder frozen")
    register("wavesfm/full", f"{s}:Full", description="Every weight trains (with layer-wise lr decay)")
