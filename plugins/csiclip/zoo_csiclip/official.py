"""The authors' released weights: `GREAT-Wireless-AI/CSI-CLIP` on the Hugging Face Hub.

The release is not a wzoo folder: `model.safetensors` holds a ResNet-50 pair under
`cfr_backbone.*` (CSI, "channel frequency response"), `cir_backbone.*`, and the projections
`proj_cfr.*`, `proj_cir.*`; `manifest.json` gives each file's SHA-256; input [B, 2, 256, 256];
no logit scale is stored; licence cc-by-nc-4.0, so wzoo loads and maps it and never
re-uploads it.

`load_official(revision)` resolves the revision to one commit sha, downloads both files by
that sha through huggingface_hub (its cache, `HF_HUB_OFFLINE` and `local_files_only`),
checks every hash the manifest lists, maps the keys onto the `csi` and `cir` towers of
`csiclip/resnet50-official` with none missing or unexpected (shapes compared from the header
before anything is read), sets the logit scale to CLIP's log(1/0.07) and records the
provenance `official:GREAT-Wireless-AI/CSI-CLIP@<sha>` on both towers.

The layout of the backbones is timm's (= torchvision's) ResNet-50 without its classifier;
the projections are bias-free linear maps (E, 2048) whose E sets the embedding width.
BatchNorm's `num_batches_tracked` counters may be absent from the file (they do not affect
the outputs) and then keep the model's. Parity with the real file could not be checked here
(no Hub access): the tests use a checkpoint they build in this layout.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import ManifestHashError, OfficialKeyError, OfficialWeightsError
from .plugin import OFFICIAL_MODEL, OFFICIAL_REPO

WEIGHTS = "model.safetensors"
MANIFEST = "manifest.json"
#: the release's prefix → the wzoo model's
KEY_MAP = {
    "cfr_backbone.": "encoders.csi.backbone.net.",
    "cir_backbone.": "encoders.cir.backbone.net.",
    "proj_cfr.": "encoders.csi.projection.",
    "proj_cir.": "encoders.cir.projection.",
}
OPTIONAL_SUFFIX = ".num_batches_tracked"


def map_key(key: str) -> str | None:
    """The wzoo name of a release key, or None for a key outside the four known prefixes."""
    for old, new in KEY_MAP.items():
        if key.startswith(old):
            return new + key[len(old):]
    return None


def manifest_hashes(manifest) -> dict[str, str]:
    """{file: sha256} from manifest.json: {"files": {name: {"sha256": h}}}, {"files": [{"path":
    name, "sha256": h}]}, {name: h} or {name: {"sha256": h}} (lower-case hex)."""
    body = manifest.get("files", manifest) if isinstance(manifest, dict) else manifest
    out = {}
    if isinstance(body, list):
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("path", item.get("name")), str):
                out[item.get("path", item.get("name"))] = item.get("sha256")
    elif isinstance(body, dict):
        for name, value in body.items():
            out[name] = value.get("sha256") if isinstance(value, dict) else value
    hashes = {k: v.lower() for k, v in out.items() if isinstance(v, str) and len(v) == 64}
    if not hashes:
        raise OfficialWeightsError(f"{MANIFEST} lists no SHA-256 hashes (64 hex digits per file)")
    return hashes


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_manifest(folder_files: dict[str, Path], manifest: dict) -> None:
    """Every downloaded file must be listed in the manifest and hash to what it says."""
    hashes = manifest_hashes(manifest)
    for name, path in folder_files.items():
        if name == MANIFEST:
            continue
        if name not in hashes:
            raise ManifestHashError(f"{MANIFEST} lists no SHA-256 for {name}; refusing an unlisted file")
        got = sha256_of(path)
        if got != hashes[name]:
            raise ManifestHashError(f"{name} has SHA-256 {got[:16]}…, {MANIFEST} says {hashes[name][:16]}…: "
                                    "the download is corrupt or altered; delete it from the cache and retry")


def header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of a safetensors file, from its header only."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as exc:  # noqa: BLE001 - one typed line instead of the parser's message
        from zoo_core.errors import CorruptWeightsError

        raise CorruptWeightsError(f"{path.name} is not a readable safetensors file ({type(exc).__name__})") from None


def official_config(embed_dim: int):
    """The config of `csiclip/resnet50-official` with the release's embedding width."""
    from zoo_core.factory import model_config

    return model_config(OFFICIAL_MODEL, towers={t: {"embed_dim": int(embed_dim)} for t in ("csi", "cir")})


