"""One BLAS thread for numpy's many small matrix products.

Why: numpy's OpenBLAS starts one thread per core for every product, however small. On a
busy machine (here: 2 cores shared by several jobs) each (64 x 64) @ (20, 64, 64) complex
product of the genie LMMSE then waited on threads descheduled by other processes: 1.3 s
instead of 1 ms with one thread (measured for issue 14, part 3). The products here are far
too small to gain from threads anyway, and the result is the same (a GEMM splits its output
between threads, not the sums). threadpoolctl (a core dependency) sets the limit.
"""

from __future__ import annotations

import contextlib
import functools


def one_blas_thread():
    """Context manager: numpy's BLAS on one thread inside it (threadpoolctl), else a no-op."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def single_blas_thread(fn):
    """Decorator form of `one_blas_thread`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper
