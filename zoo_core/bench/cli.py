"""`wzoo bench TASK`: run every method that supports TASK on one data set and split.

    wzoo bench los                                  # built-in city data, area split
    wzoo bench positioning --data city.h5           # a sample-format file
    wzoo bench los --label-fractions 0.01,0.1,1 --seeds 0,1,2
    wzoo bench los --from runs/pretrain/model       # start a model from a pre-trained folder
    wzoo bench --list                               # tasks, strategies, options, default data

Imported when the CLI starts: nothing heavy at module level.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from zoo_core.errors import WzooError


def configure(parser) -> None:
    parser.description = ("Compare every installed (model, strategy) pair and the baselines on one task, "
                          "data set and split; writes leaderboard.md/.json and plots.")
    parser.add_argument("task", nargs="?", help="registered task (see --list)")
    parser.add_argument("--list", action="store_true", help="tasks, strategies with their options, default data")
    parser.add_argument("--data", help="generator name, LOADER:PATH, or a sample-format HDF5 file "
                                       "(default: the task's built-in data, see --list)")
    parser.add_argument("--n", type=int, help="samples to generate when --data is a generator")
    parser.add_argument("--data-param", action="append", default=[], metavar="KEY=VALUE",
                        help="generator parameter or loader option")
    parser.add_argument("--data-seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--split", default="auto", choices=("auto", "area", "block", "random"),
                        help="split policy (default auto: by area where the data has areas, else spatial "
                             "blocks, else random)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument("--block-m", type=float, default=20.0, help="block side of the block split in metres")
    parser.add_argument("--models", help="comma-separated model names or patterns (default: each strategy's own)")
    parser.add_argument("--strategies", help="comma-separated strategy names (default: all that support the task)")
    parser.add_argument("--from", dest="starts", action="append", default=[], metavar="FOLDER",
                        help="a saved model folder to start that model from (e.g. runs/pretrain/model)")
    parser.add_argument("--label-fractions", default="1", help="fractions of the training labels, e.g. 0.01,0.1,1")
    parser.add_argument("--seeds", default="0", help="training seeds, e.g. 0,1,2 (mean ± std)")
    parser.add_argument("--set", dest="options", action="append", default=[], metavar="[STRATEGY.]KEY=VALUE",
                        help="strategy option, for one strategy or every strategy that has it (e.g. epochs=5)")
    parser.add_argument("--out", help="output folder (default runs/bench-TASK)")
    parser.add_argument("--overwrite", action="store_true", help="replace an --out folder of another bench")
    parser.add_argument("--save-models", action="store_true",
                        help="save each adapted model under OUT/models/ with its results on the card")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads while methods train and predict (default: torch's; 1 is often "
                             "fastest on a machine other jobs share)")
    parser.set_defaults(func=run)


def _numbers(text: str, flag: str, kind=float) -> tuple:
    try:
        values = tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise WzooError(f"{flag} {text!r}: expected comma-separated numbers") from None
    if not values:
        raise WzooError(f"{flag} is empty")
    return values


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _options(pairs: list[str]) -> dict[str, dict]:
    """['lora.epochs=5', 'epochs=3'] -> {'lora': {'epochs': 5}, '*': {'epochs': 3}}."""
    from zoo_core.recipes import parse_options

    out: dict[str, dict] = {}
    for raw in pairs:
        key, sep, value = raw.partition("=")
        scope, dot, name = key.rpartition(".")
        if not sep or not name:
            raise WzooError(f"--set {raw!r}: expected [STRATEGY.]KEY=VALUE")
        out.setdefault(scope if dot else "*", {}).update(parse_options([f"{name}={value}"], flag="--set"))
    return out


def _starts(folders: list[str]) -> dict[str, str]:
    starts = {}
    for folder in folders:
        config = Path(folder) / "config.json"
        try:
            name = json.loads(config.read_text()).get("model_name")
        except (OSError, ValueError):
            raise WzooError(f"--from {folder}: no readable config.json there; pass a folder written by "
                            "save_pretrained or a recipe (e.g. runs/pretrain/model)") from None
        if not name:
            raise WzooError(f"--from {folder}: its config.json names no registered model (model_name)")
        starts[name] = str(Path(folder))
    return starts


def list_everything() -> None:
    from zoo_core.plugins import registry

    from zoo_core.tasks import get_task

    from .strategy import all_strategies

    print("tasks (wzoo bench TASK):")
    width = max(len(r.name) for r in registry().items("task"))
    for rec in registry().items("task"):
        default = get_task(rec.name).default_data
        data = (f"{default[0]} (n={default[1]}{''.join(f', {k}={v}' for k, v in default[2].items())})"
                if default else "needs --data")
        print(f"  {rec.name:<{width}}  {rec.description}  [default data: {data}]")
    print("strategies:")
    for s in all_strategies():
        what = "baseline" if s.baseline else ("models: " + ", ".join(s.models) if s.models else "every model")
        tasks = ", ".join(s.tasks) if s.tasks else "any task"
        print(f"  {s.name:<22} {s.description}")
        print(f"  {'':<22} {what}; tasks: {tasks}")
        if s.defaults:
            print(f"  {'':<22} options: {', '.join(f'{k}={v!r}' for k, v in s.defaults.items())}")
        if getattr(s, "cpu_time", ""):
            print(f"  {'':<22} expected CPU time: {s.cpu_time}")


def run(args) -> int:
    if args.list:
        list_everything()
        return 0
    if not args.task:
        raise WzooError("name a task (wzoo bench TASK); `wzoo bench --list` shows them")
    from zoo_core.data.sources import parse_data
    from zoo_core.recipes import parse_options
    from zoo_core.tasks import get_task

    from .runner import Benchmark, run_bench

    task = get_task(args.task)
    params = parse_options(args.data_param, flag="--data-param")
    if args.data is None:
        if task.default_data is None:
            raise WzooError(f"task {task.name} has no built-in data: pass --data FILE or LOADER:PATH")
        name, n, defaults = task.default_data
        source = parse_data(name, {**defaults, **params}, args.n or n, args.data_seed)
    else:
        source = parse_data(args.data, params, args.n, args.data_seed)
    if args.data_seed < 0 or args.split_seed < 0:
        raise WzooError("seeds must be non-negative integers")
    bench = Benchmark(task.name, source, split=args.split, seed=args.split_seed, block_m=args.block_m)
    out = Path(args.out or f"runs/bench-{task.name.replace('/', '--')}")
    seeds = _numbers(args.seeds, "--seeds", int)
    if any(s < 0 for s in seeds):
        raise WzooError("--seeds must be non-negative integers")
    if args.threads < 0:
        raise WzooError(f"--threads must be 0 (torch's default) or a positive count, got {args.threads}")
    from zoo_core.train import threads

    with threads(args.threads):
        result = run_bench(
            bench, out, strategies=_names(args.strategies), models=_names(args.models), starts=_starts(args.starts),
            fractions=_numbers(args.label_fractions, "--label-fractions"), seeds=seeds,
            options=_options(args.options), overwrite=args.overwrite, progress=not args.quiet,
            save_models=args.save_models, command=shlex.join(["wzoo", "bench", *sys.argv[2:]]))
    print()
    print((out / "leaderboard.md").read_text())
    print(f"wrote {out / 'leaderboard.md'}, {out / 'leaderboard.json'} and {len(result.plots)} plot(s) in "
          f"{out / 'plots'}")
    return 0