def map_state(shapes: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> dict[str, str]:
    """{release key: wzoo key}; OfficialKeyError naming every key and shape that does not map."""
    mapping, unexpected, bad_shapes = {}, [], []
    for key, shape in shapes.items():
        new = map_key(key)
        if new is None or new not in expected:
            unexpected.append(key)
            continue
        if tuple(expected[new]) != tuple(shape):
            bad_shapes.append((key, shape, expected[new]))
        mapping[key] = new
    mapped = set(mapping.values())
    missing = [k for k in expected if k not in mapped and not k.endswith(OPTIONAL_SUFFIX)]
    if missing or unexpected or bad_shapes:
        raise OfficialKeyError(missing, unexpected, bad_shapes)
    return mapping


def load_official_files(weights: Path, manifest_path: Path, source: str):
    """A ZooModel from a release's two files (already downloaded): hashes, keys, logit scale."""
    import torch
    from safetensors.torch import load_file

    from zoo_core.factory import build_model as build
    from zoo_core.heads import CLIP_LOGIT_SCALE

    try:
        manifest = json.loads(Path(manifest_path).read_text())
    except (OSError, ValueError) as exc:
        raise OfficialWeightsError(f"{MANIFEST} is not readable JSON ({type(exc).__name__})") from None
    check_manifest({WEIGHTS: Path(weights)}, manifest)
    shapes = header_shapes(Path(weights))
    proj = shapes.get("proj_cfr.weight")
    if proj is None or len(proj) != 2:
        raise OfficialKeyError(missing=["proj_cfr.weight"])
    cfg = official_config(proj[0])
    meta = build(cfg, device="meta")
    expected = {k: tuple(v.shape) for k, v in meta.state_dict().items() if k.startswith("encoders.")
                and ".transform." not in k}
    mapping = map_state(shapes, expected)
    model = build(cfg)
    state = load_file(str(weights))
    mapped = {mapping[k]: v for k, v in state.items()}
    current = model.state_dict()
    for k in expected:
        if k not in mapped:  # an absent num_batches_tracked keeps the model's counter
            mapped[k] = current[k]
    for k, v in mapped.items():
        if v.dtype != current[k].dtype:
            raise OfficialWeightsError(f"{k} is {v.dtype} in the release, the model keeps {current[k].dtype}; "
                                       "wzoo does not cast weights silently")
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    missing = [k for k in missing if k.startswith("encoders.") and ".transform." not in k]
    if missing or unexpected:
        raise OfficialKeyError(missing, unexpected)
    with torch.no_grad():
        model.heads["retrieval"].logit_scale.fill_(CLIP_LOGIT_SCALE)  # the release stores none
    for tower in ("csi", "cir"):
        model.set_weights_source(source, tower)
    return model.eval()


def load_official(revision: str, repo_id: str = OFFICIAL_REPO, local_files_only: bool = False):
    """The authors' CSI-CLIP at one pinned revision (branch, tag or commit; recorded as its sha)."""
    if not isinstance(revision, str) or not revision.strip():
        raise OfficialWeightsError(f"pin the release: load_official(revision=<commit sha or tag>) of {repo_id}; "
                                   "an unpinned download could change under you")
    from huggingface_hub import constants

    from zoo_core.hub import check_repo_id

    check_repo_id(repo_id)
    offline = local_files_only or constants.HF_HUB_OFFLINE
    try:
        sha = revision if offline else _commit_of(repo_id, revision)
        files = {name: Path(_download(repo_id, name, sha, offline)) for name in (MANIFEST, WEIGHTS)}
    except OfficialWeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - huggingface_hub's errors as one typed line
        raise _as_hub_error(exc, repo_id, revision) from None
    sha = files[WEIGHTS].parent.name if offline else sha  # snapshots/<sha>/model.safetensors
    return load_official_files(files[WEIGHTS], files[MANIFEST], f"official:{repo_id}@{sha}")


def _commit_of(repo_id: str, revision: str) -> str:
    from huggingface_hub import HfApi

    return HfApi().model_info(repo_id, revision=revision).sha


def _download(repo_id: str, filename: str, sha: str, offline: bool) -> str:
    from huggingface_hub import hf_hub_download

    return hf_hub_download(repo_id, filename, revision=sha, local_files_only=offline)


def _as_hub_error(exc: Exception, repo_id: str, revision: str):
    from huggingface_hub import errors as hf

    from zoo_core.errors import HubUnreachableError, RepoNotFoundError, RevisionNotFoundError, one_line

    if isinstance(exc, hf.RepositoryNotFoundError):
        return RepoNotFoundError(f"Hub repo {repo_id!r} not found (or private: log in with `hf auth login`)")
    if isinstance(exc, hf.RevisionNotFoundError):
        return RevisionNotFoundError(f"revision {revision!r} not found in Hub repo {repo_id!r}")
    if isinstance(exc, hf.LocalEntryNotFoundError):  # a subclass of EntryNotFoundError: first
        return HubUnreachableError(f"{repo_id}@{revision} is not in the local cache and the Hub is unreachable "
                                   "(or offline mode is on); connect once to download it")
    if isinstance(exc, hf.EntryNotFoundError):
        return OfficialWeightsError(f"{repo_id}@{revision} has no {MANIFEST} or {WEIGHTS}: not the CSI-CLIP release "
                                    "layout")
    return OfficialWeightsError(f"downloading {repo_id}@{revision} failed: {one_line(exc)}")
