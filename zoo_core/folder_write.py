"""Atomic, non-destructive, concurrency-safe writes of a whole folder (a saved model).

A saved model is several files that must agree (config, weights, card, adapters), so
writing them one by one into place can leave a mix of old and new after a crash. Here
the new folder is built under a temporary sibling name, fsynced, and swapped in whole:

* target missing: one rename;
* target present and holding only files we wrote (or ``overwrite=True``): Linux
  ``renameat2(RENAME_EXCHANGE)`` swaps both names in one step, then the old content, now
  under the temporary name, is removed. Where that call is missing (other OS, or a
  filesystem answering EINVAL/ENOSYS) two renames are used instead (target aside as
  ``.{name}.wzoo-old-*``, new into place); a crash between them leaves no target but the
  old folder aside, and :func:`recover` renames it back;
* anything else (a file the user owns, a plain file or symlink at target): refuse with
  :class:`FolderNotEmptyError` rather than delete what is not ours.

Writers of one target serialise on a lock file under ``<tempdir>/wzoo-locks`` so that
nothing extra is left beside the target.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import FolderNotEmptyError
from .fileio import fsync_dir, path_lock, umask

_TMP = "wzoo-tmp-"
_OLD = "wzoo-old-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# what a filesystem or OS says when it cannot exchange (then we fall back to two renames)
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, getattr(errno, "EOPNOTSUPP", -1), getattr(errno, "ENOTSUP", -1)}

_renameat2 = None


def _load_renameat2():
    """The libc renameat2 function (glibc >= 2.28), or None where there is none."""
    global _renameat2
    if _renameat2 is None:
        func = False
        if sys.platform.startswith("linux"):
            try:
                func = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", False)
            except (OSError, AttributeError):
                func = False
            if func:
                func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                func.restype = ctypes.c_int
        _renameat2 = func
    return _renameat2 or None


def _exchange(a: Path, b: Path) -> None:
    """Swap the names a and b in one atomic step; OSError(ENOSYS/EINVAL) where impossible."""
    func = _load_renameat2()
    if func is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available", str(a))
    if func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(a), None, str(b))


def _abs(target: str | os.PathLike[str]) -> Path:
    """Absolute path of target itself (a symlink at target is not followed)."""
    path = Path(os.path.abspath(target))
    if not path.name:
        raise ValueError(f"cannot write a folder onto {path}")
    return path


def _siblings(path: Path, kind: str) -> list[Path]:
    """Our leftovers beside path, found by name (``.{name}.wzoo-tmp-*`` or ``-old-*``)."""
    prefix = f".{path.name}.{kind}"
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    return [path.parent / n for n in names if n.startswith(prefix)]


def _remove(path: Path) -> None:
    """Delete a folder tree or a single entry; a symlink is removed, never followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=False)
    else:
        os.unlink(path)


def _recover(path: Path) -> None:
    if not os.path.lexists(path):
        old = _siblings(path, _OLD)
        if old:  # a crash between the two fallback renames: put the old folder back
            newest = max(old, key=lambda p: os.lstat(p).st_ctime_ns)
            os.rename(newest, path)
            fsync_dir(path.parent)
    for leftover in _siblings(path, _TMP) + _siblings(path, _OLD):
        _remove(leftover)


def recover(target: str | os.PathLike[str]) -> None:
    """Undo what an interrupted write_folder left: restore a set-aside old folder, drop orphans.

    Safe to call any time (a loader may before reading): it waits for a running writer.
    """
    path = _abs(target)
    with path_lock(path):
        _recover(path)


def _first_foreign(path: Path, is_ours: Callable[[str], bool]) -> str | None:
    """The first entry (sorted walk) under path that is_ours does not claim, or None."""
    def fail(exc: OSError) -> None:  # an unreadable subfolder is not known to be ours
        raise exc

    for root, dirs, files in os.walk(path, onerror=fail, followlinks=False):
        dirs.sort()
        entries = sorted(files)
        # a symlink to a folder is listed in dirs but not walked: judge it as an entry
        for d in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            dirs.remove(d)
            entries.append(d)
        for name in sorted(entries):
            rel = Path(os.path.relpath(os.path.join(root, name), path)).as_posix()
            if not is_ours(rel):
                return rel
    return None


def _check_replaceable(path: Path, is_ours: Callable[[str], bool]) -> None:
    """Raise FolderNotEmptyError unless replacing path deletes only files we wrote."""
    hint = "pick an empty folder or pass overwrite=True"
    if os.path.islink(path):
        raise FolderNotEmptyError(f"{path} is a symlink, not a folder; {hint}")
    if not path.is_dir():
        raise FolderNotEmptyError(f"{path} exists and is not a folder; {hint}")
    foreign = _first_foreign(path, is_ours)
    if foreign is not None:
        raise FolderNotEmptyError(f"{path} holds {foreign!r}, which wzoo did not write; {hint}")


def _fsync_tree(folder: Path) -> None:
    """fsync every file, then every folder bottom-up, so the rename publishes durable data."""
    for root, dirs, files in os.walk(folder, topdown=False, followlinks=False):
        for name in files:
            p = os.path.join(root, name)
            if os.path.islink(p):
                continue
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def _swap_in(tmp: Path, path: Path) -> None:
    """Put tmp at path, whole; any old path content ends up removed."""
    if not os.path.lexists(path):
        os.rename(tmp, path)
        fsync_dir(path.parent)
        return
    try:
        _exchange(tmp, path)
    except OSError as exc:
        if exc.errno not in _NO_EXCHANGE:
            raise
        old = path.parent / f".{path.name}.{_OLD}{secrets.token_hex(6)}"
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)
            raise
        fsync_dir(path.parent)
        # rename aside under a temp name first: a crash while deleting must not let
        # recover() mistake a half-deleted folder for the one to restore
        trash = path.parent / f".{path.name}.{_TMP}{secrets.token_hex(6)}"
        try:
            os.rename(old, trash)
        except OSError:
            return  # left whole for recover(), which drops it since target exists
        _discard(trash)
    else:
        fsync_dir(path.parent)
        _discard(tmp)  # now the old content


def _discard(leftover: Path) -> None:
    """Best-effort removal of replaced content: the write has succeeded; recover() retries."""
    try:
        _remove(leftover)
    except OSError:
        pass


def write_folder(
    target: str | os.PathLike[str],
    write: Callable[[Path], None],
    is_ours: Callable[[str], bool],
    overwrite: bool = False,
) -> Path:
    """Write a whole folder atomically: readers see all of the old one or all of the new one.

    ``write(tmp)`` fills an empty temporary sibling folder. An existing target is replaced
    only if every file in it satisfies ``is_ours(relative_posix_path)`` or ``overwrite`` is
    true; otherwise FolderNotEmptyError, and nothing is touched. Writers of one target wait
    for each other. On an exception in ``write`` the target is left as it was.
    """
    path = _abs(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path_lock(path):
        _recover(path)
        if os.path.lexists(path) and not overwrite:
            _check_replaceable(path, is_ours)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{_TMP}", dir=path.parent))
        try:
            os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700; give what mkdir would
            write(tmp)
            _fsync_tree(tmp)
            _swap_in(tmp, path)
        except BaseException:
            _discard(tmp)
            raise
    return Path(target)
