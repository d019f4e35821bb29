"""Run a Python script in a fresh process, or in several under torchrun, for tests that
need a clean interpreter (data parallelism, kills, import costs)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def run_python(script: str | Path, args: Sequence[str] = (), cwd: str | Path | None = None,
               pythonpath: Sequence[str | Path] = (), nproc: int | None = None,
               timeout: float = 180) -> subprocess.CompletedProcess:
    """Run `script` (under `torchrun --standalone --nproc_per_node nproc` when given, CPU and
    gloo, one thread per process) and fail with the tail of its output when it fails.

    A torchrun launch is tried twice: its rendezvous picks a free port by binding and
    releasing it, so two launches at once (pytest-xdist) can, rarely, race for one port; a
    real failure fails both times."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    launcher = [sys.executable]
    if nproc:
        launcher += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    for _ in range(2 if nproc else 1):
        proc = subprocess.run([*launcher, str(script), *map(str, args)], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode == 0:
            return proc
    raise AssertionError(f"{Path(script).name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
