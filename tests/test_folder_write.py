"""write_folder: whole-folder replacement that never mixes versions or deletes user files."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from _folder_write_worker import is_ours, read_version, version_writer
from zoo_core import folder_write
from zoo_core.errors import FolderNotEmptyError, WzooError
from zoo_core.folder_write import recover, write_folder

WORKER = Path(__file__).with_name("_folder_write_worker.py")
ROOT = Path(__file__).resolve().parents[1]


def leftovers(target: Path) -> list[str]:
    return sorted(n for n in os.listdir(target.parent) if ".wzoo-tmp-" in n or ".wzoo-old-" in n)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_new_folder(tmp_path):
    target = tmp_path / "sub" / "model"
    assert write_folder(target, version_writer("A", 100), is_ours) == target
    assert read_version(target) == "A"
    assert os.listdir(target.parent) == ["model"]  # no lock file or temp left beside it
    assert (os.stat(target).st_mode & 0o777) == 0o777 & ~_umask()


def test_replaces_our_folder_whole(tmp_path):
    target = tmp_path / "model"
    write_folder(target, version_writer("A", 100), is_ours)
    (target / "adapters" / "old" / "main").mkdir(parents=True)
    (target / "adapters" / "old" / "main" / "adapter_config.json").write_text("{}")

    def ours(rel):
        return is_ours(rel) or rel.startswith("adapters/")

    write_folder(target, version_writer("B", 50), ours)
    assert read_version(target) == "B"  # exactly the new files: the old adapter is gone
    assert not (target / "adapters" / "old").exists()
    assert leftovers(target) == []


def test_foreign_file_refused_and_kept(tmp_path):
    target = tmp_path / "model"
    write_folder(target, version_writer("A", 100), is_ours)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FolderNotEmptyError) as info:
        write_folder(target, version_writer("B", 100), is_ours)
    message = str(info.value)
    assert "notes.txt" in message and "pick an empty folder or pass overwrite=True" in message
    assert "\n" not in message and isinstance(info.value, WzooError)
    assert (target / "notes.txt").read_text() == "mine"
    assert json.loads((target / "config.json").read_text())["version"] == "A"
    assert (target / "model.safetensors").read_bytes() == b"A" * 100
    assert leftovers(target) == []


def test_first_foreign_file_is_named(tmp_path):
    target = tmp_path / "model"
    (target / "b").mkdir(parents=True)
    (target / "b" / "z.txt").write_text("x")
    (target / "a.txt").write_text("x")
    with pytest.raises(FolderNotEmptyError, match="'a.txt'"):
        write_folder(target, version_writer("A", 10), is_ours)


def test_overwrite_replaces_anything(tmp_path):
    target = tmp_path / "model"
    write_folder(target, version_writer("A", 100), is_ours)
    (target / "notes.txt").write_text("mine")
    write_folder(target, version_writer("B", 100), is_ours, overwrite=True)
    assert read_version(target) == "B"
    assert leftovers(target) == []


def test_empty_folder_is_fine(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    write_folder(target, version_writer("A", 10), is_ours)
    assert read_version(target) == "A"


def test_target_is_a_file(tmp_path):
    target = tmp_path / "model"
    target.write_text("user data")
    with pytest.raises(FolderNotEmptyError, match="not a folder"):
        write_folder(target, version_writer("A", 10), is_ours)
    assert target.read_text() == "user data"
    assert leftovers(target) == []
    write_folder(target, version_writer("A", 10), is_ours, overwrite=True)
    assert read_version(target) == "A"


def test_target_is_a_symlink(tmp_path):
    real = tmp_path / "real"
    write_folder(real, version_writer("A", 10), is_ours)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(FolderNotEmptyError, match="symlink"):
        write_folder(link, version_writer("B", 10), is_ours)
    assert link.is_symlink() and read_version(real) == "A"
    write_folder(link, version_writer("B", 10), is_ours, overwrite=True)
    assert not link.is_symlink() and read_version(link) == "B"
    assert read_version(real) == "A"  # the symlink was replaced, not what it pointed to


def test_exception_in_write_leaves_target(tmp_path):
    target = tmp_path / "model"
    write_folder(target, version_writer("A", 100), is_ours)

    def broken(tmp: Path) -> None:
        version_writer("B", 100)(tmp)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_folder(target, broken, is_ours)
    assert read_version(target) == "A"
    assert leftovers(target) == []
    with pytest.raises(RuntimeError):
        write_folder(tmp_path / "fresh", broken, is_ours)
    assert not (tmp_path / "fresh").exists() and leftovers(tmp_path / "fresh") == []


def test_fallback_two_renames(tmp_path, monkeypatch):
    def no_exchange(a, b):
        raise OSError(errno.EINVAL, "not supported here")

    monkeypatch.setattr(folder_write, "_exchange", no_exchange)
    target = tmp_path / "model"
    write_folder(target, version_writer("A", 100), is_ours)
    write_folder(target, version_writer("B", 100), is_ours)
    assert read_version(target) == "B"
    assert leftovers(target) == []


def test_other_exchange_errors_propagate(tmp_path, monkeypatch):
    def failing(a, b):
        raise OSError(errno.EIO, "I/O error")

    target = tmp_path / "model"
    write_folder(target, version_writer("A", 100), is_ours)
    monkeypatch.setattr(folder_write, "_exchange", failing)
    with pytest.raises(OSError):
        write_folder(target, version_writer("B", 100), is_ours)
    assert read_version(target) == "A"
    assert leftovers(target) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux-only")
def test_exchange_is_used_on_linux(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.write_text("b")
    folder_write._exchange(a, b)
    assert a.read_text() == "b" and b.is_dir()


def test_recover_restores_set_aside_folder(tmp_path):
    target = tmp_path / "x"
    write_folder(target, version_writer("A", 100), is_ours)
    aside = tmp_path / ".x.wzoo-old-deadbeef"
    os.rename(target, aside)  # as if killed between the two fallback renames
    orphan = tmp_path / ".x.wzoo-tmp-abc123"
    orphan.mkdir()
    (orphan / "config.json").write_text("{")
    recover(target)
    assert read_version(target) == "A"
    assert leftovers(target) == []
    # write_folder recovers first too, then replaces as usual
    os.rename(target, aside)
    write_folder(target, version_writer("B", 100), is_ours)
    assert read_version(target) == "B" and leftovers(target) == []


def test_recover_drops_orphans_and_keeps_other_names(tmp_path):
    target = tmp_path / "x"
    write_folder(target, version_writer("A", 10), is_ours)
    (tmp_path / ".x.wzoo-old-1").mkdir()
    (tmp_path / ".x.wzoo-tmp-2").write_text("half")
    (tmp_path / ".y.wzoo-tmp-3").mkdir()  # another target's: not ours to touch
    recover(target)
    assert sorted(os.listdir(tmp_path)) == [".y.wzoo-tmp-3", "x"]
    assert read_version(target) == "A"


def test_threads_do_not_mix(tmp_path):
    target = tmp_path / "model"
    errors: list[BaseException] = []

    def slow_writer(letter: str):
        inner = version_writer(letter, 20_000)

        def write(tmp: Path) -> None:
            inner(tmp)
            time.sleep(0.002)

        return write

    def run(letter: str) -> None:
        try:
            for _ in range(8):
                write_folder(target, slow_writer(letter), is_ours)
                read_version(target)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in "ABCD"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert read_version(target) in "ABCD"
    assert leftovers(target) == []


def _start_worker(target: Path, letters: str, size: int, count: int | None = None,
                  fallback: bool = False) -> subprocess.Popen:
    args = [sys.executable, str(WORKER), str(target), letters, str(size)]
    if count is not None:
        args.append(str(count))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["WZOO_TEST_NO_EXCHANGE"] = "1" if fallback else "0"
    return subprocess.Popen(args, stdout=subprocess.PIPE, cwd=ROOT, env=env)


def test_processes_do_not_mix(tmp_path):
    target = tmp_path / "model"
    workers = [_start_worker(target, letters, 100_000, count=6) for letters in ("AB", "CD")]
    for w in workers:
        w.communicate(timeout=60)
        assert w.returncode == 0
    assert read_version(target) in "ABCD"
    assert leftovers(target) == []


def _has_exchange() -> bool:
    return folder_write._load_renameat2() is not None


@pytest.mark.parametrize("fallback", [False, True], ids=["exchange", "two-renames"])
def test_sigkill_never_leaves_a_mix(tmp_path, fallback):
    """Kill a writer at random instants: target is always one whole version."""
    rng = random.Random(1234 + fallback)
    target = tmp_path / "model"
    seen, restored = set(), 0
    for trial in range(20):
        worker = _start_worker(target, "AB" if trial % 2 else "BA", 300_000, fallback=fallback)
        try:
            assert worker.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            worker.stdout.close()
        if fallback or not _has_exchange():
            restored += not target.exists()
            recover(target)  # a kill between the two renames leaves the old folder aside
        assert target.is_dir()
        seen.add(read_version(target))
        write_folder(target, version_writer("C", 1000), is_ours)
        assert read_version(target) == "C"
        assert leftovers(target) == []
    assert seen <= {"A", "B"}
    if fallback:  # the worker lingers between its two renames: some kills must land there
        assert restored > 0
