"""Loading from and publishing to the Hugging Face Hub, through huggingface_hub only.

A revision is resolved to one commit sha and every file comes from that commit
(`snapshot_download` does exactly that). A failed download leaves the cache as it was;
a failed push leaves the remote as it was (a repo this push created is deleted again).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import (
    CorruptWeightsError,
    HubAuthError,
    HubError,
    HubUnreachableError,
    NotAZooModelError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UnsafeWeightsError,
    WzooError,
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
    if ref_rev and revision and ref_rev != revision:
        raise WzooError(f"{ref!r} pins revision {ref_rev!r} but revision={revision!r} was passed")
    return repo_id, ref_rev or revision


def resolve(ref: str, revision: str | None = None, local_files_only: bool = False,
            force_download: bool = False) -> Path:
    """Turn a reference (folder, hf-hub:..., registered name) into a local model folder."""
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
    from .plugins import registry

    looks_like_name = ref.count("/") == 1 and not ref.startswith((".", "~", os.sep))
    if not looks_like_name or ref.endswith(PICKLE_SUFFIXES):
        raise NotAZooModelError(f"{ref}: no such model folder")
    spec = registry().get("model", ref)
    if not spec.hub_repo:
        raise WzooError(
            f"model {ref!r} has no pretrained weights on the Hub; "
            f"zoo_core.create_model({ref!r}) builds it with random weights"
        )
    repo_id, rev = parse_ref(spec.hub_repo, revision)
    return download(repo_id, rev, local_files_only=local_files_only, force_download=force_download)


def download(repo_id: str, revision: str | None = None, local_files_only: bool = False,
             force_download: bool = False) -> Path:
    """Snapshot of a model repo at one commit, from the Hub or (offline) the cache."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub import errors as hf_errors

    offline = local_files_only or constants.HF_HUB_OFFLINE
    try:
        with _cache_rollback(repo_id):
            folder = snapshot_download(
                repo_id, revision=revision, allow_patterns=ALLOWED_PATTERNS,
                local_files_only=offline, force_download=force_download and not offline,
            )
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
    except Exception as exc:
        error = _hub_error(exc, f"downloading {repo_id!r} failed, the cache is as it was")
        if error is None:
            raise
        raise error from None
    folder = Path(folder)
    if not (folder / CONFIG_NAME).exists():
        raise NotAZooModelError(f"Hub repo {repo_id!r} at {revision or 'main'} is not a wzoo model (no {CONFIG_NAME})")
    return folder


def _hub_error(exc: BaseException, doing: str) -> HubError | None:
    """The typed error for a failed Hub call, or None if it is not the Hub's doing (a full
    disk, a bug): transport failures, 5xx and 429 are 'unreachable', 401/403 'auth'."""
    from huggingface_hub import errors as hf_errors

    transports = {"httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3"}
    while exc is not None:  # huggingface_hub wraps upload errors in RuntimeError
        if isinstance(exc, hf_errors.HfHubHTTPError):
            status = getattr(exc.response, "status_code", None)
            if status in (401, 403):
                return HubAuthError(f"{doing}: the Hub refused the request ({status}); log in with "
                                    "`hf auth login` or set HF_TOKEN to a token with access")
            if status is None or status == 429 or status >= 500:
                return HubUnreachableError(f"{doing}: the Hub failed ({status or 'no answer'}): {exc}")
            return HubError(f"{doing}: {exc}")
        if isinstance(exc, (ConnectionError, TimeoutError)) or any(
                cls.__module__.split(".")[0] in transports for cls in type(exc).__mro__):
            return HubUnreachableError(f"{doing}: cannot reach the Hub ({type(exc).__name__}: {exc})")
        exc = exc.__cause__
    return None


@contextlib.contextmanager
def _cache_rollback(repo_id: str):
    """Remove whatever a failed download added to the cache (this repo's files, its lock
    files, and the cache's own housekeeping files if this download created them)."""
    import filelock
    from huggingface_hub import constants

    cache = Path(constants.HF_HUB_CACHE)
    folder_name = "models--" + repo_id.replace("/", "--")
    roots = [cache / folder_name, cache / ".locks" / folder_name, cache / ".locks", cache / "CACHEDIR.TAG", cache]

    def tree() -> set[Path]:
        found = {r for r in roots if r.exists()}
        for root in (cache / folder_name, cache / ".locks" / folder_name):
            if root.is_dir():
                found.update(root.rglob("*"))
        return found

    lock_dir = Path(tempfile.gettempdir()) / "wzoo-locks"
    lock_dir.mkdir(exist_ok=True)
    # one wzoo download of a repo at a time, so a rollback never removes another's files
    with filelock.FileLock(str(lock_dir / f"{folder_name}.lock")):
        before = tree()
        try:
            yield
        except BaseException:
            _remove_new(tree() - before, cache)
            raise


def _remove_new(paths: set[Path], cache: Path) -> None:
    for path in sorted(paths, key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            if path in (cache, cache / ".locks"):
                with contextlib.suppress(OSError):
                    path.rmdir()  # only if empty: other repos may live there
            else:
                shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def from_pretrained(ref: str, revision: str | None = None, local_files_only: bool = False):
    """Load a model from a local folder, `hf-hub:org/name[@rev]`, or a registered name."""
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


def push_folder(folder: str | Path, repo_id: str, revision: str | None = None,
                commit_message: str | None = None, private: bool | None = None,
                token: str | None = None, create_pr: bool = False) -> str:
    """Upload a saved wzoo model folder as one commit; returns the commit sha.

    Adapters the repo has but the folder does not are deleted in the same commit, so the
    commit is exactly this model."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    from .card import validate_card

    folder = Path(folder)
    check_model_folder(folder)
    config = read_config(folder)
    check_tensors(folder / WEIGHTS_NAME)
    if (folder / CARD_NAME).exists():
        validate_card(folder / CARD_NAME)
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
    try:
        info = api.create_commit(
            repo_id, operations, revision=revision, create_pr=create_pr,
            commit_message=commit_message or f"Upload {config.model_name or 'model'} with wzoo",
        )
    except BaseException as exc:
        if not existed:
            with contextlib.suppress(Exception):
                api.delete_repo(repo_id)
        error = _hub_error(exc, f"pushing to {repo_id!r} failed, nothing was committed")
        if error is None:
            raise
        raise error from None
    return info.oid


def push_model(model, repo_id: str, metrics: dict | None = None, **kwargs) -> str:
    """Save to a temporary folder and push it as one commit; returns the commit sha."""
    with tempfile.TemporaryDirectory(prefix="wzoo-push-") as tmp:
        save_model_folder(model, Path(tmp), metrics=metrics, repo_id=repo_id)
        return push_folder(tmp, repo_id, **kwargs)
