"""The loopback Hub (zoo_core.testing.hub_server) against the real huggingface_hub client."""

from __future__ import annotations

import os
import random
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    HfFileSystem,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

LFS_BATCH = ".git/info/lfs/objects/batch"
LFS_PUT = "/-/lfs-upload/"
BIG = 1_500_000  # > 1 MB


@pytest.fixture
def api() -> HfApi:
    return HfApi()


def _folder(root: Path) -> dict[str, bytes]:
    files = {
        "notes.txt": "hello from wzoo\nsecond line\n".encode(),
        "weights/model.bin": random.Random(0).randbytes(BIG),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _add(path: str, data: bytes) -> CommitOperationAdd:
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=data)


def test_environment_points_at_loopback(hub):
    from huggingface_hub import constants

    assert constants.ENDPOINT == hub.url
    assert constants.HF_HUB_DISABLE_XET
    assert os.environ["HF_TOKEN"] == "wzoo-test-token"
    assert "127.0.0.1" in os.environ["NO_PROXY"]


def test_folder_round_trip(hub, upload_mode, hf_cache, api, hub_repo_id, tmp_path):
    src = tmp_path / "src"
    files = _folder(src)
    url = api.create_repo(hub_repo_id)
    assert url.repo_id == hub_repo_id and url.startswith(hub.url)
    hub.clear_log()

    info = api.upload_folder(repo_id=hub_repo_id, folder_path=src, commit_message="add files")
    assert hub.commits(hub_repo_id)[0] == info.oid

    batch, put = hub.count("POST", LFS_BATCH), hub.count("PUT", LFS_PUT)
    if upload_mode == "lfs":
        assert (batch, put) == (1, 2)
        assert hub.lfs_files(hub_repo_id) == set(files)
    else:
        assert (batch, put) == (0, 0)
        assert hub.lfs_files(hub_repo_id) == set()
    assert hub.count("POST", "/commit/main", status=200) == 1
    assert hub.files(hub_repo_id) == {**files, ".gitattributes": hub.files(hub_repo_id)[".gitattributes"]}

    # the server's view through the client
    tree = {f.path: f for f in api.list_repo_tree(hub_repo_id, recursive=True)}
    assert {"notes.txt", "weights", "weights/model.bin", ".gitattributes"} == set(tree)
    assert tree["weights/model.bin"].size == BIG
    assert (tree["weights/model.bin"].lfs is not None) == (upload_mode == "lfs")
    minfo = api.model_info(hub_repo_id)
    assert minfo.sha == info.oid
    assert {s.rfilename for s in minfo.siblings} == {".gitattributes", *files}

    # download everything back
    hub.clear_log()
    snap = Path(snapshot_download(hub_repo_id))
    assert snap.name == info.oid
    for rel, data in files.items():
        assert (snap / rel).read_bytes() == data
    assert hub.count("GET", "/resolve/") == 3  # .gitattributes + 2 files, all actually fetched
    single = hf_hub_download(hub_repo_id, "weights/model.bin")
    assert Path(single).read_bytes() == files["weights/model.bin"]
    assert Path(single).is_relative_to(hf_cache)

    # re-uploading the same folder is a no-op: preupload's oids let the client skip every file
    before = hub.repo_state(hub_repo_id)
    hub.clear_log()
    again = api.upload_folder(repo_id=hub_repo_id, folder_path=src)
    assert again.oid == info.oid
    assert hub.count("POST", "/commit/") == 0 and hub.count("PUT") == 0
    assert hub.repo_state(hub_repo_id) == before


