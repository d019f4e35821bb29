"""Loading from and publishing to the Hugging Face Hub, through huggingface_hub only.

A revision is resolved to one commit sha and every file is fetched by that sha and checked
against its hash before the revision's ref points at it; a failed download moves no ref
and deletes nothing from the shared cache. A failed push leaves the remote as it was (a repo
this push created is deleted again).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import (
    CorruptDownloadError,
    CorruptWeightsError,
    HubAuthError,
    HubError,
    HubUnreachableError,
    NotAZooModelError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UnsafeWeightsError,
    WzooError,
    one_line,
)
from .serialization import (
    ADAPTERS_DIR,
    ALLOWED_PATTERNS,
    CARD_NAME,
    CONFIG_NAME,
    PICKLE_SUFFIXES,
    check_model_folder,
    load_model_folder,
    read_config,
    check_tensors,
    save_model_folder,
    WEIGHTS_NAME,
)

HUB_PREFIX = "hf-hub:"


def parse_ref(ref: str, revision: str | None = None) -> tuple[str, str | None]:
    """'hf-hub:org/name@rev' → ('org/name', 'rev'); `revision` may not contradict the ref."""
    body = ref.removeprefix(HUB_PREFIX)
    repo_id, _, ref_rev = body.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise WzooError(f"{ref!r}: a Hub reference is 'hf-hub:org/name[@revision]'")
    check_repo_id(repo_id)
    if ref_rev and revision and ref_rev != revision:
        raise WzooError(f"{ref!r} pins revision {ref_rev!r} but revision={revision!r} was passed")
    return repo_id, ref_rev or revision


def check_repo_id(repo_id: str) -> str:
    """huggingface_hub's own repo-id rules, as one typed line instead of its long message."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise WzooError(f"{repo_id!r} is not a Hub repo id: use 'org/name' with letters, digits, '-', '_' "
                        "and '.' (no '--' or '..', at most 96 characters)") from None
    return repo_id


def resolve(ref: str | os.PathLike, revision: str | None = None, local_files_only: bool = False,
            force_download: bool = False) -> Path:
    """Turn a reference (folder, hf-hub:..., registered name) into a local model folder."""
    ref = os.fspath(ref) if isinstance(ref, os.PathLike) else ref
    if not isinstance(ref, str):
        raise NotAZooModelError(f"a model reference is a folder path, 'hf-hub:org/name' or a registered name, "
                                f"not {type(ref).__name__}")
    path = Path(ref).expanduser()
    if not ref.startswith(HUB_PREFIX) and path.exists():
        if path.is_file():
            if path.suffix in PICKLE_SUFFIXES:
                raise UnsafeWeightsError(f"{ref}: wzoo never unpickles; give a folder with {WEIGHTS_NAME}")
            raise NotAZooModelError(f"{ref} is a file; give the model folder that holds it")
        return path
    if ref.startswith(HUB_PREFIX):
        repo_id, rev = parse_ref(ref, revision)
        return download(repo_id, rev, local_files_only=local_files_only, force_download=force_download)
    from .plugins import lookup

    looks_like_name = ref.count("/") == 1 and not ref.startswith((".", "~", os.sep))
    if not looks_like_name or ref.endswith(PICKLE_SUFFIXES):
        raise NotAZooModelError(f"{ref}: no such model folder")
    spec = lookup("model", ref)
    if not spec.hub_repo:
        raise WzooError(
            f"model {ref!r} has no pretrained weights on the Hub; "
            f"zoo_core.create_model({ref!r}) builds it with random weights"
        )
    repo_id, rev = parse_ref(spec.hub_repo, revision)
    return download(repo_id, rev, local_files_only=local_files_only, force_download=force_download)


