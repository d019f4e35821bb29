"""Wireless data: the sample format, splits, torch datasets, generators and baselines.

Importing this package is cheap (no torch, no h5py): names are resolved on first use
through module `__getattr__`.

    from zoo_core.data import WirelessData, random_split, scene_split, WirelessDataset
    from zoo_core.data.generators import geometric, ofdm, city
"""

from __future__ import annotations

from zoo_core.lazy import lazy_attributes

_LAZY = {
    "WirelessData": "zoo_core.data.sample",
    "CSI_AXES": "zoo_core.data.sample",
    "CIR_AXES": "zoo_core.data.sample",
    "FORMAT_VERSION": "zoo_core.data.sample",
    "random_split": "zoo_core.data.sample",
    "scene_split": "zoo_core.data.sample",
    "WirelessDataset": "zoo_core.data.dataset",
    "collate": "zoo_core.data.dataset",
    "DataError": "zoo_core.data.errors",
    "DataFormatError": "zoo_core.data.errors",
    "DataFileNotFoundError": "zoo_core.data.errors",
    "CorruptDataFileError": "zoo_core.data.errors",
    "DataVersionError": "zoo_core.data.errors",
    "MissingFieldError": "zoo_core.data.errors",
    "DataShapeError": "zoo_core.data.errors",
    "NonFiniteDataError": "zoo_core.data.errors",
    "GeneratorParameterError": "zoo_core.data.errors",
    "generate": "zoo_core.data.generators",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
