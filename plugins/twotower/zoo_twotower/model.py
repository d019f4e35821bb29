"""Building the two-tower model in one of the paper's three variants, and loading it back
with its MSNN shared again."""

from __future__ import annotations

from .errors import TwotowerError
from .plugin import MODEL_NAMES, SIZES, VARIANTS, heads, towers


def create(size: str = "tiny", variant: str = "crnn-msnn", device: str | None = None):
    """A fresh two-tower model: `variant` two-tower (EPNN + CFENN), crnn (+ CRNN head for
    csi-feedback) or crnn-msnn (+ the towers' last blocks shared)."""
    import zoo_core
    from zoo_core.factory import build_model, model_config

    from .towers import tie_msnn

    if size not in SIZES:
        raise TwotowerError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    if variant not in VARIANTS:
        raise TwotowerError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    t = towers(size, msnn=variant == "crnn-msnn")
    config = model_config(MODEL_NAMES[size], towers={k: {"backbone_args": v["backbone_args"]} for k, v in t.items()},
                          heads=heads(size, crnn=variant != "two-tower"), default_task="retrieval")
    model = build_model(config, device=device) if device else zoo_core.factory.build_model(config)
    tie_msnn(model)
    return model


def load(ref):
    """`from_pretrained(ref)` with the MSNN shared again (the saved copies are equal)."""
    import zoo_core

    from .towers import tie_msnn

    model = zoo_core.from_pretrained(ref)
    if set(model.encoders) >= {"csi", "env"}:
        tie_msnn(model)
    return model


def variant_of(model) -> str:
    if model.encoders["csi"].backbone.msnn_tied and model.encoders["env"].backbone.msnn_tied:
        return "crnn-msnn"
    return "crnn" if "csi-feedback" in model.heads else "two-tower"
