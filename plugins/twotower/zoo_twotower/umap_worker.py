"""UMAP in a second process that compiles while the model trains.

umap-learn's numba functions are compiled afresh in every process (most of them are not cached
on disk): 83 compilations, 23 of the 37 s of a small pre-training run on the 2-core dev machine,
more than training, t-SNE and PCA together (issue 14, `benchmarks/bench_recipes.py --profile -k
twotower`). `UmapWorker` starts `python -m zoo_twotower.umap_worker` when the recipe starts; it
imports umap-learn and maps a few random points, which compiles what the real map needs (numba
specialises on types, not sizes), while the main process generates data and trains. Fig. 3's
UMAP map then runs in that process: the same call, so the same coordinates as in the main one.

A plain subprocess, not multiprocessing: spawn would re-import the caller's `__main__` (a user's
script without a main guard would run again). Requests and replies are length-prefixed pickles
over the worker's stdin and stdout.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys

import numpy as np

_HEADER = struct.Struct("<Q")


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream):
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the UMAP worker closed its pipe")
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


class UmapWorker:
    """The worker process; `reduce` waits for its warm-up if it is still compiling. A context
    manager that ends the process."""

    def __init__(self):
        self._proc = subprocess.Popen([sys.executable, "-m", "zoo_twotower.umap_worker"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def reduce(self, points: np.ndarray, seed: int = 0) -> np.ndarray:
        """(n, d) → (n, 2), as `figures.reduce_2d(points, "umap", seed)`."""
        _send(self._proc.stdin, (np.asarray(points), int(seed)))
        ok, value = _receive(self._proc.stdout)
        if not ok:
            raise value
        return value

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()  # the worker's loop ends at end of input
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdin.close()
        self._proc.stdout.close()

    def __enter__(self) -> UmapWorker:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None and self._proc.poll() is None:  # the run failed or was interrupted:
            self._proc.kill()  # do not wait for a compilation nobody will use
            self._proc.wait()
        self.close()


def main() -> None:
    """The worker: warm up, then answer (points, seed) requests until stdin closes."""
    from .figures import reduce_2d

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the replies
    reduce_2d(np.random.default_rng(0).standard_normal((64, 8)), "umap")
    while True:
        try:
            points, seed = _receive(stdin)
        except EOFError:
            return
        try:
            _send(stdout, (True, reduce_2d(points, "umap", seed)))
        except Exception as err:  # noqa: BLE001 - handed back to the caller, raised there
            _send(stdout, (False, err))


if __name__ == "__main__":
    main()
