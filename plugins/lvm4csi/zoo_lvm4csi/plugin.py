"""Registrations of the LVM4CSI plugin (arXiv 2507.05121). Imported at discovery: no torch here."""

from zoo_core import hookimpl

PAPER = "2507.05121"
_PKG = "zoo_lvm4csi"

# Every LVM of the paper is an `arch` of the `lvm4csi/frozen-lvm` backbone; the named models
# below use EfficientNet-Lite0 (the one LVM with ImageNet weights that install offline, and
# small enough for the contract kit); the paper's LVMs are one argument away, e.g.
# `create_model("lvm4csi/har-efficientnet-lite0", arch="convnext-tiny", pretrained=True)`.
ARCHS = ("convnext-tiny", "convnext-base", "convnext-xlarge", "resnet50", "vgg19",
         "mobilenetv3-large", "efficientnet-lite0")


@hookimpl
def register_backbones(register):
    register("lvm4csi/frozen-lvm", f"{_PKG}.towers:FrozenLVM",
             description="Frozen ImageNet LVM from timm (arch: " + ", ".join(ARCHS) + "); pre-logits features",
             archs=list(ARCHS))
    register("lvm4csi/nofeatext-csi", f"{_PKG}.towers:NoFeatExtCSI",
             description="Paper benchmark: flattened real/imag CSI + BatchNorm, no feature extraction")
    register("lvm4csi/convfeatext-csi", f"{_PKG}.towers:ConvFeatExtCSI",
             description="Paper benchmark: conv 8-32-1024 (3x3, stride 2) + global average pool")


@hookimpl
def register_transforms(register):
    register("lvm4csi/angular-delay-jet", f"{_PKG}.transforms:AngularDelayJet",
             description="|F_a^T Y F_d| normalised to [0, 1], jet RGB (channel estimation)")
    register("lvm4csi/real-imag-zero", f"{_PKG}.transforms:RealImagZero",
             description="Real / imaginary / zero planes per-sample normalised (the power is the field power_db)")
    register("lvm4csi/har-image", f"{_PKG}.transforms:HARImage",
             description="|CSI| T x M x N -> T x MN -> jet RGB resized to the LVM input")


@hookimpl
def register_heads(register):
    register("lvm4csi/dense-softmax", f"{_PKG}.heads:DenseSoftmaxHead",
             description="One dense softmax layer (K*C + C parameters), HAR")
    register("lvm4csi/localization", f"{_PKG}.heads:LocalizationHead",
             description="Power (field power_db) 1->8, concat, dense 32-16-2 (ReLU, ReLU, sigmoid) to metres")


def _loc_head(bounds=((0.0, 0.0), (1.0, 1.0))):
    """The localization head reads the channel power as the batch field `power_db`."""
    return {"positioning": {"name": "lvm4csi/localization",
                            "args": {"bounds": [list(b) for b in bounds], "power": "field"}}}


_COMMON = dict(papers=[PAPER], license="apache-2.0")
#: complex CSI (antennas M x subcarriers N), the localization input
_LOC_FIELDS = {"csi": {"shape": [56, 56], "dtype": "complex64"}}


@hookimpl
def register_models(register):
    har_heads = {"activity": {"name": "lvm4csi/dense-softmax", "args": {"num_classes": 7}}}
    register("lvm4csi/har-efficientnet-lite0", backbone="lvm4csi/frozen-lvm",
             backbone_args={"arch": "efficientnet-lite0"}, transform="lvm4csi/har-image",
             transform_config={"size": 224, "colormap": "jet"}, heads=har_heads,
             tower="csi", fields={"csi": {"shape": [250, 3, 30], "dtype": "float32"}},  # |CSI| T x M x N
             description="LVM4CSI HAR on frozen EfficientNet-Lite0 (offline ImageNet weights via [pretrained])",
             tags=["lvm4csi", "har", "frozen-backbone", "efficientnet"], datasets=["ut-har"], **_COMMON)
    register("lvm4csi/loc-efficientnet-lite0", backbone="lvm4csi/frozen-lvm",
             backbone_args={"arch": "efficientnet-lite0"}, transform="lvm4csi/real-imag-zero",
             transform_config={"size": 224, "angular_delay": True, "beta": 4, "gamma": 4, "power_plane": False},
             heads=_loc_head(), tower="csi", fields=_LOC_FIELDS,
             description="LVM4CSI localization: real/imag/zero angular-delay image, frozen LVM, power branch, 32-16-2 head",
             tags=["lvm4csi", "positioning", "frozen-backbone"], datasets=["city"], **_COMMON)
    bench_t = {"size": None, "angular_delay": False, "power_plane": False}
    register("lvm4csi/loc-nofeatext-csi", backbone="lvm4csi/nofeatext-csi",
             backbone_args={"m": 56, "n": 56, "power_input": False}, transform="lvm4csi/real-imag-zero",
             transform_config=bench_t, heads=_loc_head(), tower="csi", fields=_LOC_FIELDS,
             description="Paper benchmark NoFeatExt-CSI for localization (214,114 trainable parameters)",
             tags=["lvm4csi", "positioning", "benchmark"], datasets=["city"], **_COMMON)
    register("lvm4csi/loc-convfeatext-csi", backbone="lvm4csi/convfeatext-csi", backbone_args={"power_input": False},
             transform="lvm4csi/real-imag-zero", transform_config=bench_t, heads=_loc_head(), tower="csi",
             fields=_LOC_FIELDS,
             description="Paper benchmark ConvFeatExt-CSI for localization (334,106 trainable parameters)",
             tags=["lvm4csi", "positioning", "benchmark"], datasets=["city"], **_COMMON)


@hookimpl
def register_recipes(register):
    register("lvm4csi/channel-estimation", f"{_PKG}.recipes:channel_estimation",
             description="Path detection on the angular-delay image vs LS / LMMSE (paper Fig. 8)",
             paths=[2, 4, 6, 8, 10], snrs=[0, 2, 4, 6, 8, 10], samples=50, detector="peak", seed=0)
    register("lvm4csi/localization", f"{_PKG}.recipes:localization",
             description="Frozen LVM + power branch vs NoFeatExt-CSI / ConvFeatExt-CSI on city scenes (error CDF)",
             arch="efficientnet-lite0", pretrained=True, samples=600, snr_db=10.0, epochs=400, bench_epochs=60, seed=0)
    register("lvm4csi/har", f"{_PKG}.recipes:har",
             description="HAR: frozen LVM features + dense softmax vs the same LVM trained from scratch",
             arch="efficientnet-lite0", pretrained=True, data=None, samples=700, epochs=300,
             scratch_epochs=4, scratch_size=64, seed=0)


@hookimpl
def register_strategies(register):
    register("lvm4csi/frozen-head", f"{_PKG}.strategies:FrozenHead",
             description="Frozen ImageNet LVM on the CSI angular-delay image, features cached once, "
                         "a small head: the paper's localization head (positioning) or an MLP (los, beam)")
