"""UMAP in a second process (compiled while the model trains) gives the main process's map."""

import numpy as np
import pytest


def test_the_worker_gives_the_in_process_coordinates_and_errors():
    from zoo_twotower.figures import reduce_2d
    from zoo_twotower.umap_worker import UmapWorker

    points = np.random.default_rng(3).normal(size=(60, 8))
    with UmapWorker() as worker:
        there = worker.reduce(points, seed=1)
        with pytest.raises(ValueError, match="n_neighbors"):  # raised in the worker, re-raised here
            worker.reduce(np.zeros((1, 3)))
        again = worker.reduce(points, seed=1)  # still serving after an error
    assert worker._proc.poll() is not None  # the process has ended
    np.testing.assert_array_equal(there, reduce_2d(points, "umap", seed=1))
    np.testing.assert_array_equal(again, there)


def test_a_failing_run_ends_the_worker_at_once():
    import time

    from zoo_twotower.umap_worker import UmapWorker

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        with UmapWorker() as worker:
            raise KeyboardInterrupt  # while the worker is still importing and compiling
    assert worker._proc.poll() is not None and time.perf_counter() - start < 10
