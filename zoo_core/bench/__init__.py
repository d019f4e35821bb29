"""`wzoo bench`: every installed method on the same task, data and split.

    from zoo_core.bench import Benchmark, run_bench, Strategy, Predictor

Plugins register strategies (`register_strategies`) that subclass `Strategy`; the core adds
`scratch` and the baselines. Importing this package is cheap: names load on first use.
"""

from __future__ import annotations

from zoo_core.lazy import lazy_attributes

_LAZY = {
    "Strategy": "zoo_core.bench.strategy",
    "Predictor": "zoo_core.bench.strategy",
    "ModelRef": "zoo_core.bench.strategy",
    "Subset": "zoo_core.bench.strategy",
    "StrategyError": "zoo_core.bench.strategy",
    "Benchmark": "zoo_core.bench.runner",
    "BenchError": "zoo_core.bench.runner",
    "run_bench": "zoo_core.bench.runner",
    "make_split": "zoo_core.bench.splits",
    "fit_on_task": "zoo_core.bench.learn",
    "network_predictor": "zoo_core.bench.learn",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
