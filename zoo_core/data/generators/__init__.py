"""Built-in data generators: every recipe runs on a fresh machine with no download.

Each module has `generate(n, seed=0, progress=False, **params) -> WirelessData`:

- `geometric`: sparse geometric multipath, ULA x OFDM (LVM4CSI eqs. 3-6).
- `ofdm`: MIMO-OFDM pilot grids for channel estimation (WavesFM).
- `city`: city scenes with buildings, BS/UE, LOS, image-method paths, CSI, CIR, beams, maps.

`generate(name, n, ...)` here dispatches by dataset name ("geometric", "ofdm-pilots",
"city"). Modules are imported only when used.
"""

from __future__ import annotations

import importlib

GENERATORS = {
    "geometric": "zoo_core.data.generators.geometric",
    "ofdm-pilots": "zoo_core.data.generators.ofdm",
    "ofdm": "zoo_core.data.generators.ofdm",
    "city": "zoo_core.data.generators.city",
}


def generate(name: str, n: int, seed: int = 0, progress: bool = False, **params):
    """Run the built-in generator `name` (see GENERATORS)."""
    if name not in GENERATORS:
        from zoo_core.errors import UnknownNameError

        raise UnknownNameError("dataset", name, GENERATORS)
    module = importlib.import_module(GENERATORS[name])
    return module.generate(n, seed=seed, progress=progress, **params)
