"""The contract kit: the same checks for every model every plugin registers."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_DTYPES = {"float32": "float32", "float64": "float64", "complex64": "complex64", "bfloat16": "bfloat16"}


@dataclass
class ContractReport:
    model: str
    tasks: list[str] = field(default_factory=list)
    output_shapes: dict[str, tuple] = field(default_factory=dict)
    num_parameters: int = 0
    card: dict[str, Any] = field(default_factory=dict)


def sample_input(spec: dict[str, Any], seed: int = 0):
    """A seeded random tensor from a model's declared `sample_input` {shape, dtype}."""
    import torch

    if not spec or "shape" not in spec:
        raise AssertionError("the model declares no sample_input={'shape': [...], 'dtype': ...}")
    dtype_name = spec.get("dtype", "float32")
    if dtype_name not in _DTYPES:
        raise AssertionError(f"sample_input dtype {dtype_name!r} is not one of {sorted(_DTYPES)}")
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*spec["shape"], generator=gen, dtype=getattr(torch, _DTYPES[dtype_name]))


def check_model(name: str, tmp_path: str | Path | None = None, **overrides) -> ContractReport:
    """Build, forward, save, reload bit-identically and render a parseable card."""
    import torch

    from ..card import validate_card
    from ..factory import create_model
    from ..plugins import registry
    from ..serialization import load_model_folder, read_config

    spec = registry().get("model", name)
    torch.manual_seed(0)
    model = create_model(name, **overrides).eval()
    x = sample_input(spec.sample_input)
    report = ContractReport(name, model.tasks, num_parameters=sum(p.numel() for p in model.parameters()))
    with torch.no_grad():
        outputs = {"features": model.forward_features(x)}
        for task in model.tasks:
            outputs[task] = model(x, task=task)
    feats = outputs["features"]
    assert feats.shape == (x.shape[0], model.num_features), (
        f"{name}: forward_features gave {tuple(feats.shape)}, expected (batch, num_features={model.num_features})")
    for key, out in outputs.items():
        assert torch.isfinite(out.float()).all(), f"{name}: {key} output has NaN/inf"
        report.output_shapes[key] = tuple(out.shape)

    with tempfile.TemporaryDirectory() if tmp_path is None else contextlib.nullcontext(tmp_path) as folder:
        folder = Path(folder) / name.replace("/", "--")
        model.save_pretrained(folder)
        for kind, component in _components(read_config(folder)):
            assert (kind, component) in registry(), f"{name}: config.json names unregistered {kind} {component!r}"
        loaded = load_model_folder(folder)
        a, b = model.state_dict(), loaded.state_dict()
        assert a.keys() == b.keys(), f"{name}: reloaded keys differ: {sorted(a.keys() ^ b.keys())}"
        for key in a:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), f"{name}: {key} differs after reload"
        with torch.no_grad():
            for task in [None, *model.tasks]:
                before = outputs["features"] if task is None else outputs[task]
                after = loaded.forward_features(x) if task is None else loaded(x, task=task)
                assert torch.equal(before, after), f"{name}: output of {task or 'features'} differs after reload"
        report.card = validate_card(folder / "README.md")
    return report


def check_plugin(plugin: str, tmp_path: str | Path | None = None) -> list[ContractReport]:
    """Check that the plugin's registration module imports no torch, then run `check_model`
    on every model it registers (there must be at least one)."""
    from ..plugins import registry, state

    info = state().plugins.get(plugin)
    assert info is not None, f"plugin {plugin!r} is not installed (entry point group 'wzoo')"
    assert info.status == "loaded", f"plugin {plugin!r} did not load: {info.error}"
    names = [s.name for s in registry().items("model") if s.plugin == plugin]
    assert names, f"plugin {plugin!r} registers no models"
    check_registration_is_torch_free(info.module.split(":")[0])
    return [check_model(n, tmp_path) for n in names]


def _components(config: dict):
    """(kind, registered name) of every component a saved config names."""
    yield "backbone", config["backbone"]["name"]
    if config.get("transform"):
        yield "transform", config["transform"]["name"]
    for head in (config.get("heads") or {}).values():
        yield "head", head["name"]


def check_registration_is_torch_free(module: str) -> None:
    """Import a plugin's registration module in a fresh process: no torch, timm or peft."""
    import json
    import subprocess
    import sys

    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            "print(json.dumps([m for m in ('torch', 'timm', 'peft') if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"importing {module} failed: {result.stderr.strip()[-500:]}"
    heavy = json.loads(result.stdout.strip().splitlines()[-1])
    assert not heavy, f"plugin module {module} imports {', '.join(heavy)} at import time; `wzoo list` must stay fast"
