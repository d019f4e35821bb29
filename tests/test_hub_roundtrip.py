"""Push and pull through the real huggingface_hub client against the loopback Hub.

Every test asserts on the server's request log, so a silent fallback to the cache
cannot pass for a download.
"""

from pathlib import Path

import pytest
import torch

import zoo_core
from zoo_core.errors import (
    CorruptWeightsError,
    HubAuthError,
    HubUnreachableError,
    NotAZooModelError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from zoo_core.hub import commit_of, resolve

pytestmark = pytest.mark.usefixtures("fake_plugin", "hf_cache")
X = torch.randn(2, 1, 8, generator=torch.Generator().manual_seed(0))


def _model(seed=0, adapter=False):
    torch.manual_seed(seed)
    model = zoo_core.create_model("fake/tiny").eval()
    if adapter:
        from peft import LoraConfig

        model.add_adapter("los", LoraConfig(r=2, target_modules=["q", "v"]))
        for name, p in model.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(p)
    return model


def _cache_tree(cache: Path) -> set[str]:
    return {str(p.relative_to(cache)) for p in cache.rglob("*")}


def _resolved_shas(hub) -> set[str]:
    return {r.path.split("/resolve/")[1].split("/")[0] for r in hub.requests if "/resolve/" in r.path}


def test_push_pull_round_trip(hub, upload_mode, hub_repo_id):
    model = _model(adapter=True)
    sha = model.push_to_hub(hub_repo_id, metrics={"accuracy": 0.5})
    state = hub.repo_state(hub_repo_id)
    assert state["branches"]["main"] == sha
    files = hub.files(hub_repo_id)
    assert {"config.json", "model.safetensors", "README.md", "adapters/los/main/adapter_config.json",
            "adapters/los/main/adapter_model.safetensors"} <= set(files)
    commits = [c for c in state["commits"].values() if c["parent"] is not None]
    assert len(commits) == 1, "weights, config, card and adapters go in one commit"
    used_lfs = hub.count("POST", "/info/lfs/objects/batch") > 0
    assert used_lfs == (upload_mode == "lfs")
    assert "accuracy" in files["README.md"].decode()

    hub.clear_log()
    loaded = zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    assert _resolved_shas(hub) == {sha}, "every file comes from the one resolved commit"
    assert hub.count("GET", "/resolve/") >= 5
    for task in ("los", "positioning"):
        assert torch.equal(loaded(X, task=task), model(X, task=task))


def test_revisions_are_pinned_to_commits(hub, hub_repo_id):
    from huggingface_hub import HfApi

    v1, v2 = _model(seed=1), _model(seed=2)
    sha1 = v1.push_to_hub(hub_repo_id)
    HfApi().create_tag(hub_repo_id, tag="v1", revision=sha1)
    sha2 = v2.push_to_hub(hub_repo_id)
    assert sha1 != sha2
    for ref, expected, sha in [(f"hf-hub:{hub_repo_id}@{sha1}", v1, sha1), (f"hf-hub:{hub_repo_id}@v1", v1, sha1),
                               (f"hf-hub:{hub_repo_id}", v2, sha2)]:
        hub.clear_log()
        folder = resolve(ref)
        assert commit_of(folder) == sha
        assert _resolved_shas(hub) <= {sha}
        assert torch.equal(zoo_core.from_pretrained(ref)(X), expected(X))
    loaded = zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}", revision="v1")
    assert torch.equal(loaded(X), v1(X))


def test_registered_name_uses_its_default_repo(hub):
    model = _model(seed=3)
    model.push_to_hub("wzoo-test/fake-tiny")
    hub.clear_log()
    assert torch.equal(zoo_core.from_pretrained("fake/tiny")(X), model(X))
    assert hub.count("GET", "wzoo-test/fake-tiny/resolve/") >= 3


def test_offline_and_local_files_only_use_the_cache(hub, hub_repo_id, monkeypatch):
    model = _model(seed=4)
    model.push_to_hub(hub_repo_id)
    zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    hub.clear_log()
    with hub.down():
        loaded = zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}", local_files_only=True)
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        offline = zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    assert torch.equal(loaded(X), model(X)) and torch.equal(offline(X), model(X))
    assert hub.requests == []


def test_repo_and_revision_not_found(hub, hub_repo_id):
    with pytest.raises(RepoNotFoundError, match=hub_repo_id):
        zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    _model().push_to_hub(hub_repo_id)
    with pytest.raises(RevisionNotFoundError, match="nope"):
        zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}@nope")
    assert hub.count(path_contains=hub_repo_id) > 0


def test_unreachable_hub_with_empty_cache(hub, hub_repo_id, hf_cache, hf_fast_retries):
    _model().push_to_hub(hub_repo_id)
    with hub.down():
        with pytest.raises(HubUnreachableError, match="not in the local cache"):
            zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    assert _cache_tree(hf_cache) == set()


