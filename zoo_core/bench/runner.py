"""`wzoo bench`: every (model, strategy) pair that supports a task, plus the baselines, on one
data set and one split; a leaderboard, one overlaid plot, and label-fraction curves.

A benchmark is task + data source + split policy + seed. Each finished entry is stored under
`<out>/entries/` keyed by (model, weights, strategy, options, label fraction, seed, benchmark
hash), written atomically: a killed bench resumes, and a re-run computes only what is new.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo_core.errors import WzooError

from .splits import DEFAULT_FRACTIONS, label_subset, make_split
from .strategy import ModelRef, Scratch, StrategyError, Subset, all_strategies, short_name

RUN_FILE = "bench.json"
OUR_FILES = ("bench.json", "split.json", "leaderboard.json", "leaderboard.md", "entries", "plots", "models")

class BenchError(WzooError):
    """A benchmark that cannot run as asked (says what to change)."""


@dataclass(frozen=True)
class Benchmark:
    task: str
    data: Any  # zoo_core.data.sources.DataSource
    split: str = "auto"
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS
    seed: int = 0
    block_m: float = 20.0

    def describe(self) -> dict[str, Any]:
        return {"task": self.task, "data": self.data.describe(), "split": self.split,
                "fractions": list(self.fractions), "seed": self.seed, "block_m": self.block_m}

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    strategy: str
    model: str | None = None
    start: str | None = None
    label_fraction: float = 1.0
    seed: int = 0
    options: tuple = ()

    @property
    def method(self) -> str:
        name = short_name(self.strategy) if self.model else self.strategy
        return f"{self.model} · {name}" if self.model else name

    def key(self, bench_hash: str, split_hash: str) -> str:
        payload = {"strategy": self.strategy, "model": self.model, "weights": weights_id(self),
                   "options": dict(self.options), "label_fraction": self.label_fraction, "seed": self.seed,
                   "benchmark": bench_hash, "split": split_hash}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def weights_id(entry: Entry) -> str:
    """What the starting weights are: the SHA-256 of a --from folder's weights, or the registered
    model at the installed plugin version (its weights come from the same recipe every time)."""
    if entry.model is None:
        return "none"
    if entry.start:
        path = Path(entry.start) / "model.safetensors"
        if path.is_file():
            from zoo_core.fileio import sha256_file

            return "sha256:" + sha256_file(path)
        return entry.start
    from zoo_core.plugins import registry, state

    plugin = registry().get("model", entry.model).plugin
    info = state().plugins.get(plugin)
    scratch = "scratch" if entry.strategy == "scratch" else "registered"
    return f"{scratch}:{entry.model}@{plugin} {info.version if info else '?'}"


# ---------------------------------------------------------------------- planning
def check_request(strategies=None, models=None, options=None) -> None:
    """Refuse unknown strategies, models and options before any data is made or loaded."""
    import fnmatch

    from zoo_core.errors import UnknownNameError

    from zoo_core.plugins import registry

    registered = registry().names("strategy")
    every = {s.name: s for s in all_strategies([])}  # those that load; the others are reported later
    by_short = {}
    for name in registered:
        by_short.setdefault(short_name(name), []).append(name)
    for name in strategies or ():
        if name not in registered and name not in by_short:
            raise UnknownNameError("strategy", name, registered)
    for pattern in models or ():
        if not any(fnmatch.fnmatchcase(m, pattern) for m in _model_names()):
            raise BenchError(f"--models {pattern}: no installed model has that name (`wzoo list`)")
    for scope, given in (options or {}).items():
        if scope == "*":
            known = {k for s in every.values() for k in s.defaults}
            unknown = sorted(set(given) - known)
            if unknown:
                raise BenchError(f"--set {unknown[0]}: no strategy has that option (`wzoo bench --list`)")
            continue
        names = [scope] if scope in registered else by_short.get(scope, [])
        if not names:
            raise UnknownNameError("strategy", scope, registered)
        if names == ["scratch"]:  # options of the full-training strategies it runs from random weights
            known = {k for s in every.values() if s.full for k in s.defaults}
            unknown = sorted(set(given) - known)
            if unknown:
                raise BenchError(f"--set scratch.{unknown[0]}: no strategy that scratch runs has that option")
            continue
        for name in names:
            if name in every:
                every[name].options(given)  # StrategyError naming the options it has


def _model_names() -> list[str]:
    from zoo_core.plugins import registry

    return registry().names("model")


def plan(task, data, strategies: list[str] | None = None, models: list[str] | None = None,
         starts: dict[str, str] | None = None, fractions=(1.0,), seeds=(0,),
         options: dict[str, dict] | None = None) -> tuple[list[Entry], list[dict]]:
    """The entries to run and the (strategy, model, reason) of those that cannot run."""
    import fnmatch

    starts = starts or {}
    known = _model_names()
    wanted = lambda s: strategies is None or s.name in strategies or short_name(s.name) in strategies  # noqa: E731
    pairs, skipped = [], []
    every = all_strategies(skipped)
    scratch_models = []
    for s in every:
        if isinstance(s, Scratch) or not wanted(s) and not (s.full and wanted_scratch(strategies)):
            continue
        if s.tasks and task.name not in s.tasks and strategies is None:
            continue  # another task's method: not worth a "not run" line unless asked for by name
        reason = s.supports(task, data)
        if s.baseline:
            if not wanted(s):
                continue
            if reason:
                skipped.append({"strategy": s.name, "model": None, "reason": reason})
            else:
                pairs.append((s, None))
            continue
        names = [m for m in known if s.applies_to(m)] if models else [m for m in s.models if m in known]
        if models:
            names = [m for m in names if any(fnmatch.fnmatchcase(m, p) for p in models)]
        for m in names:
            if reason:
                skipped.append({"strategy": s.name, "model": m, "reason": reason})
                continue
            if wanted(s):
                pairs.append((s, m))
            if s.full and s.pretrained and m not in scratch_models:
                scratch_models.append(m)
    if wanted_scratch(strategies):
        pairs += [(Scratch(), m) for m in scratch_models]
    if models:
        missing = [p for p in models if not any(fnmatch.fnmatchcase(m, p) for s, m in pairs if m)]
        if missing:
            raise BenchError(f"--models {', '.join(missing)}: no installed strategy runs it on {task.name} "
                             f"(`wzoo bench --list` shows strategies and their models)")
    if not pairs:
        raise BenchError(f"nothing to run for {task.name} on this data"
                         + (f" (skipped: {'; '.join(_skip_line(s) for s in skipped)})" if skipped else ""))
    entries = []
    for frac in fractions:
        for seed in seeds:
            for s, m in pairs:
                name = "scratch" if isinstance(s, Scratch) else s.name
                inner = Scratch().full_strategy(m) if isinstance(s, Scratch) else s
                opts = {k: v for k, v in (options or {}).get("*", {}).items() if k in inner.defaults}
                opts.update((options or {}).get(name) or (options or {}).get(short_name(name)) or {})
                resolved = inner.options(opts)
                entries.append(Entry(name, m, starts.get(m) if name != "scratch" else None, frac, seed,
                                     tuple(sorted(resolved.items()))))
    return entries, skipped


def wanted_scratch(strategies) -> bool:
    return strategies is None or "scratch" in strategies


def _skip_line(s: dict) -> str:
    return f"{s['model'] + ' · ' if s['model'] else ''}{short_name(s['strategy'])}: {s['reason']}"


# ---------------------------------------------------------------------- running
@dataclass
class BenchResult:
    out: Path
    leaderboard: list[dict]
    records: list[dict]
    skipped: list[dict]
    split: dict
    plots: list[Path] = field(default_factory=list)


def prepare_out(out: Path, run: dict, overwrite: bool) -> bool:
    """Make `out` ready; True when it holds an earlier run of the same benchmark (resume)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out} is a file: pass a folder")
    if out.is_dir() and any(out.iterdir()):
        previous = _read_json(out / RUN_FILE)
        same = previous is not None and previous.get("benchmark_sha256") == run["benchmark_sha256"]
        if same and not overwrite:
            return True
        if not overwrite:
            what = "a bench of another benchmark" if previous else "files that are not a bench run"
            raise BenchError(f"--out {out} holds {what}: pick an empty folder, or --overwrite to replace "
                             "the bench's own files there")
        import shutil

        for name in OUR_FILES:  # only what a bench writes; the user's other files stay
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return False


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, payload) -> None:
    from zoo_core.fileio import atomic_write

    text = json.dumps(payload, indent=1, sort_keys=False, default=_jsonable)
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _jsonable(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"{type(x).__name__} is not JSON")


