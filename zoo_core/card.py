"""Model cards: huggingface_hub's ModelCard with wzoo's metadata, rendered from config.json."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import NotAZooModelError

REQUIRED_FIELDS = ("library_name", "license", "tags")
RESULT_KEYS = ("task", "data", "split", "metrics")


def check_results(results: list[dict]) -> list[dict]:
    """Results for a card: each {"task", "data": {name, ...}, "split": {policy, sha256},
    "metrics": {name: value}} with optional "method", "frozen_random", "label_fraction"."""
    from .errors import ConfigError
    from .tasks import METRICS

    out = []
    for i, r in enumerate(results):
        missing = [k for k in RESULT_KEYS if k not in r]
        if missing:
            raise ConfigError(f"result {i} lacks {', '.join(missing)} (each needs {', '.join(RESULT_KEYS)})")
        unknown = sorted(set(r["metrics"]) - set(METRICS))
        if unknown:
            raise ConfigError(f"result {i}: {', '.join(unknown)} not in the metric vocabulary (zoo_core.tasks.METRICS)")
        out.append(json.loads(json.dumps(r, default=str)))
    return out


def _eval_results(results: list[dict]):
    from huggingface_hub import EvalResult

    evals = []
    for r in results:
        data = r["data"]
        for metric, value in r["metrics"].items():
            evals.append(EvalResult(
                task_type=r["task"], task_name=r.get("method") or r["task"], dataset_type=data.get("name") or "data",
                dataset_name=_data_label(data), dataset_split=f"test ({r['split'].get('policy', '?')} split)",
                dataset_revision=r["split"].get("sha256"), metric_type=metric, metric_value=float(value)))
    return evals or None


def _data_label(data: dict) -> str:
    if data.get("kind") == "generator":
        return f"{data.get('name')} (n={data.get('n')}, seed={data.get('seed')})"
    return f"{data.get('name') or data.get('path')}" + (f" sha256 {data['sha256'][:12]}" if data.get("sha256") else "")


def card_data(config: dict[str, Any], metrics: dict[str, float] | None = None):
    """The YAML header: library, license, tags (incl. `arxiv:` paper ids), datasets, metrics."""
    from huggingface_hub import ModelCardData

    card = config.get("card", {})
    tasks = [h["task"] for h in config.get("heads") or []]
    tags = ["wzoo", "wireless", config.get("plugin", "")] + list(card.get("tags", ())) + tasks
    tags += [f"arxiv:{p.removeprefix('arxiv:')}" for p in card.get("papers", ())]
    metrics = metrics if metrics is not None else card.get("metrics") or {}
    results = card.get("results") or []
    return ModelCardData(
        library_name="wzoo",
        license=card.get("license") or "other",
        tags=list(dict.fromkeys(t for t in tags if t)),
        base_model=card.get("base_model"),
        datasets=list(card.get("datasets", ())) or None,
        metrics=sorted(set(metrics) | {m for r in results for m in r["metrics"]}) or None,
        model_name=config.get("model_name") or "model",
        eval_results=_eval_results(results),
    )


def render_card(config: dict[str, Any], metrics: dict[str, float] | None = None, repo_id: str | None = None,
                folder: str | Path | None = None):
    """A ModelCard (YAML header + body from the template) for a saved model's config; its "How
    to load" names the Hub repo, else the folder it is written to."""
    from huggingface_hub import ModelCard

    card = config.get("card", {})
    metrics = metrics if metrics is not None else card.get("metrics") or {}
    template = resources.files("zoo_core").joinpath("templates/model_card.md").read_text()
    data = card_data(config, metrics)
    body = template.format(
        model_name=config.get("model_name", "model"),
        description=card.get("description") or "A wzoo model.",
        plugin=config.get("plugin", "?"),
        distribution=config.get("distribution") or "wzoo",
        towers=_tower_table(config),
        tasks=_task_table(config),
        datasets=_datasets(card),
        results="\n\n".join(part for part in (
            _results_table(metrics) if metrics or not card.get("results") else "",
            _bench_results(card.get("results") or [])) if part),
        load_ref=f"hf-hub:{repo_id}" if repo_id else Path(folder).as_posix() if folder else "path/to/folder",
        limits=card.get("limits") or "Trained and evaluated on the data named above only; "
        "check the error on your own data before relying on it.",
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def _tower_table(config: dict) -> str:
    rows = ["| tower | reads | backbone | transform | embedding | weights |", "|---|---|---|---|---|---|"]
    for e in config.get("encoders") or []:
        fields = ", ".join(f"`{k}` {v['dtype']}" for k, v in (e.get("fields") or {}).items()) or "–"
        args = json.dumps(e["backbone"].get("args", {}), sort_keys=True)
        rows.append(f"| {e['name']} | {fields} | `{e['backbone']['name']}` `{args}` | "
                    f"`{(e.get('transform') or {}).get('name', 'none')}` | {e.get('embed_dim') or '–'} | "
                    f"{e.get('weights', 'random')} |")
    return "\n".join(rows)


def _task_table(config: dict) -> str:
    heads = config.get("heads") or []
    if not heads:
        return "No task heads: a feature extractor."
    adapters = {}
    for a in config.get("adapters") or []:
        adapters.setdefault(a["task"], []).append(f"{a['peft_type']} on {a['tower']}")
    rows = ["| task | head | reads | adapter |", "|---|---|---|---|"]
    for head in heads:
        rows.append(f"| {head['task']} | {head['name']} | {', '.join(head.get('towers') or [])} | "
                    f"{'; '.join(adapters.get(head['task'], [])) or '–'} |")
    return "\n".join(rows)


def _datasets(card: dict) -> str:
    used = [_data_label(r["data"]) for r in card.get("results") or []]
    named = list(card.get("datasets", ()))
    return ", ".join(dict.fromkeys(used + named)) or "see the recipe that produced it"


def _bench_results(results: list[dict]) -> str:
    if not results:
        return ""
    rows = ["| task | method | data | split | metric | value |", "|---|---|---|---|---|---|"]
    for r in results:
        split = f"{r['split'].get('policy', '?')} `{(r['split'].get('sha256') or '')[:12]}`"
        for metric, value in r["metrics"].items():
            rows.append(f"| {r['task']} | {r.get('method', '–')} | {_data_label(r['data'])} | {split} | {metric} | "
                        f"{float(value):.4g} |")
    if any(r.get("frozen_random") for r in results):
        rows += ["", "**Frozen random weights:** a frozen part of this model was never pre-trained; these numbers "
                     "measure its head on random features, not a foundation model."]
    return "\n".join(rows).strip()


def _results_table(metrics: dict) -> str:
    if not metrics:
        return "No results recorded."
    rows = ["| metric | value |", "|---|---|"]
    rows += [f"| {k} | {v:.4g} |" if isinstance(v, (int, float)) else f"| {k} | {v} |" for k, v in sorted(metrics.items())]
    return "\n".join(rows)


def validate_card(path: str | Path) -> dict[str, Any]:
    """Parse a README.md card's YAML header and check wzoo's required fields; returns it."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise NotAZooModelError(f"{path}: model card has no YAML header (--- ... ---)")
    try:
        header = text.split("---", 2)[1]
        meta = yaml.safe_load(header) or {}
    except (IndexError, yaml.YAMLError) as exc:
        raise NotAZooModelError(f"{path}: model card YAML does not parse: {exc}") from None
    missing = [f for f in REQUIRED_FIELDS if not meta.get(f)]
    if missing:
        raise NotAZooModelError(f"{path}: model card lacks required fields: {', '.join(missing)}")
    if meta["library_name"] != "wzoo":
        raise NotAZooModelError(f"{path}: library_name is {meta['library_name']!r}, not 'wzoo'")
    return meta
