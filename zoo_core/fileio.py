"""Atomic file writes, shared by everything that writes model folders, data and caches.

Write to a temporary name in the target's folder, fsync, give it the permissions a plain
`open()` would (mkstemp makes 0600 files), rename it into place, fsync the folder. An
interrupted write leaves the old file or none, never a partial one. The temporary name is
recognisable (`.<name>.wzoo-tmp-*`) and writers of one path take a lock, so each write
first removes what a killed earlier write of the same path left behind.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems do not open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


TMP_MARK = "wzoo-tmp-"


def path_lock(path: Path):
    """A lock keyed by the canonical path, kept in the temp dir, not beside the path."""
    from filelock import FileLock

    folder = Path(tempfile.gettempdir()) / "wzoo-locks"
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        try:  # shared by every user of this machine, like /tmp itself
            os.chmod(folder, 0o1777)
        except OSError:
            pass
    canonical = path.parent.resolve() / path.name
    key = hashlib.sha256(os.fsencode(canonical)).hexdigest()
    return FileLock(folder / f"{key}.lock", mode=0o666)


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call write(tmp_path) and then move tmp_path onto path; nothing partial on failure."""
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path_lock(path):
        for leftover in path.parent.glob(f".{glob.escape(path.name)}.{TMP_MARK}*"):
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)  # a killed write of this path (writers hold the lock)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{TMP_MARK}", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            write(tmp_path)
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp_path, 0o666 & ~umask())
            os.replace(tmp_path, path)
            fsync_dir(path.parent)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
    return path


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (data files can be large)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
