"""Wall time of the README's main job and of every recipe: this tree against a baseline commit.

"before" is the code at `--baseline` (default: the commit before issue 14's recipe fixes),
"after" the code at `--after` (default HEAD; `--after worktree` for uncommitted edits), each
exported with `git archive` into a temporary folder (others' later commits are in "after" too:
the script lists the commits between the two). Both run the same commands as fresh processes
of the same interpreter (their tree first on PYTHONPATH, so its packages shadow the editable
installs), alternating before / after on every repeat so machine load falls on both alike. Small `--set` options keep each job under a minute or two; `--full` runs
the README's main job as written.

    .venv/bin/python benchmarks/bench_recipes.py                  # every job, 2 repeats
    .venv/bin/python benchmarks/bench_recipes.py -k wavesfm --repeat 3
    .venv/bin/python benchmarks/bench_recipes.py --profile -k main   # + top functions, both trees
    .venv/bin/python benchmarks/bench_recipes.py --quick          # the cheapest jobs, 2 repeats

Machine-readable lines start with "RATIO | name | value | baseline | goal" (benchmarks/run_all.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the last commit before the fixes this script measures (issue 14, part 3)
DEFAULT_BASELINE = "a9df6c5"
#: what issue 14's recipe fixes changed: by default "before" is the "after" tree with only these
#: paths taken from the baseline commit, so others' work committed since does not count
FIXED_PATHS = ("zoo_core/bench", "zoo_core/data", "plugins/wavesfm/zoo_wavesfm", "plugins/lvm4csi/zoo_lvm4csi",
               "plugins/csiclip/zoo_csiclip/towers.py")
#: folders that hold a package of the project (each goes on PYTHONPATH)
PACKAGE_DIRS = (".", "plugins/wavesfm", "plugins/lvm4csi", "plugins/csiclip", "plugins/twotower",
                "tests/example_plugin")

#: job name → commands (wzoo argv; "{out}" is the job's fresh output folder)
JOBS = {
    "main": [  # the README's main job, smaller: fewer samples and epochs
        ["run", "wavesfm/pretrain", "--out", "{out}/pretrain", "--set", "epochs=3", "--set", "n_samples=512"],
        ["bench", "los", "--from", "{out}/pretrain/model", "--out", "{out}/bench-los", "--n", "500",
         "--set", "epochs=1", "--quiet"],
    ],
    "wavesfm/pretrain": [["run", "wavesfm/pretrain", "--out", "{out}", "--set", "epochs=3",
                          "--set", "n_samples=512"]],
    "lvm4csi/channel-estimation": [["run", "lvm4csi/channel-estimation", "--out", "{out}", "--set", "paths=[2,6]",
                                    "--set", "snrs=[0,10]", "--set", "samples=20", "--set", "progress=false"]],
    "example/los": [["run", "example/los", "--out", "{out}", "--set", "n=1000", "--set", "epochs=3"]],
    "wavesfm/classification": [["run", "wavesfm/classification", "--out", "{out}",
                                "--set", "pretrain_epochs=2", "--set", "epochs=2", "--set", "n_pretrain=256",
                                "--set", "n_train=512", "--set", "n_test=256"]],
    "wavesfm/channel-estimation": [["run", "wavesfm/channel-estimation", "--out", "{out}",
                                    "--set", "pretrain_epochs=2", "--set", "epochs=2", "--set", "n_pretrain=256",
                                    "--set", "n_train=512", "--set", "n_test=256"]],
    "lvm4csi/har": [["run", "lvm4csi/har", "--out", "{out}", "--set", "samples=200", "--set", "epochs=30",
                     "--set", "scratch_epochs=1", "--set", "progress=false"]],
    "lvm4csi/localization": [["run", "lvm4csi/localization", "--out", "{out}", "--set", "samples=200",
                              "--set", "epochs=50", "--set", "bench_epochs=5", "--set", "progress=false"]],
    "csiclip/pretrain": [["run", "csiclip/pretrain", "--out", "{out}", "--set", "n=600", "--set", "epochs=3"]],
    "twotower/pretrain": [["run", "twotower/pretrain", "--out", "{out}", "--set", "n=600", "--set", "epochs=1"]],
    # at its defaults: training long enough for UMAP's compilation to overlap it (umap_worker.py)
    "twotower/pretrain-defaults": [["run", "twotower/pretrain", "--out", "{out}"]],
}
FULL_MAIN = [["run", "wavesfm/pretrain", "--out", "{out}/pretrain"],
             ["bench", "los", "--from", "{out}/pretrain/model", "--out", "{out}/bench-los", "--quiet"]]
QUICK = ("wavesfm/pretrain", "lvm4csi/channel-estimation", "example/los")

#: run inside the child: the wzoo CLI, optionally under cProfile; then its top functions by
#: cumulative time, import machinery and module bodies left out (an import shows as its caller)
CHILD = r"""
import cProfile, os, pstats, sys
from zoo_core.cli import main
top, argv = int(sys.argv[1]), sys.argv[2:]
if not top:
    sys.exit(main(argv))
