"""WavesFM for wzoo: a ViT wireless foundation model (arXiv:2504.14100).

Importing this package is cheap; the torch/timm/peft modules are imported on use:
`zoo_wavesfm.vit` (encoder), `.mae` (masked wireless modelling), `.finetune` (modes,
LoRA, layer-wise lr decay), `.losses`, `.transforms`, `.heads`, `.recipes`.
"""

__version__ = "0.1.0"