def run_bench(bench: Benchmark, out: Path, *, strategies=None, models=None, starts=None, fractions=(1.0,),
              seeds=(0,), options=None, overwrite: bool = False, progress: bool = True, echo=print,
              command: str | None = None, save_models: bool = False) -> BenchResult:
    """Run (or resume) a benchmark into `out`; returns the leaderboard. With `save_models`, each
    adapted model is saved under `out/models/` with its results on the card."""
    from zoo_core.recipes import seed_everything
    from zoo_core.tasks import get_task

    task = get_task(bench.task)
    try:
        check_request(strategies, models, options)
    except StrategyError as exc:
        raise BenchError(str(exc)) from None
    out = Path(out)
    run = {"benchmark": bench.describe(), "benchmark_sha256": bench.sha256()}
    resumed = prepare_out(out, run, overwrite)
    echo(f"data: {bench.data.label()}")
    data = bench.data.load(progress=progress)
    task.check_data(data)
    valid = task.valid(data)
    if valid is not None and not valid.all():
        echo(f"dropped {int((~valid).sum())} of {len(data)} samples that have no {task.name} target")
        data = data.subset(np.flatnonzero(valid))
    split = make_split(data, task, bench.split, bench.fractions, bench.seed, bench.block_m)
    entries, skipped = plan(task, data, strategies, models, starts, fractions, seeds, options)
    run.update({"command": command, "split": split.describe(), "strategies": strategies, "models": models,
                "from": starts, "label_fractions": list(fractions), "seeds": list(seeds), "options": options})
    _write_json(out / RUN_FILE, run)
    _write_json(out / "split.json", split.to_json())
    echo(f"{task.name}: {len(data)} samples, split {split.policy} "
         f"(train {len(split.indices['train'])}, val {len(split.indices['val'])}, "
         f"test {len(split.indices['test'])}), split sha256 {split.sha256[:12]}…"
         + (" — resuming" if resumed else ""))
    for s in skipped:
        echo(f"  not run: {_skip_line(s)}")
    test = Subset(data, split.indices["test"], task)
    val = Subset(data, split.indices["val"], task)
    records = []
    for i, entry in enumerate(entries, 1):
        stage = f"{i}/{len(entries)} {entry.method}"
        if len(fractions) > 1 or len(seeds) > 1:
            stage += f" (labels {entry.label_fraction:g}, seed {entry.seed})"
        key = entry.key(run["benchmark_sha256"], split.sha256)
        record = _load_record(out, key)
        if record is None:
            train = Subset(data, label_subset(split.indices["train"], entry.label_fraction, bench.seed), task)
            seed_everything(entry.seed)
            echo(f"{stage}: {'fine-tuning' if entry.model else 'fitting'} on {len(train)} samples")
            save_to = out / "models" / _slug(entry) if save_models else None
            about = {"data": bench.data.describe(), "split": split.describe()}
            record = _run_entry(entry, task, train, val, test, progress, save_to, about)
            _save_record(out, key, record)
            note = ""
        else:
            note = " (cached)"
        records.append(record)
        echo(f"{stage}: {_result_line(task, record)}{note}")
    board = leaderboard(task, records)
    result = BenchResult(out, board, records, skipped, split.describe())
    write_reports(result, task, bench, run)
    return result


