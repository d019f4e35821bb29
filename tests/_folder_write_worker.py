"""Writes one target over and over with whole versions for test_folder_write's kill test.

Usage: python _folder_write_worker.py TARGET LETTERS SIZE [COUNT]
Prints "ready" once the first version is in place; runs COUNT writes or forever.
With WZOO_TEST_NO_EXCHANGE=1 it uses the two-rename fallback instead of renameat2, and
lingers 20 ms between the two renames so that kills often land where target is missing.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time
from pathlib import Path

from zoo_core import folder_write
from zoo_core.folder_write import write_folder

FILES = {
    "config.json",
    "model.safetensors",
    "README.md",
    "adapters/t/main/adapter_config.json",
    "adapters/t/main/adapter_model.safetensors",
}


def is_ours(rel: str) -> bool:
    return rel in FILES


def version_writer(letter: str, size: int):
    """A whole version: every file names the same letter, so a mix is detectable."""

    def write(tmp: Path) -> None:
        (tmp / "model.safetensors").write_bytes(letter.encode() * size)
        adapter = tmp / "adapters" / "t" / "main"
        adapter.mkdir(parents=True)
        (adapter / "adapter_model.safetensors").write_bytes(letter.encode() * size)
        (adapter / "adapter_config.json").write_text(json.dumps({"version": letter}))
        (tmp / "README.md").write_text(f"# version {letter}\n")
        (tmp / "config.json").write_text(json.dumps({"version": letter, "n": size}))

    return write


def read_version(target: Path) -> str:
    """The one version target holds; AssertionError if its files disagree or are partial."""
    files = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert files == FILES, files
    config = json.loads((target / "config.json").read_text())
    letter, size = config["version"], config["n"]
    assert (target / "model.safetensors").read_bytes() == letter.encode() * size
    adapter = target / "adapters" / "t" / "main"
    assert (adapter / "adapter_model.safetensors").read_bytes() == letter.encode() * size
    assert json.loads((adapter / "adapter_config.json").read_text()) == {"version": letter}
    assert (target / "README.md").read_text() == f"# version {letter}\n"
    return letter


def _no_exchange(a, b):
    raise OSError(errno.EINVAL, "no exchange (test)")


def main() -> None:
    if os.environ.get("WZOO_TEST_NO_EXCHANGE") == "1":
        folder_write._exchange = _no_exchange
        real_rename = os.rename

        def slow_rename(src, dst):
            real_rename(src, dst)
            if ".wzoo-old-" in str(dst):
                time.sleep(0.02)

        os.rename = slow_rename  # this throwaway process only
    target, letters, size = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    count = int(sys.argv[4]) if len(sys.argv) > 4 else None
    i = 0
    while count is None or i < count:
        write_folder(target, version_writer(letters[i % len(letters)], size), is_ours)
        if i == 0:
            print("ready", flush=True)
        i += 1


if __name__ == "__main__":
    main()
