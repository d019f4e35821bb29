"""Typed errors of the WavesFM plugin (all `zoo_core.errors.WzooError`, so the CLI prints one line).

No torch here: the modules that raise them import them from this one.
"""

from zoo_core.errors import WzooError


class InputShapeError(WzooError, ValueError):
    """An input the encoder cannot take (channel count without a patch embedding, size)."""


class TransformInputError(WzooError, ValueError):
    """An input a WavesFM transform cannot take."""


class FinetuneModeError(WzooError, ValueError):
    """An unknown fine-tuning mode or a bad mode option."""


__all__ = ["FinetuneModeError", "InputShapeError", "TransformInputError"]
