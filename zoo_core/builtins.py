"""The core's own registrations: the shared tasks, generic heads and transforms, the built-in
data generators and loaders, `scratch` and the baselines, and the `data` and `bench` commands.
Registered as plugin `core`."""

from .hookspecs import hookimpl

#: task name -> (class in zoo_core.tasks, description); imported only when a task is used
TASKS = {
    "channel-estimation": ("ChannelEstimation", "Recover the channel from pilot observations (NMSE per SNR)"),
    "csi-feedback": ("CSIFeedback", "Compress and reconstruct CSI (NMSE, cosine similarity)"),
    "positioning": ("Positioning", "UE position in metres (mean, median, 90th-percentile error)"),
    "los": ("LOS", "Line-of-sight vs non-line-of-sight (accuracy, mean per-class accuracy, F1)"),
    "beam": ("Beam", "Best beam of a DFT codebook (top-1, top-3)"),
    "activity": ("Activity", "Human activity recognition from CSI (mean per-class accuracy)"),
    "rf-classification": ("RFClassification", "Signal / modulation / interference class (mean per-class accuracy)"),
    "retrieval": ("Retrieval", "Find the paired sample of the other modality (recall@k, median rank)"),
}


@hookimpl
def register_tasks(register):
    for name, (cls, description) in TASKS.items():
        register(name, f"zoo_core.tasks:{cls}", description=description)


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
    gen = dict(kind="generator")
    register("geometric", "zoo_core.data.generators.geometric:generate",
             description="Sparse geometric multipath, ULA x OFDM (LVM4CSI eqs. 3-6)", **gen)
    register("ofdm-pilots", "zoo_core.data.generators.ofdm:generate",
             description="MIMO-OFDM pilot grid for channel estimation (WavesFM)", **gen)
    register("city", "zoo_core.data.generators.city:generate",
             description="City scenes: buildings, BS/UE, LOS, image-method paths, CSI, CIR, beams, maps", **gen)
    register("sionna-rt", "zoo_core.data.generators.sionna_rt:generate",
             description="Sionna RT 2.2 ray tracing of Sionna's shipped scenes (etoile, munich, ...): CFR, taps, "
                         "LOS, DFT beams, paths, top-view map (needs wzoo[sionna-rt])", **gen)
    load = dict(kind="loader")
    register("deepmimo", "zoo_core.data.loaders.deepmimo:load_deepmimo",
             description="DeepMIMO v3 scenario folder (params.mat + BS*_UE_*.mat) or saved `channel` arrays", **load)
    register("deepmimo-v4", "zoo_core.data.loaders.deepmimo_v4:load_deepmimo_v4",
             description="DeepMIMO v4 scenario folder (params.json + one .npz per quantity) into OFDM channels, "
                         "as deepmimo 4's compute_channels", **load)
    register("arrays", "zoo_core.data.loaders.arrays:load_arrays",
             description=".npz / .h5 / .mat file of named arrays with a field map (map=csi=channel,los=LoS,...)",
             **load)
    register("ut-har", "zoo_core.data.loaders.ut_har:load_ut_har",
             description="UT-HAR (SenseFi layout): X_<split>/y_<split> NumPy files, (N, 1, 250, 90), 7 classes",
             **load)
    register("ntu-fi", "zoo_core.data.loaders.ntu_fi:load_ntu_fi",
             description="NTU-Fi HAR: <split>_amp/<class>/*.mat with CSIamp (342, 2000), 6 classes", **load)
    register("nr-positioning", "zoo_core.data.loaders.nr_positioning:load_nr_positioning",
             description="5G NR positioning .mat v7.3: features (N, C, H, W), labels/position (N, 3)", **load)
    register("wair-d", "zoo_core.data.loaders.wair_d:load_wair_d",
             description="WAIR-D environments: Info.npy, paths (Path.npz), map image", **load)


@hookimpl
def register_strategies(register):
    b = "zoo_core.bench.baselines"
    register("scratch", "zoo_core.bench.strategy:Scratch",
             description="The same network trained from random weights on the task (every paper's supervised "
                         "baseline)")
    register("majority", f"{b}:Majority", description="Always the most frequent training class")
    register("power-logistic", f"{b}:PowerLogistic",
             description="Logistic regression on the mean received power (dB): LOS as a power threshold")
    register("mean-position", f"{b}:MeanPosition", description="Always the mean training position")
    register("knn-fingerprint", f"{b}:KNNFingerprint",
             description="k-nearest-neighbour fingerprinting on the angle-delay magnitude (k = 5, "
                         "distance-weighted)")
    register("exhaustive-beam", f"{b}:ExhaustiveBeam",
             description="Codebook search on the true channel: the beam upper bound")
    register("ls", f"{b}:LeastSquares", description="Least squares at the pilots, interpolated")
    register("lmmse", f"{b}:GenieLMMSE", description="LMMSE with the true channel covariance and noise variance")


@hookimpl
def register_commands(register):
    register("data", "zoo_core.data.cli:configure", help="make and preview wireless data sets")
    register("bench", "zoo_core.bench.cli:configure",
             help="compare every installed method and the baselines on one task, data set and split")
