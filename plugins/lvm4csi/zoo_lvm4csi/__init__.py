"""LVM4CSI for wzoo: frozen ImageNet vision models on CSI images (arXiv:2507.05121).

Importing this package is cheap; the torch/timm modules are imported on use:
`zoo_lvm4csi.towers` (the frozen LVM backbone), `.transforms` (CSI → images), `.heads`,
`.losses`, `.training`, `.cache`, `.detection`, `.estimation`, `.recipes`; typed errors are
in `.errors` and the registrations in `.plugin`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wzoo-lvm4csi")
except PackageNotFoundError:  # run from a source tree without installing
    __version__ = "0.1.0"
