"""Typed errors of `twotower`: each a `zoo_core.errors.WzooError`, so the `wzoo` CLI prints it
as one line and exits 1."""

from zoo_core.errors import WzooError


class TwotowerError(WzooError):
    """Base class of the errors this plugin raises on purpose."""


class InputShapeError(TwotowerError, ValueError):
    """An input of a shape the plugin's transforms or towers cannot take."""


class DataError(TwotowerError, ValueError):
    """Data that lacks what the two-tower inputs are made from (maps, positions, LOS)."""
