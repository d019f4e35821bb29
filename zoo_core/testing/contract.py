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


def sample_batch(config, batch_size: int = 3, seed: int = 0) -> dict:
    """A seeded random batch with every field the model's towers declare (sizes left open,
    `null`, become 4)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    batch = {}
    for encoder in config.encoders:
        if not encoder.fields:
            raise AssertionError(f"tower {encoder.name!r} declares no fields={{name: {{'shape': [...], 'dtype': ...}}}}")
        for name, spec in encoder.fields.items():
            if spec.dtype not in _DTYPES:
                raise AssertionError(f"field {name!r} dtype {spec.dtype!r} is not one of {sorted(_DTYPES)}")
            shape = (batch_size, *(4 if s is None else s for s in spec.shape))
            batch[name] = torch.randn(*shape, generator=gen, dtype=getattr(torch, _DTYPES[spec.dtype]))
    return batch


def sample_input(spec: dict, seed: int = 0):
    """A seeded random tensor from a `{shape, dtype}` declaration (shape with the batch axis)."""
    import torch

    if not spec or "shape" not in spec:
        raise AssertionError("no {'shape': [...], 'dtype': ...} declaration")
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*spec["shape"], generator=gen, dtype=getattr(torch, _DTYPES[spec.get("dtype", "float32")]))


def _head_fields(model, batch: dict) -> dict:
    """Random values for fields heads read that no tower gives and none can be derived from."""
    import torch

    from ..fields import DERIVED

    extra = {}
    for head in model.heads.values():
        for name in head.fields:
            if name not in batch and not (name in DERIVED and DERIVED[name][0] in batch):
                extra[name] = torch.randn(next(iter(batch.values())).shape[0], generator=torch.Generator().manual_seed(1))
    return extra


def _build_prototypes(model) -> None:
    """Zero-shot heads need class embeddings before they answer: build them from random
    class samples of the head's own tower, so their buffer's round trip is checked too."""
    from ..heads import PrototypeHead, build_prototypes

    for task, head in model.heads.items():
        if isinstance(head, PrototypeHead) and not bool(head.built):
            tower = model.config.head(task).towers[0]
            classes = sample_batch(model.config, batch_size=head.prototypes.shape[0], seed=2)
            build_prototypes(model, tower, classes, task)


def _outputs(model, batch) -> dict:
    import torch

    with torch.no_grad():
        out = {}
        for tower in model.towers:
            out[f"encode:{tower}"] = model.encode(batch, tower)
        out["features"] = model.forward_features(batch)
        for task in model.tasks:
            out[task] = model(batch, task=task)
        return out


def check_model(name: str, tmp_path: str | Path | None = None, **overrides) -> ContractReport:
    """Build; encode every tower from its declared fields; run every head; save, reload
    bit-identically (weights, outputs, head order, default task); render a parseable card."""
    import torch

    from ..card import validate_card
    from ..factory import create_model
    from ..plugins import registry
    from ..serialization import load_model_folder, read_config

    torch.manual_seed(0)
    model = create_model(name, **overrides).eval()
    batch = sample_batch(model.config)
    _build_prototypes(model)
    batch.update(_head_fields(model, batch))
    report = ContractReport(name, model.tasks, num_parameters=sum(p.numel() for p in model.parameters()))
    outputs = _outputs(model, batch)
    n = next(iter(batch.values())).shape[0]
    for tower in model.towers:
        got, width = outputs[f"encode:{tower}"].shape, model.encoder(tower).embed_dim
        assert tuple(got) == (n, width), f"{name}: encode(batch, {tower!r}) gave {tuple(got)}, expected ({n}, {width})"
    feats = outputs["features"]
    assert feats.shape == (n, model.num_features), (
        f"{name}: forward_features gave {tuple(feats.shape)}, expected (batch, num_features={model.num_features})")
    if len(model.towers) == 1 and len(batch) == 1:  # a one-tower model takes a bare tensor too
        with torch.no_grad():
            bare = model.forward_features(next(iter(batch.values())))
        assert torch.equal(bare, feats), f"{name}: a bare tensor and a one-field batch give different features"
    for key, out in outputs.items():
        assert torch.isfinite(out.float()).all(), f"{name}: {key} output has NaN/inf"
        report.output_shapes[key] = tuple(out.shape)

    with tempfile.TemporaryDirectory() if tmp_path is None else contextlib.nullcontext(tmp_path) as folder:
        folder = Path(folder) / name.replace("/", "--")
        model.save_pretrained(folder, overwrite=True)
        for kind, component in _components(read_config(folder)):
            assert (kind, component) in registry(), f"{name}: config.json names unregistered {kind} {component!r}"
        loaded = load_model_folder(folder)
        assert loaded.tasks == model.tasks and loaded.towers == model.towers, f"{name}: task or tower order changed"
        assert loaded.active_task == model.active_task, f"{name}: the default task changed after reload"
        a, b = model.state_dict(), loaded.state_dict()
        assert a.keys() == b.keys(), f"{name}: reloaded keys differ: {sorted(a.keys() ^ b.keys())}"
        for key in a:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), f"{name}: {key} differs after reload"
        after = _outputs(loaded, batch)
        for key, before in outputs.items():
            assert torch.equal(before, after[key]), f"{name}: output of {key} differs after reload"
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
    check_arguments_are_annotated(plugin)
    return [check_model(n, tmp_path) for n in names]


def check_arguments_are_annotated(plugin: str) -> None:
    """Every argument a config can set on the plugin's backbones, transforms and heads has a
    type annotation: that is what a config from the Hub is validated against before anything
    is built (an unannotated argument would take any JSON value)."""
    import inspect

    from ..plugins import registry

    for kind in ("backbone", "transform", "head"):
        for component in registry().items(kind):
            if component.plugin != plugin:
                continue
            factory = component.load()
            target = factory.__init__ if inspect.isclass(factory) else factory
            bare = [name for name, p in inspect.signature(target).parameters.items()
                    if name not in ("self", "task", "in_features") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                    and p.annotation is inspect.Parameter.empty]
            assert not bare, (f"{kind} {component.name!r} ({component.factory}) leaves {', '.join(bare)} "
                              "unannotated; annotate them (zoo_core.validation.Size, Literal[...], float, ...)")


def _components(config):
    """(kind, registered name) of every component a saved config names."""
    for e in config.encoders:
        yield "backbone", e.backbone.name
        if e.transform:
            yield "transform", e.transform.name
    for head in config.heads:
        yield "head", head.name


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
