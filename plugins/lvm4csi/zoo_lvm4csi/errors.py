"""Typed errors of the LVM4CSI plugin (all `zoo_core.errors.WzooError`)."""

from zoo_core.errors import WzooError


class TransformInputError(WzooError, ValueError):
    """CSI of a shape or dtype a transform cannot take."""


class PretrainedWeightsUnavailable(WzooError):
    """Pretrained ImageNet weights that cannot be reached (no Hub, package not installed)."""


class DetectorUnavailable(WzooError):
    """A detector whose weights or library are not available here."""


class FeatureCacheError(WzooError):
    """A feature cache that cannot be read or written."""