def test_download_by_branch_tag_and_sha(hub, hf_cache, api, hub_repo_id):
    api.create_repo(hub_repo_id)
    v1 = api.create_commit(hub_repo_id, [_add("a.txt", b"v1")], commit_message="v1").oid
    api.create_tag(hub_repo_id, tag="v1.0", revision=v1)
    api.create_branch(hub_repo_id, branch="dev/x", revision=v1)  # '/' in a branch name
    v2 = api.create_commit(hub_repo_id, [_add("a.txt", b"v2")], commit_message="v2").oid
    v3 = api.create_commit(hub_repo_id, [_add("a.txt", b"v3")], commit_message="v3", revision="dev/x").oid

    for revision, sha, content in [
        (None, v2, b"v2"),
        ("main", v2, b"v2"),
        ("v1.0", v1, b"v1"),
        (v1, v1, b"v1"),
        ("dev/x", v3, b"v3"),
    ]:
        path = Path(hf_hub_download(hub_repo_id, "a.txt", revision=revision))
        assert path.read_bytes() == content
        assert path.parent.name == sha  # the snapshot folder is named by X-Repo-Commit
        meta = get_hf_file_metadata(hf_hub_url(hub_repo_id, "a.txt", revision=revision))
        assert meta.commit_hash == sha and meta.size == len(content)

    refs = api.list_repo_refs(hub_repo_id)
    assert {b.name: b.target_commit for b in refs.branches} == {"main": v2, "dev/x": v3}
    assert {t.name: t.target_commit for t in refs.tags} == {"v1.0": v1}
    history = [c.commit_id for c in api.list_repo_commits(hub_repo_id, revision="dev/x")]
    assert history[:2] == [v3, v1] and len(history) == 3  # + the initial commit
    assert [f.path for f in api.list_repo_tree(hub_repo_id, revision="v1.0")] == [".gitattributes", "a.txt"]

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_tag(hub_repo_id, tag="v1.0")
    assert exc.value.response.status_code == 409
    api.delete_tag(hub_repo_id, tag="v1.0")
    api.delete_branch(hub_repo_id, branch="dev/x")
    refs = api.list_repo_refs(hub_repo_id)
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []


