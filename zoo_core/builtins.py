"""The core's own registrations: the shared task vocabulary, generic heads and transforms,
the built-in data generators and the `data` CLI command. Registered as plugin `core`."""

from .hookspecs import hookimpl

TASKS = {
    "channel-estimation": dict(
        description="Recover the channel from pilot observations",
        target="complex channel H", loss="mse", metrics=("nmse_db",), plot="nmse-vs-snr",
    ),
    "positioning": dict(
        description="Estimate the UE position in metres",
        target="xyz position (m)", loss="mse", metrics=("mean_error_m", "median_error_m", "cdf90_error_m"),
        plot="error-cdf",
    ),
    "los": dict(
        description="Line-of-sight vs non-line-of-sight classification",
        target="LOS flag", loss="cross-entropy", metrics=("accuracy",), plot="confusion-matrix",
    ),
    "beam": dict(
        description="Best beam of a DFT codebook",
        target="beam index", loss="cross-entropy", metrics=("top1_accuracy", "top3_accuracy"),
        plot="confusion-matrix",
    ),
    "activity": dict(
        description="Human activity recognition from CSI",
        target="activity class", loss="cross-entropy", metrics=("mean_class_accuracy",),
        plot="confusion-matrix",
    ),
    "rf-classification": dict(
        description="Signal / modulation / interference classification from spectrograms or IQ",
        target="signal class", loss="cross-entropy", metrics=("mean_class_accuracy",),
        plot="confusion-matrix",
    ),
    "csi-feedback": dict(
        description="Compress and reconstruct CSI",
        target="complex CSI", loss="mse", metrics=("nmse_db",), plot="nmse-vs-snr",
    ),
}


@hookimpl
def register_tasks(register):
    for name, spec in TASKS.items():
        register(name, **spec)


@hookimpl
def register_heads(register):
    register("linear", "zoo_core.heads:LinearHead", description="One dense layer on pooled features")
    register("mlp", "zoo_core.heads:MLPHead", description="Dense layers with ReLU on pooled features")
    register("contrastive", "zoo_core.heads:ContrastiveHead",
             description="Two towers -> similarity logits, learnable logit scale (CLIP), optional sigmoid bias")
    register("prototype", "zoo_core.heads:PrototypeHead",
             description="Zero-shot: similarity to class embeddings built from another tower")


@hookimpl
def register_transforms(register):
    register("identity", "zoo_core.transforms:Identity", description="Passes input through")
    register(
        "standardize", "zoo_core.transforms:Standardize",
        description="Per-channel (x - mean) / std with dataset statistics kept in the config",
    )


@hookimpl
def register_datasets(register):
    register(
        "geometric", "zoo_core.data.generators.geometric:generate",
        description="Sparse geometric multipath, ULA x OFDM (LVM4CSI eqs. 3-6)",
    )
    register(
        "ofdm-pilots", "zoo_core.data.generators.ofdm:generate",
        description="MIMO-OFDM pilot grid for channel estimation (WavesFM)",
    )
    register(
        "city", "zoo_core.data.generators.city:generate",
        description="City scenes: buildings, BS/UE, LOS, image-method paths, CSI, CIR, beams, maps",
    )


@hookimpl
def register_commands(register):
    register("data", "zoo_core.data.cli:configure", help="make and preview wireless data sets")
