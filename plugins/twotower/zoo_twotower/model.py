"""Building the two-tower model in one of the paper's three variants, and loading it back
with its MSNN shared again."""

from __future__ import annotations

from .errors import TwotowerError
from .plugin import MODEL_NAMES, SIZES, VARIANTS, heads, towers


def create(size: str = "tiny", variant: str = "crnn-msnn", device: str | None = None,
           csi_domain: str = "antenna-frequency", common_phase: bool = False):
    """A fresh two-tower model: `variant` two-tower (EPNN + CFENN), crnn (+ CRNN head for
    csi-feedback) or crnn-msnn (+ the towers' last blocks shared). `csi_domain`: the CSI
    tower's input and the CRNN's output layout, antenna-frequency (as the paper) or
    angle-delay (the same CSI through a unitary 2-D DFT; `transforms.CSIRealImag`);
    `common_phase`: each CSI turned so its strongest angle-delay coefficient is real."""
    import zoo_core
    from zoo_core.factory import build_model, model_config

    from .towers import tie_msnn

    if size not in SIZES:
        raise TwotowerError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    if variant not in VARIANTS:
        raise TwotowerError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    from .transforms import DOMAINS

    if csi_domain not in DOMAINS:
        raise TwotowerError(f"csi_domain must be one of {', '.join(DOMAINS)}, got {csi_domain!r}")
    t = towers(size, msnn=variant == "crnn-msnn", csi_domain=csi_domain, common_phase=common_phase)
    parts = {k: {"backbone_args": v["backbone_args"], "transform_config": v["transform_config"]} for k, v in t.items()}
    config = model_config(MODEL_NAMES[size], towers=parts,
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