prof = cProfile.Profile()
rc = prof.runcall(main, argv)
stats = pstats.Stats(prof).stats
rows = sorted(((ct, tt, nc, f, line, fn) for (f, line, fn), (_, nc, tt, ct, _) in stats.items()
               if not f.startswith("<frozen") and fn != "<module>" and "importlib" not in f), reverse=True)
lines = [f"{'cumulative s':>12} {'own s':>8} {'calls':>8}  function"]
for ct, tt, nc, f, line, fn in rows[:top]:
    parts = f.replace(os.sep, "/").split("/")
    where = "/".join(parts[-3:]) if "site-packages" in f or "zoo_" in f else parts[-1]
    lines.append(f"{ct:12.2f} {tt:8.2f} {nc:8d}  {where}:{line}({fn})")
print("@@PROFILE@@" + "\n".join(lines))
sys.exit(rc)
"""


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def export_tree(rev: str, dest: Path, paths: tuple[str, ...] = ()) -> Path:
    """The files of commit `rev` (only `paths`, if given) in `dest` (git archive: no worktree
    bookkeeping left behind)."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev, *paths], cwd=ROOT, check=True,
                             capture_output=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def pythonpath(tree: Path) -> str:
    return os.pathsep.join(str(tree / d) for d in PACKAGE_DIRS if (tree / d).is_dir())