def download(repo_id: str, revision: str | None = None, local_files_only: bool = False,
             force_download: bool = False) -> Path:
    """Snapshot of a model repo at one commit, from the Hub or (offline) the cache.

    Online, the revision is first resolved to a commit sha and the files are fetched by that
    sha, so no ref in the shared cache moves before every file is complete and checked (each
    new blob must hash to its name); only then does `refs/<revision>` point at the commit. A
    failed download deletes nothing: what huggingface_hub left half-done it finishes or
    replaces itself, under its own file locks, and the cached revisions still load."""
    from huggingface_hub import constants
    from huggingface_hub import errors as hf_errors

    offline = local_files_only or constants.HF_HUB_OFFLINE
    try:
        if offline:
            folder = _snapshot(repo_id, revision, offline=True)
        else:
            try:
                sha = _commit_of(repo_id, revision)
            except Exception as exc:
                error = _hub_error(exc, f"cannot reach the Hub for {repo_id!r}")
                if not isinstance(error, HubUnreachableError):
                    raise
                folder = _snapshot(repo_id, revision, offline=True)  # the Hub is down: the cache may do
            else:
                known = set() if force_download else _cached_blobs(repo_id)
                folder = _snapshot(repo_id, sha, force_download=force_download)
                _verify_new_blobs(repo_id, sha, Path(folder), known)
                if (revision or "main") != sha:
                    _record_ref(repo_id, revision or "main", sha)
    except hf_errors.RepositoryNotFoundError:
        raise RepoNotFoundError(
            f"Hub repo {repo_id!r} not found (or private: log in with `hf auth login`)"
        ) from None
    except hf_errors.RevisionNotFoundError:
        raise RevisionNotFoundError(f"revision {revision!r} not found in Hub repo {repo_id!r}") from None
    except hf_errors.LocalEntryNotFoundError:
        where = "offline mode is on" if offline else f"the Hub ({constants.ENDPOINT}) is unreachable"
        raise HubUnreachableError(
            f"{repo_id}@{revision or 'main'} is not in the local cache and {where}; "
            "connect to the Hub once (or unset HF_HUB_OFFLINE / local_files_only) to download it"
        ) from None
    except WzooError:
        raise
    except Exception as exc:
        error = _hub_error(exc, f"downloading {repo_id!r} failed; no ref moved and the cached revisions "
                                "still load")
        if error is None:
            raise
        raise error from None
    folder = Path(folder)
    if not (folder / CONFIG_NAME).exists():
        raise NotAZooModelError(f"Hub repo {repo_id!r} at {revision or 'main'} is not a wzoo model (no {CONFIG_NAME})")
    return folder


def _snapshot(repo_id: str, revision: str | None, offline: bool = False, force_download: bool = False) -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id, revision=revision, allow_patterns=ALLOWED_PATTERNS,
                             local_files_only=offline, force_download=force_download and not offline)


def _commit_of(repo_id: str, revision: str | None) -> str:
    """The commit sha a revision (branch, tag or sha) names now."""
    from huggingface_hub import HfApi

    return HfApi().model_info(repo_id, revision=revision).sha


def _storage(repo_id: str) -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))


def _cached_blobs(repo_id: str) -> set[str]:
    blobs = _storage(repo_id) / "blobs"
    return {p.name for p in blobs.iterdir()} if blobs.is_dir() else set()


def _record_ref(repo_id: str, revision: str, sha: str) -> None:
    """Point `refs/<revision>` at a commit whose files are all in the cache (as
    huggingface_hub itself would, had it downloaded by the revision's name)."""
    from huggingface_hub.file_download import _cache_commit_hash_for_specific_revision

    _cache_commit_hash_for_specific_revision(str(_storage(repo_id)), revision, sha)


