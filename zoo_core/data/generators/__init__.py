"""Built-in data generators: every recipe runs on a fresh machine with no download.

Each module has `generate(n, seed=0, progress=False, **params) -> WirelessData`:

- `geometric`: sparse geometric multipath, ULA x OFDM (LVM4CSI eqs. 3-6).
- `ofdm`: MIMO-OFDM pilot grids for channel estimation (WavesFM), registered as `ofdm-pilots`.
- `city`: city scenes with buildings, BS/UE, LOS, image-method paths, CSI, CIR, beams, maps.

They are registered like any plugin's data set (`zoo_core.builtins.register_datasets`);
`generate(name, n, ...)` runs any registered generator by name.
"""

from __future__ import annotations


def generate(name: str, n: int, seed: int = 0, progress: bool = False, **params):
    """Run the registered generator `name` (see `wzoo data list`)."""
    from zoo_core.data.sources import generator

    return generator(name)(n, seed=seed, progress=progress, **params)