def run_job(tree: Path, commands, out: Path, top: int = 0) -> tuple[float, list[str]]:
    """Wall seconds of the job's commands, each a fresh process, and each one's profile text."""
    env = dict(os.environ, PYTHONPATH=pythonpath(tree), WZOO_STRICT_PLUGINS="1")
    profiles = []
    start = time.perf_counter()
    for argv in commands:
        argv = [a.replace("{out}", str(out)) for a in argv]
        proc = subprocess.run([sys.executable, "-c", CHILD, str(top), *argv], cwd=tree, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"wzoo {' '.join(argv)} failed in {tree}:\n" + "\n".join(tail))
        if "@@PROFILE@@" in proc.stdout:
            profiles.append(f"$ wzoo {' '.join(argv)}\n" + proc.stdout.split("@@PROFILE@@", 1)[1])
    return time.perf_counter() - start, profiles


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision of the 'before' code")
    ap.add_argument("--after", default="HEAD", help="git revision of the 'after' code, or 'worktree'")
    ap.add_argument("--whole-baseline", action="store_true",
                    help="'before' is the whole baseline commit (default: the 'after' tree with only "
                         f"{', '.join(FIXED_PATHS)} from the baseline)")
    ap.add_argument("--repeat", type=int, default=2, help="before/after pairs per job (default 2)")
    ap.add_argument("-k", dest="only", action="append", default=[], help="only jobs whose name contains this")
    ap.add_argument("--full", action="store_true", help="the README's main job with its defaults")
    ap.add_argument("--quick", action="store_true",
                    help=f"only {', '.join(QUICK)}, two pairs each (one in each order)")
    ap.add_argument("--profile", type=int, nargs="?", const=25, default=0, metavar="N",
                    help="also print the top N functions by cumulative time of each command, both trees "
                         "(from an extra, unmeasured run)")
    args = ap.parse_args(argv)
    jobs = dict(JOBS, main=FULL_MAIN) if args.full else dict(JOBS)
    if args.quick:
        jobs, args.repeat = {k: jobs[k] for k in QUICK}, 2
    if args.only:
        jobs = {k: v for k, v in jobs.items() if any(w in k for w in args.only)}
    sha = _git("rev-parse", "--short", args.baseline)
    after = "worktree" if args.after == "worktree" else _git("rev-parse", "--short", args.after)
    scope = () if args.whole_baseline else FIXED_PATHS
    between = _git("log", "--oneline", f"{sha}..{'HEAD' if after == 'worktree' else after}", "--", *scope).splitlines()
    what = f"commit {sha}" if args.whole_baseline else f"the 'after' tree with {', '.join(scope)} of commit {sha}"
    print(f"before: {what}\nafter: {'the working tree' if after == 'worktree' else 'commit ' + after}; "
          f"{args.repeat} alternating pairs per job; the commits between:")
    for line in between:
        print(f"    {line[:110]}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="wzoo-bench-recipes-") as tmp:
        after_tree = ROOT if after == "worktree" else export_tree(after, Path(tmp) / "after")
        if args.whole_baseline:
            before = export_tree(args.baseline, Path(tmp) / "before")
        else:
            before = Path(tmp) / "before"
            shutil.copytree(after_tree, before, ignore=shutil.ignore_patterns(".git", ".venv", "runs", "*.egg-info"))
            for rel in FIXED_PATHS:
                shutil.rmtree(before / rel, ignore_errors=True)
            export_tree(args.baseline, before, FIXED_PATHS)
        trees = {"before": before, "after": after_tree}
        for tree in trees.values():  # bytecode compiled up front: not in the first pair's time only
            subprocess.run([sys.executable, "-m", "compileall", "-q", *pythonpath(tree).split(os.pathsep)],
                           check=True, capture_output=True)
        for name, commands in jobs.items():
            times = {"before": [], "after": []}
            for r in range(args.repeat):
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for which in order:
                    out = Path(tmp) / "out" / f"{name.replace('/', '-')}-{which}-{r}"
                    times[which].append(run_job(trees[which], commands, out)[0])
            ratios = [b / a for b, a in zip(times["before"], times["after"])]
            rows.append((name, times, ratios))
            print(f"{name:28s} before {statistics.median(times['before']):7.1f} s   after "
                  f"{statistics.median(times['after']):7.1f} s   ratio before/after = "
                  f"{statistics.median(ratios):.2f}x (pairs {min(ratios):.2f}-{max(ratios):.2f})", flush=True)
            if args.profile:
                for which in ("before", "after"):
                    out = Path(tmp) / "out" / f"{name.replace('/', '-')}-{which}-profile"
                    _, profiles = run_job(trees[which], commands, out, top=args.profile)
                    for text in profiles:
                        print(f"\n--- profile {name} [{which}] ---\n{text}", flush=True)
    print()
    print(f"{'job':28s} {'before s':>9s} {'after s':>9s} {'ratio':>7s}  spread")
    for name, times, ratios in rows:
        print(f"{name:28s} {statistics.median(times['before']):9.1f} {statistics.median(times['after']):9.1f} "
              f"{statistics.median(ratios):6.2f}x  {min(ratios):.2f}-{max(ratios):.2f}")
    for name, _, ratios in rows:
        print(f"RATIO | {name} wall before/after | {statistics.median(ratios):.3f} | commit {sha} | > 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
