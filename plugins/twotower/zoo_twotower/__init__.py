"""twotower for wzoo.

Importing this package is cheap; torch is imported by the modules that need it:
`zoo_twotower.towers` (backbones), `.transforms`, `.heads`, `.losses`; typed errors are in
`.errors` and the registrations in `.plugin`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wzoo-twotower")
except PackageNotFoundError:  # run from a source tree without installing
    __version__ = "0.1.0"
