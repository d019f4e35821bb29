"""Typed errors of the CSI-CLIP plugin (all `zoo_core.errors.WzooError`: the CLI prints one line).

No torch here: the modules that raise them import them from this one.
"""

from zoo_core.errors import CorruptWeightsError, WeightsMismatchError, WzooError


class TransformInputError(WzooError, ValueError):
    """An input the complex-image transform cannot take (layout, dtype, statistics)."""


class OfficialWeightsError(WzooError):
    """The authors' release cannot be used as asked (no manifest, a file it does not list)."""


class ManifestHashError(OfficialWeightsError, CorruptWeightsError):
    """A downloaded file whose SHA-256 is not the one manifest.json gives."""


class OfficialKeyError(OfficialWeightsError, WeightsMismatchError):
    """The release's tensors do not map one-to-one onto the plugin's towers (names or shapes)."""


class PretrainDataError(WzooError, ValueError):
    """Pre-training data that cannot be mixed or paired (no CSI, unknown source)."""


__all__ = ["ManifestHashError", "OfficialKeyError", "OfficialWeightsError", "PretrainDataError",
           "TransformInputError"]