def test_errors_map_to_client_exceptions(hub, hf_cache, api, hub_repo_id):
    missing = f"{hub.namespace}/does-not-exist"
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(missing)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(missing, "a.txt")

    api.create_repo(hub_repo_id)
    api.create_commit(hub_repo_id, [_add("a.txt", b"x")], commit_message="a")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(hub_repo_id, "a.txt", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(hub_repo_id, revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(hub_repo_id, "missing.txt")
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(hub_repo_id, path_in_repo="no-dir"))
    assert hub.count("HEAD", "/resolve/main/missing.txt", status=404) == 1

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(hub_repo_id)
    assert exc.value.response.status_code == 409
    assert api.create_repo(hub_repo_id, exist_ok=True).repo_id == hub_repo_id

    api.delete_repo(hub_repo_id)
    assert not hub.repo_exists(hub_repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(hub_repo_id)
    api.delete_repo(hub_repo_id, missing_ok=True)


def test_failed_lfs_put_leaves_repo_unchanged(hub, api, hub_repo_id, tmp_path):
    hub.upload_mode = "lfs"
    _folder(tmp_path)
    api.create_repo(hub_repo_id)
    before = hub.repo_state(hub_repo_id)

    # a 4xx: the client retries 5xx on the PUT with 1+2+4+8+8 s of backoff
    # (the client wraps the PUT's HfHubHTTPError in a RuntimeError naming the file)
    hub.fail_next("PUT", LFS_PUT, status=403)
    with pytest.raises(RuntimeError, match="Error while uploading") as exc:
        api.upload_folder(repo_id=hub_repo_id, folder_path=tmp_path)
    assert isinstance(exc.value.__cause__, HfHubHTTPError)
    assert exc.value.__cause__.response.status_code == 403
    assert hub.count("PUT", LFS_PUT, status=403) == 1
    assert hub.count("POST", "/commit/") == 0
    assert hub.repo_state(hub_repo_id) == before

    # a PUT that pretends to succeed: the commit names an LFS object the server never got
    hub.fail_next("PUT", LFS_PUT, status=200, times=2)
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_folder(repo_id=hub_repo_id, folder_path=tmp_path)
    assert 400 <= exc.value.response.status_code < 500
    assert hub.repo_state(hub_repo_id) == before

    # the commit itself failing
    hub.fail_next("POST", "/commit/main", status=500)
    with pytest.raises(HfHubHTTPError):
        api.upload_folder(repo_id=hub_repo_id, folder_path=tmp_path)
    assert hub.repo_state(hub_repo_id) == before

    # a stale parent commit
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_commit(hub_repo_id, [_add("x.txt", b"x")], commit_message="stale", parent_commit="0" * 40)
    assert exc.value.response.status_code == 412

    # and with no fault left, the same upload goes through
    assert hub.pending_faults == []
    api.upload_folder(repo_id=hub_repo_id, folder_path=tmp_path)
    assert len(hub.commits(hub_repo_id)) == 2


def test_failed_resolve_get(hub, hf_cache, api, hub_repo_id):
    api.create_repo(hub_repo_id)
    api.create_commit(hub_repo_id, [_add("a.txt", b"data")], commit_message="a")
    hub.fail_next("GET", "/resolve/main/a.txt", status=500)
    with pytest.raises(HfHubHTTPError):
        hf_hub_download(hub_repo_id, "a.txt")
    assert hub.count("GET", "/resolve/main/a.txt", status=500) == 1
    assert Path(hf_hub_download(hub_repo_id, "a.txt")).read_bytes() == b"data"


def test_down_refuses_connections_then_cache_fallback(hub, hf_cache, hf_fast_retries, api, hub_repo_id):
    api.create_repo(hub_repo_id)
    api.create_commit(hub_repo_id, [_add("a.txt", b"cached"), _add("b.txt", b"never fetched")], commit_message="a")
    url = hub.url

    # populated cache: a download while up asks the server ...
    cached = hf_hub_download(hub_repo_id, "a.txt")
    hub.clear_log()
    assert hf_hub_download(hub_repo_id, "a.txt") == cached
    assert hub.count("HEAD", "/resolve/main/a.txt") == 1

    hub.clear_log()
    with hub.down():
        assert not hub.is_up
        with pytest.raises(httpx2.ConnectError):
            api.model_info(hub_repo_id)
        with pytest.raises(LocalEntryNotFoundError) as exc:  # nothing cached for b.txt
            hf_hub_download(hub_repo_id, "b.txt")
        assert isinstance(exc.value.__cause__, httpx2.ConnectError)
        assert hf_fast_retries == [1, 2, 4, 8, 8]  # with nothing cached, the client retries
        # pitfall: with no tree listing cached (only hf_hub_download ran), an unreachable Hub makes
        # snapshot_download return the PARTIAL snapshot silently
        partial = Path(snapshot_download(hub_repo_id))
        assert sorted(p.name for p in partial.iterdir()) == ["a.txt"]
        # ... while down, the same call silently falls back to the cache
        assert hf_hub_download(hub_repo_id, "a.txt") == cached
    assert hub.requests == []  # the server saw none of it

    assert hub.is_up and hub.url == url
    assert api.model_info(hub_repo_id).id == hub_repo_id
    assert Path(hf_hub_download(hub_repo_id, "b.txt")).read_bytes() == b"never fetched"
    assert hub.count("GET", "/resolve/main/b.txt", status=200) == 1


def test_range_requests_through_hf_file_system(hub, api, hub_repo_id):
    data = random.Random(1).randbytes(300_000)
    api.create_repo(hub_repo_id)
    api.create_commit(hub_repo_id, [_add("blob.bin", data)], commit_message="blob")
    fs = HfFileSystem(skip_instance_cache=True)
    with fs.open(f"{hub_repo_id}/blob.bin", "rb", block_size=4096) as f:
        f.seek(100_000)
        assert f.read(1000) == data[100_000:101_000]
    assert hub.count("GET", "/resolve/", status=206) >= 1