def _verify_new_blobs(repo_id: str, sha: str, folder: Path, known: set[str]) -> None:
    """A blob's name is its hash (sha256 for LFS files, the git blob sha1 otherwise): check
    every blob this download added, and remove one that does not match rather than serve it."""
    for link in sorted(folder.rglob("*")):
        blob = link.resolve()
        if not blob.is_file() or blob.name in known:
            continue
        if len(blob.name) == 64:
            digest = hashlib.sha256()
        elif len(blob.name) == 40:  # git's blob id: sha1 of a header and the content
            digest = hashlib.sha1(b"blob %d\0" % blob.stat().st_size)
        else:
            continue
        with open(blob, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        actual = digest.hexdigest()
        if actual != blob.name:
            blob.unlink(missing_ok=True)
            link.unlink(missing_ok=True)
            raise CorruptDownloadError(
                f"{link.relative_to(folder)} of {repo_id}@{sha[:12]} arrived corrupted (its hash is {actual[:12]}…, "
                f"the Hub named it {blob.name[:12]}…); it was removed from the cache: try again")


def _hub_error(exc: BaseException, doing: str) -> HubError | None:
    """The typed error for a failed Hub call, or None if it is not the Hub's doing (a full
    disk, a bug): transport failures, 5xx and 429 are 'unreachable', 401/403 'auth'."""
    from huggingface_hub import errors as hf_errors

    transports = {"httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3"}
    doing = doing.splitlines()[0]
    while exc is not None:  # huggingface_hub wraps upload errors in RuntimeError
        if isinstance(exc, hf_errors.HfHubHTTPError):
            status = getattr(exc.response, "status_code", None)
            if status in (401, 403):
                return HubAuthError(f"{doing}: the Hub refused the request ({status}); log in with "
                                    "`hf auth login` or set HF_TOKEN to a token with access")
            if status is None or status == 429 or status >= 500:
                return HubUnreachableError(f"{doing}: the Hub failed ({status or 'no answer'}): {one_line(exc)}")
            return HubError(f"{doing}: {one_line(exc)}")
        if isinstance(exc, (ConnectionError, TimeoutError)) or any(
                cls.__module__.split(".")[0] in transports for cls in type(exc).__mro__):
            return HubUnreachableError(f"{doing}: cannot reach the Hub ({type(exc).__name__}: {one_line(exc)})")
        exc = exc.__cause__
    return None


def from_pretrained(ref: str | os.PathLike, revision: str | None = None, local_files_only: bool = False):
    """Load a model from a local folder (str or Path), `hf-hub:org/name[@rev]`, or a registered name."""
    ref = os.fspath(ref) if isinstance(ref, os.PathLike) else ref
    folder = resolve(ref, revision, local_files_only)
    try:
        return load_model_folder(folder)
    except CorruptWeightsError:
        is_cached = ref.startswith(HUB_PREFIX) or not Path(ref).expanduser().exists()
        if not is_cached or local_files_only:
            raise
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            raise
        # a damaged blob in the cache: fetch it again once, then trust nothing
        return load_model_folder(resolve(ref, revision, local_files_only, force_download=True))


def commit_of(folder: Path) -> str | None:
    """The commit sha of a cached snapshot folder (snapshots/<sha>), else None."""
    return folder.name if folder.parent.name == "snapshots" and len(folder.name) == 40 else None


# --------------------------------------------------------------------- pushing
def model_files(folder: Path) -> list[str]:
    """The files of a model folder that are published (config, weights, card, adapters)."""
    import fnmatch

    found = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted(f for f in found if any(fnmatch.fnmatchcase(f, pat) for pat in ALLOWED_PATTERNS))


#: Licence ids whose weights wzoo never publishes again (non-commercial Creative Commons:
#: users get them from the authors, under the authors' terms).
NON_REDISTRIBUTED_LICENSE_PREFIX = "cc-by-nc"


def check_redistributable(config, folder: Path, card_license: str | None = None) -> None:
    """Refuse, before any network call, a model holding authors' released weights
    (`official:` provenance) or weights under a non-commercial licence (in its config or in
    the card that would be published with it)."""
    from .errors import RedistributionError

    name = config.model_name or folder.name
    official = [f"{e.name} ({e.weights})" for e in config.encoders if e.weights.startswith("official:")]
    licenses = [str(x).lower() for x in (config.card.get("license"), card_license) if x]
    if official:
        raise RedistributionError(f"model {name!r} holds weights released by their authors (towers: "
                                  f"{', '.join(official)}); wzoo does not publish them again: link their source "
                                  "in your card instead")
    for license_ in licenses:
        if license_.startswith(NON_REDISTRIBUTED_LICENSE_PREFIX):
            raise RedistributionError(f"model {name!r} is licensed {license_}; wzoo does not publish "
                                      "non-commercial weights again: link their source in your card instead")


def push_folder(folder: str | Path, repo_id: str, revision: str | None = None,
                commit_message: str | None = None, private: bool | None = None,
                token: str | None = None, create_pr: bool = False) -> str:
    """Upload a saved wzoo model folder as one commit; returns the commit sha.

    Adapters the repo has but the folder does not are deleted in the same commit, so the
    commit is exactly this model."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    from .card import validate_card

    folder = Path(folder)
    check_repo_id(repo_id)
    check_model_folder(folder)
    config = read_config(folder)
    card = validate_card(folder / CARD_NAME) if (folder / CARD_NAME).exists() else {}
    check_redistributable(config, folder, card.get("license"))
    check_tensors(folder / WEIGHTS_NAME)
    files = model_files(folder)
    api = HfApi(token=token)
    try:
        existed = api.repo_exists(repo_id)
        api.create_repo(repo_id, private=private, exist_ok=True)
        remote = api.list_repo_files(repo_id, revision=revision) if existed else []
    except Exception as exc:
        error = _hub_error(exc, f"cannot push to {repo_id!r}")
        if error is None:
            raise
        raise error from None
    operations = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(folder / f)) for f in files]
    operations += [CommitOperationDelete(path_in_repo=f) for f in remote
                   if f.startswith(ADAPTERS_DIR + "/") and f not in files]
    head_before = _head(api, repo_id, revision) if existed else None
    try:
        info = api.create_commit(
            repo_id, operations, revision=revision, create_pr=create_pr,
            commit_message=commit_message or f"Upload {config.model_name or 'model'} with wzoo",
        )
    except BaseException as exc:
        landed = None if create_pr else _landed(api, repo_id, revision, head_before, folder, files)
        if landed is not None:  # the answer was lost, the commit was not
            return landed
        if not existed:
            with contextlib.suppress(Exception):
                api.delete_repo(repo_id)
        error = _hub_error(exc, f"pushing to {repo_id!r} failed, nothing was committed")
        if error is None:
            raise
        raise error from None
    return info.oid


def _head(api, repo_id: str, revision: str | None) -> str | None:
    try:
        return api.repo_info(repo_id, revision=revision).sha
    except Exception:  # noqa: BLE001 - asked only to tell a lost answer from a failed commit
        return None


def _landed(api, repo_id: str, revision: str | None, head_before: str | None, folder: Path,
            files: list[str]) -> str | None:
    """After a failed commit call: the new head's sha if the head moved to a commit holding
    exactly these files (the push landed and only its answer was lost), else None."""
    head = _head(api, repo_id, revision)
    if head is None or head == head_before:
        return None
    try:
        remote = {e.path: e for e in api.list_repo_tree(repo_id, revision=head, recursive=True)
                  if getattr(e, "blob_id", None)}
    except Exception:  # noqa: BLE001
        return None
    for name in files:
        entry, data = remote.get(name), (folder / name).read_bytes()
        if entry is None:
            return None
        lfs = getattr(entry, "lfs", None)
        ours = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        theirs = (lfs.sha256 if hasattr(lfs, "sha256") else lfs["sha256"]) if lfs else entry.blob_id
        if ours != theirs:
            return None
    return head


def push_model(model, repo_id: str, metrics: dict | None = None, **kwargs) -> str:
    """Save to a temporary folder and push it as one commit; returns the commit sha."""
    with tempfile.TemporaryDirectory(prefix="wzoo-push-") as tmp:
        save_model_folder(model, Path(tmp), metrics=metrics, repo_id=repo_id)
        return push_folder(tmp, repo_id, **kwargs)
