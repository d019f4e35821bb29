"""WavesFM for wzoo: a ViT wireless foundation model (arXiv:2504.14100).

Importing this package is cheap; the torch/timm/peft modules are imported on use:
`zoo_wavesfm.towers` (the ViT encoder), `.mae` (masked wireless modelling), `.finetune`
(modes, LoRA, layer-wise lr decay), `.losses`, `.transforms`, `.heads`, `.recipes`; typed
errors are in `.errors` and the registrations in `.plugin`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wzoo-wavesfm")
except PackageNotFoundError:  # run from a source tree without installing
    __version__ = "0.1.0"