def _slug(entry: Entry) -> str:
    from zoo_core.tasks import file_name

    return f"{file_name(entry.method)}-labels{entry.label_fraction:g}-seed{entry.seed}"


def _run_entry(entry: Entry, task, train: Subset, val: Subset, test: Subset, progress: bool,
               save_to: Path | None = None, about: dict | None = None) -> dict:
    from .strategy import get_strategy

    strategy = Scratch() if entry.strategy == "scratch" else get_strategy(entry.strategy)
    strategy.name = entry.strategy
    model = ModelRef(entry.model, entry.start, pretrained=entry.strategy != "scratch") if entry.model else None
    t0 = time.perf_counter()
    try:
        predictor = strategy.adapt(model, task, train, val, seed=entry.seed, progress=progress, **dict(entry.options))
    except StrategyError as exc:
        raise BenchError(f"{entry.method}: {exc}") from None
    t1 = time.perf_counter()
    pred = predictor.predict(test)
    t2 = time.perf_counter()
    context = test.context()
    class_names = context.pop("class_names", None)
    ev = task.evaluate(pred, test.targets, **context)
    folder = None
    if save_to is not None and predictor.model is not None:
        result = {"task": task.name, "method": entry.method, **(about or {}), "metrics": ev.metrics,
                  "label_fraction": entry.label_fraction, "frozen_random": bool(predictor.frozen_random)}
        folder = str(predictor.model.save_pretrained(save_to, overwrite=True, results=[result]))
    return {
        "method": entry.method, "strategy": entry.strategy, "model": entry.model, "start": entry.start,
        "weights_id": weights_id(entry), "options": dict(entry.options),
        "label_fraction": entry.label_fraction, "train_samples": len(train), "seed": entry.seed,
        "metrics": ev.metrics, "curves": ev.curves, "trainable_parameters": int(predictor.trainable_parameters),
        "train_seconds": t1 - t0, "inference_seconds": t2 - t1, "input": predictor.input,
        "weights": predictor.weights, "frozen_random": bool(predictor.frozen_random),
        "history": predictor.history, "class_names": class_names, "model_folder": folder,
        "_pred": np.asarray(pred), "_target": np.asarray(test.targets), "_context": context,
    }


