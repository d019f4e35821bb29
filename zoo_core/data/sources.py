"""Where data comes from: one registry of generators and loaders, and the `--data` argument.

Generators and loaders are both registered data sets (`register_datasets`, metadata
`kind="generator"` or `"loader"`), the core's and every plugin's alike. `--data` takes:

- a registered generator name (`city`), with `--data-param key=value` and a sample count;
- `LOADER:PATH` (`ut-har:~/data/UT_HAR`, `deepmimo:scenario/`), with loader options;
- a path to a sample-format HDF5 file (what `wzoo data make` / `convert` and
  `WirelessData.save` write).

`DataSource.describe()` is what results record, so any number names the data it came from
(the file's SHA-256 included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo_core.data.errors import DataError
from zoo_core.errors import UnknownNameError

KINDS = ("generator", "loader")


class DataSourceError(DataError):
    """A `--data` value that is neither a registered data set nor a readable file."""


def _records(kind: str | None = None):
    from zoo_core.plugins import registry

    return [r for r in registry().items("dataset") if kind is None or dataset_kind(r) == kind]


def dataset_kind(record) -> str:
    return record.metadata.get("kind", "generator")


def _normal(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _record(name: str, kind: str):
    table = {r.name: r for r in _records(kind)}
    key = _normal(name)
    if key not in table:
        raise UnknownNameError(f"data {kind}", name, table)
    return table[key]


def _load(record):
    from zoo_core.errors import WzooError

    try:
        return record.load()
    except WzooError:
        raise
    except Exception as exc:  # an import error in a plugin's generator, say
        raise WzooError(f"data set {record.name!r} (plugin {record.plugin!r}) failed to load: "
                        f"{type(exc).__name__}: {exc}") from None


def generator(name: str):
    """The generate function of a registered generator."""
    return _load(_record(name, "generator"))


def loader(name: str):
    """The load function of a registered loader."""
    return _load(_record(name, "loader"))


@dataclass(frozen=True)
class DataSource:
    """One data set a command runs on: a generator with parameters, a loader on a path, or a file."""

    kind: str  # generator | loader | file
    name: str | None = None
    path: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    n: int | None = None
    seed: int = 0

    def load(self, progress: bool = False):
        from zoo_core.data.sample import WirelessData

        if self.kind == "generator":
            from zoo_core.data.cli import _check_params

            func = generator(self.name)
            _check_params(func, self.params, f"data set {self.name!r}", reserved=("n", "seed", "progress"))
            return func(self.n, seed=self.seed, progress=progress, **self.params)
        if self.kind == "loader":
            from zoo_core.data.cli import _check_params

            func = loader(self.name)
            _check_params(func, self.params, f"loader {self.name!r}")
            data = func(self.path, **self.params)
        else:
            data = WirelessData.load(self.path)
        if not isinstance(data, WirelessData):
            raise DataSourceError(f"{self.label()} gave {type(data).__name__}, not a WirelessData")
        return data

    def label(self) -> str:
        if self.kind == "generator":
            return f"{self.name} (n={self.n}, seed={self.seed})"
        if self.kind == "loader":
            return f"{self.name}:{self.path}"
        return str(self.path)

    def describe(self) -> dict[str, Any]:
        """What results record about the data: enough to make it again or to check the file."""
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "params": dict(self.params)}
        if self.kind == "generator":
            out.update(n=self.n, seed=self.seed)
        else:
            path = Path(self.path)
            out["path"] = path.name
            if path.is_file():
                from zoo_core.fileio import sha256_file

                out["sha256"] = sha256_file(path)
        return out


def parse_data(spec: str, params: dict[str, Any] | None = None, n: int | None = None,
               seed: int = 0) -> DataSource:
    """Read a `--data` value (see the module docstring) into a DataSource; nothing is loaded yet."""
    params = dict(params or {})
    if not isinstance(spec, str) or not spec.strip():
        raise DataSourceError("--data is empty: give a generator name (wzoo data list), LOADER:PATH or a file")
    generators = {r.name for r in _records("generator")}
    loaders = {r.name for r in _records("loader")}
    key = _normal(spec)
    if key in generators and not Path(spec).exists():
        if n is None or n < 1:
            raise DataSourceError(f"--data {spec}: a generator needs a positive number of samples (--n)")
        return DataSource("generator", key, params=params, n=int(n), seed=int(seed))
    name, sep, rest = spec.partition(":")
    if sep and _normal(name) in loaders:
        path = Path(rest).expanduser()
        if not path.exists():
            raise DataSourceError(f"--data {spec}: {path} does not exist")
        return DataSource("loader", _normal(name), path=str(path), params=params)
    path = Path(spec).expanduser()
    if path.is_file():
        if params:
            raise DataSourceError(f"--data {spec} is a sample-format file: it takes no --data-param "
                                  f"({', '.join(params)})")
        _check_sample_file(path, loaders)
        return DataSource("file", path=str(path))
    if path.exists():
        raise DataSourceError(f"--data {spec} is a folder: pass LOADER:{spec} with one of the loaders "
                              f"({', '.join(sorted(loaders))}), or convert it first (wzoo data convert)")
    hint = f"generators: {', '.join(sorted(generators))}; loaders (as LOADER:PATH): {', '.join(sorted(loaders))}"
    raise DataSourceError(f"--data {spec}: no such file and no registered data set of that name ({hint})")


def _check_sample_file(path: Path, loaders) -> None:
    """A file that is not wzoo's sample format gets the loader hint, not an HDF5 error."""
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic != b"\x89HDF\r\n\x1a\n":
        raise DataSourceError(f"--data {path} is not a sample-format (HDF5) file: if a loader reads it, pass "
                              f"--data LOADER:{path} ({', '.join(sorted(loaders))}), or convert it with "
                              "`wzoo data convert`")
