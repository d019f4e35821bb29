"""Typed errors of the data layer (sample files, generators, loaders).

Every error here is a `zoo_core.errors.WzooError`, so the CLI prints it as one line.
Catch `DataError` for "anything wrong with data", `DataFormatError` for "this file or
array is not a valid wzoo sample set".
"""

from __future__ import annotations

from zoo_core.errors import WzooError


class DataError(WzooError):
    """Base class of every data-layer error."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """The sample file does not exist."""

    def __init__(self, path):
        self.path = str(path)
        super().__init__(f"data file not found: {self.path}")

    def __str__(self) -> str:  # FileNotFoundError would format errno/filename
        return self.args[0]


class DataFormatError(DataError):
    """A file or array that is not a valid wzoo sample set."""


class CorruptDataFileError(DataFormatError):
    """Not HDF5 at all, truncated, or unreadable."""


class DataVersionError(DataFormatError):
    """A file written with a format version this wzoo cannot read."""


class MissingFieldError(DataFormatError):
    """A required dataset (e.g. ``csi``) is absent."""


class DataShapeError(DataFormatError):
    """An array with the wrong shape or dtype."""


class NonFiniteDataError(DataFormatError):
    """NaN or inf in the CSI."""


class GeneratorParameterError(DataError, ValueError):
    """An invalid generator parameter (bad size, range or option)."""


class OptionalDependencyError(DataError, ImportError):
    """An optional engine (e.g. Sionna) that is not installed."""

    def __init__(self, what: str, extra: str):
        super().__init__(f"{what} is not installed: pip install 'wzoo[{extra}]'")


class DataTooLargeError(DataFormatError):
    """A file that declares an array larger than wzoo reads without being asked to."""


def check_declared_size(shape, dtype, what: str) -> None:
    """Refuse, before reading, an array whose declared size exceeds WZOO_MAX_ARRAY_BYTES (4 GiB
    by default): a small compressed HDF5 or a truncated .npy file can declare terabytes."""
    import os

    import numpy as np

    limit = int(os.environ.get("WZOO_MAX_ARRAY_BYTES", str(4 << 30)))
    size = int(np.prod([int(s) for s in shape], dtype=object)) * np.dtype(dtype).itemsize
    if size > limit:
        raise DataTooLargeError(
            f"{what} declares {size / 2**30:.1f} GiB (shape {tuple(int(s) for s in shape)}, {np.dtype(dtype)}), over "
            f"the {limit / 2**30:.1f} GiB limit: set WZOO_MAX_ARRAY_BYTES to read it if the file is what you expect")