def _save_record(out: Path, key: str, record: dict) -> None:
    from zoo_core.fileio import atomic_write

    folder = out / "entries"
    folder.mkdir(exist_ok=True)
    arrays = {"pred": record["_pred"], "target": record["_target"]}
    snr = record["_context"].get("snr_db")
    if snr is not None:
        arrays["snr_db"] = np.asarray(snr)
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(folder / f"{key}.npz", write)
    _write_json(folder / f"{key}.json", {k: v for k, v in record.items() if not k.startswith("_")})


def _load_record(out: Path, key: str) -> dict | None:
    meta = _read_json(out / "entries" / f"{key}.json")
    path = out / "entries" / f"{key}.npz"
    if meta is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return None  # a damaged entry is computed again
    context = {"snr_db": arrays["snr_db"]} if "snr_db" in arrays else {}
    return {**meta, "_pred": arrays["pred"], "_target": arrays["target"], "_context": context}


def _result_line(task, record: dict) -> str:
    from zoo_core.tasks import METRICS

    parts = [f"{METRICS[k].label} {_fmt(v)}{' ' + METRICS[k].unit if METRICS[k].unit else ''}"
             for k, v in record["metrics"].items()]
    flag = " [frozen random weights]" if record["frozen_random"] else ""
    return ", ".join(parts) + f" ({record['train_seconds']:.1f} s){flag}"


def _fmt(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"


# ---------------------------------------------------------------------- leaderboard
def leaderboard(task, records: list[dict]) -> list[dict]:
    """One row per (method, label fraction): metrics as mean and std over seeds, best first."""
    from zoo_core.tasks import METRICS

    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], r["label_fraction"]), []).append(r)
    rows = []
    for (method, frac), rs in groups.items():
        names = list(rs[0]["metrics"])
        mean = {k: float(np.mean([r["metrics"][k] for r in rs])) for k in names}
        std = {k: float(np.std([r["metrics"][k] for r in rs])) for k in names}
        first = rs[0]
        rows.append({
            "method": method, "strategy": first["strategy"], "model": first["model"],
            "label_fraction": frac, "train_samples": first["train_samples"], "seeds": [r["seed"] for r in rs],
            "metrics": mean, "std": std, "trainable_parameters": first["trainable_parameters"],
            "train_seconds": float(np.mean([r["train_seconds"] for r in rs])),
            "inference_seconds": float(np.mean([r["inference_seconds"] for r in rs])),
            "input": first["input"], "weights": first["weights"], "frozen_random": first["frozen_random"],
            "options": first["options"],
        })
    sign = -1 if METRICS[task.primary].higher_is_better else 1
    rows.sort(key=lambda r: (-r["label_fraction"], sign * r["metrics"].get(task.primary, math.nan)))
    return rows


def write_reports(result: BenchResult, task, bench: Benchmark, run: dict) -> None:
    from .report import leaderboard_markdown, plot_results

    out = result.out
    result.plots = plot_results(task, result.records, out / "plots")
    _write_json(out / "leaderboard.json", {
        "task": task.name, "primary_metric": task.primary, "benchmark": bench.describe(),
        "benchmark_sha256": run["benchmark_sha256"], "split": result.split, "command": run.get("command"),
        "rows": result.leaderboard, "not_run": result.skipped,
        "plots": [str(p.relative_to(out)) for p in result.plots]})
    md = leaderboard_markdown(task, result, bench, run)
    from zoo_core.fileio import atomic_write

    atomic_write(out / "leaderboard.md", lambda tmp: tmp.write_text(md))
