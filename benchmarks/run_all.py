"""Run every benchmark (benchmarks/ and each plugin's benchmarks/) and print their ratios in one table.

    .venv/bin/python benchmarks/run_all.py            # quick mode: a few minutes on 2 cores
    .venv/bin/python benchmarks/run_all.py --full     # each script's own default sizes
    .venv/bin/python benchmarks/run_all.py -k lvm4csi # only scripts whose path contains a word

Each script runs in its own process (as `python <script> [quick args]`, from the repository
root), its output streamed through; a script that fails or times out is reported in the
table, and the others still run. Ratios are read from the lines a script prints:
"RATIO | name | value | baseline | goal" where it prints them; otherwise from its own
wording ("ratio a / b = 1.2x", "... | ratio 3.4x", "a/b = 0.01", "x / y ... ratio: 1.8x").
Exit status 1 when a script failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: quick-mode arguments of scripts that take sizes positionally or under other names; any other
#: script whose source defines a --quick flag gets --quick
QUICK_ARGS = {
    "bench_core.py": ["--repeats", "2"],
    "bench_wavesfm_multitask.py": ["tiny"],
    "bench_wavesfm_throughput.py": ["tiny", "4"],
}

NUM = r"(?P<val>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


@dataclass
class Ratio:
    name: str
    value: float
    baseline: str
    goal: str = ""

    def verdict(self) -> str:
        m = re.fullmatch(r"\s*(>=|>|<=|<)\s*([\d.]+)\s*", self.goal or "")
        if not m:
            return ""
        op, bound = m.group(1), float(m.group(2))
        ok = {">=": self.value >= bound, ">": self.value > bound,
              "<=": self.value <= bound, "<": self.value < bound}[op]
        return "met" if ok else "MISSED"


@dataclass
class Result:
    script: str
    rc: int | None = None
    seconds: float = 0.0
    ratios: list[Ratio] = field(default_factory=list)
    error: str = ""


def discover() -> list[Path]:
    found = sorted(p for p in (ROOT / "benchmarks").glob("bench_*.py"))
    found += sorted(ROOT.glob("plugins/*/benchmarks/bench_*.py"))
    return found


def arguments(script: Path, full: bool) -> list[str]:
    if full:
        return []
    if script.name in QUICK_ARGS:
        return list(QUICK_ARGS[script.name])
    return ["--quick"] if '"--quick"' in script.read_text(encoding="utf-8") else []


def _baseline_of(label: str) -> str:
    """The denominator of "a / b" or "a/b" wording."""
    if "/" in label:
        return label.rsplit("/", 1)[1].strip()
    return ""


def parse(text: str) -> list[Ratio]:
    lines = text.splitlines()
    explicit = []
    for line in lines:
        if line.startswith("RATIO |"):
            parts = [p.strip() for p in line.split("|")[1:]]
            parts += [""] * (4 - len(parts))
            try:
                explicit.append(Ratio(parts[0], float(parts[1]), parts[2], parts[3]))
            except ValueError:
                continue
    if explicit:
        return explicit
    found = []
    for line in lines:
        s = line.strip()
        if hits := list(re.finditer(r"ratio\s+(?P<label>[^=:;|]+?)\s*=\s*" + NUM + r"x?", s)):
            for m in hits:  # ratio a / b = 1.2x (several on a line)
                label = m.group("label")
                found.append(Ratio(label, float(m.group("val")), _baseline_of(label)))
        elif "|" in s and (m := re.search(r"\|\s*ratio\s*:?\s*" + NUM + r"x", s)):  # name ... | base ... | ratio 3x
            segments = [g.strip() for g in s.split("|")]
            name = segments[0].split()[0] if segments[0] else s[:30]
            base = re.sub(r"[\d.,()]+.*$", "", segments[-2]).strip() if len(segments) >= 3 else ""
            found.append(Ratio(name, float(m.group("val")), base))
        elif m := re.search(r"(?P<label>[\w .-]+?/[\w .-]+?)\s+(?:[\w ]*?)ratio\s*:\s*" + NUM + r"x?", s):
            label = m.group("label").strip()  # bf16 / fp32 throughput ratio: 1.8x
            found.append(Ratio(label + " ratio", float(m.group("val")), _baseline_of(label)))
        elif m := re.search(r"(?P<label>[\w-]+/[\w-]+)\s*=\s*" + NUM + r"x?", s):  # switch/forward = 0.01
            label = m.group("label")
            found.append(Ratio(label, float(m.group("val")), _baseline_of(label)))
        elif m := re.search(r";\s*ratio\s*=\s*" + NUM + r"x", s):  # a = 1 MiB; b = 3 MiB; ratio = 3x
            names = [seg.split(":")[-1].split("=")[0].strip() for seg in s[:m.start()].split(";")]
            label = names[-1] or "ratio"
            found.append(Ratio(label, float(m.group("val")), names[-2] if len(names) >= 2 else ""))
    return found


def run(script: Path, args: list[str], timeout: float) -> Result:
    rel = script.relative_to(ROOT).as_posix()
    res = Result(rel)
    cmd = [sys.executable, "-u", str(script.relative_to(ROOT)), *args]
    print(f"\n=== {rel} {' '.join(args)}".rstrip(), flush=True)
    start = time.perf_counter()
    out = []
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        deadline = start + timeout
        for line in proc.stdout:
            out.append(line)
            print("    " + line, end="", flush=True)
            if time.perf_counter() > deadline:
                proc.kill()
                break
        try:
            proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        res.rc = proc.returncode
        if time.perf_counter() > deadline:
            res.error = f"timed out after {timeout:.0f} s"
            res.rc = res.rc if res.rc not in (0, None) else -9
    except OSError as exc:
        res.rc, res.error = -1, f"could not start: {exc}"
    res.seconds = time.perf_counter() - start
    text = "".join(out)
    res.ratios = parse(text)
    if res.rc != 0 and not res.error:
        tail = [ln.strip() for ln in out if ln.strip()]
        res.error = f"exit {res.rc}: {tail[-1][:120] if tail else 'no output'}"
    return res


def table(results: list[Result]) -> str:
    rows = [("benchmark", "ratio", "value", "baseline (the run beside it)", "goal", "")]
    for r in results:
        name = r.script.replace("plugins/", "").replace("benchmarks/", "").removesuffix(".py")
        if r.error:
            rows.append((name, "FAILED", "", r.error, "", ""))
        if not r.ratios and not r.error:
            rows.append((name, "(printed no ratio)", "", "", "", ""))
        for q in r.ratios:
            value = f"{q.value:.2f}" if q.value == 0 or abs(q.value) >= 0.095 else f"{q.value:.2g}"
            rows.append((name, q.name, value, q.baseline, q.goal, q.verdict()))
    widths = [min(60, max(len(row[i]) for row in rows)) for i in range(6)]
    lines = []
    for k, row in enumerate(rows):
        cells = [c if len(c) <= widths[i] else c[:widths[i] - 1] + "~" for i, c in enumerate(row)]
        lines.append("  ".join(c.rjust(widths[i]) if i == 2 else c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="each script's default sizes instead of its quick mode")
    ap.add_argument("-k", dest="only", action="append", default=[], help="only scripts whose path contains this")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per script (default 600)")
    args = ap.parse_args(argv)
    scripts = [s for s in discover() if Path(__file__).resolve() != s.resolve()]
    if args.only:
        scripts = [s for s in scripts if any(k in s.relative_to(ROOT).as_posix() for k in args.only)]
    start = time.perf_counter()
    results = [run(s, arguments(s, args.full), args.timeout) for s in scripts]
    print(f"\n{len(results)} benchmark scripts in {time.perf_counter() - start:.0f} s "
          f"({'full' if args.full else 'quick'} mode):")
    for r in results:
        print(f"  {r.script}: {r.seconds:.1f} s" + (f"  [{r.error}]" if r.error else ""))
    print()
    print(table(results))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