def test_a_failed_update_keeps_the_cached_revision_loadable(hub, hub_repo_id, hf_cache, monkeypatch):
    """The old code wrote refs/main to the new commit before fetching it: a failed update left
    the ref on a half-fetched commit and the fully cached old revision no longer loaded offline."""
    from huggingface_hub import constants

    old = _model(seed=1)
    old.push_to_hub(hub_repo_id)
    zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")  # cached, refs/main -> the old commit
    _model(seed=2).push_to_hub(hub_repo_id)
    hub.fail_next("GET", "model.safetensors", status=500)  # config and card arrive, weights do not
    with pytest.raises(HubUnreachableError) as err:
        zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    assert hub.count("GET", "/resolve/") > 0
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert torch.equal(zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")(X), old(X))
    assert "\n" not in str(err.value)  # the Hub's multi-line message, condensed


def test_a_failed_download_deletes_nothing_from_the_shared_cache(hub, hub_repo_id, hf_cache, monkeypatch):
    """The old rollback removed every path that appeared while it ran, including files another
    process (timm, a plain huggingface_hub download) was writing into the shared cache."""
    from zoo_core import hub as wzoo_hub

    _model().push_to_hub(hub_repo_id)
    real = wzoo_hub._snapshot
    theirs = hf_cache / "models--someone--else" / "blobs" / "in-progress.incomplete"

    def meanwhile_another_download(*args, **kwargs):
        theirs.parent.mkdir(parents=True)
        theirs.write_bytes(b"half a file")
        return real(*args, **kwargs)

    monkeypatch.setattr(wzoo_hub, "_snapshot", meanwhile_another_download)
    hub.fail_next("GET", "model.safetensors", status=500)
    with pytest.raises(HubUnreachableError):
        zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    assert theirs.read_bytes() == b"half a file"


def test_corrupted_bytes_are_refused_and_never_served(hub, upload_mode, hub_repo_id, hf_cache, monkeypatch):
    """A blob's name is its hash: bytes flipped on the way (same length, a 200 answer) are
    refused, removed, and not served from the cache afterwards; the next download is clean."""
    from huggingface_hub import constants

    model = _model(seed=3)
    model.push_to_hub(hub_repo_id)
    good = hub.files(hub_repo_id)["model.safetensors"]
    flipped = good[:-8] + bytes(b ^ 0xFF for b in good[-8:])
    hub.fail_next("GET", "model.safetensors", status=200, body=flipped,
                  headers={"Content-Length": str(len(flipped))})
    with pytest.raises(zoo_core.CorruptDownloadError, match="arrived corrupted.*removed from the cache"):
        zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    assert not [p for p in hf_cache.rglob("*") if p.is_file() and p.read_bytes() == flipped]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises((HubUnreachableError, NotAZooModelError, CorruptWeightsError)):
        zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")  # nothing corrupt is served offline
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert torch.equal(zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")(X), model(X))


def test_corrupt_cached_weights_are_fetched_again(hub, hub_repo_id, monkeypatch):
    model = _model(seed=5)
    model.push_to_hub(hub_repo_id)
    folder = resolve(f"hf-hub:{hub_repo_id}")
    blob = (folder / "model.safetensors").resolve()
    blob.write_bytes(blob.read_bytes()[:50])  # truncated in the cache
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CorruptWeightsError, match="truncated"):
        zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    hub.clear_log()
    assert torch.equal(zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}")(X), model(X))
    assert hub.count("GET", "model.safetensors") == 1


def test_failed_push_leaves_the_remote_as_it_was(hub, upload_mode, hub_repo_id):
    _model(seed=6).push_to_hub(hub_repo_id)
    before = hub.repo_state(hub_repo_id)
    hub.fail_next("POST", "/commit/", status=500)
    with pytest.raises(HubUnreachableError, match="nothing was committed"):
        _model(seed=7).push_to_hub(hub_repo_id)
    assert hub.repo_state(hub_repo_id)["branches"] == before["branches"]
    assert hub.repo_state(hub_repo_id)["commits"].keys() == before["commits"].keys()


def test_failed_first_push_removes_the_repo_it_created(hub, hub_repo_id):
    hub.upload_mode = "lfs"
    hub.fail_next("PUT", "", status=403)  # the LFS upload of the weights is refused
    with pytest.raises(HubAuthError, match="hf auth login"):
        _model().push_to_hub(hub_repo_id)
    assert not hub.repo_exists(hub_repo_id)


def test_a_push_replaces_the_adapters_of_the_previous_model(hub, hub_repo_id):
    _model(adapter=True).push_to_hub(hub_repo_id)
    assert "adapters/los/main/adapter_model.safetensors" in hub.files(hub_repo_id)
    sha = _model(seed=8).push_to_hub(hub_repo_id)
    assert not any(f.startswith("adapters/") for f in hub.files(hub_repo_id))
    assert zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}@{sha}").adapter_configs == {}


def test_pushing_a_folder_that_is_not_a_model(hub, tmp_path, hub_repo_id):
    from zoo_core.hub import push_folder

    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NotAZooModelError):
        push_folder(tmp_path, hub_repo_id)
    assert hub.requests == []


def test_a_push_whose_answer_is_lost_reports_the_commit_that_landed(hub, upload_mode, hub_repo_id):
    """The commit POST is served but its answer never arrives: the old code said "nothing was
    committed" although the commit had landed."""
    _model(seed=9).push_to_hub(hub_repo_id)
    hub.fail_next("POST", "/commit/", status=-1)
    sha = _model(seed=10).push_to_hub(hub_repo_id)
    assert sha == hub.repo_state(hub_repo_id)["branches"]["main"]
    assert torch.equal(zoo_core.from_pretrained(f"hf-hub:{hub_repo_id}@{sha}")(X), _model(seed=10)(X))
    hub.fail_next("POST", "/commit/", status=0)  # dropped before it was served: nothing landed
    with pytest.raises(HubUnreachableError, match="nothing was committed"):
        _model(seed=11).push_to_hub(hub_repo_id)
    assert hub.repo_state(hub_repo_id)["branches"]["main"] == sha
