"""The authors' release path, end to end through the real huggingface_hub client against the
loopback Hub, with a checkpoint built here in the release's layout (random weights, the same
key names and shapes, a manifest of SHA-256 hashes). Parity with the real file cannot be
checked offline; everything around it is."""

import hashlib
import json
import math

import pytest
import torch
from safetensors.torch import save

import zoo_core
from zoo_csiclip.errors import ManifestHashError, OfficialKeyError, OfficialWeightsError
from zoo_csiclip.official import KEY_MAP, load_official

pytestmark = pytest.mark.usefixtures("hf_cache")


def _release_state(embed_dim=512, seed=0):
    """Release-layout tensors: timm ResNet-50 (2-channel stem, no classifier) per modality +
    bias-free projections, every tensor random (BatchNorm statistics too). Shapes come from
    timm on the meta device; values are windows of one seeded random pool, at a different
    offset for every tensor (cheap, and no two tensors alike)."""
    import timm

    with torch.device("meta"):
        shapes = {k: (tuple(v.shape), v.dtype) for k, v in
                  timm.create_model("resnet50", pretrained=False, in_chans=2, num_classes=0).state_dict().items()}
    g = torch.Generator().manual_seed(seed)
    pool = torch.randn(1 << 20, generator=g) * 0.05
    pool = torch.cat([pool] * 4)
    state, offset = {}, 0
    for prefix in ("cfr_backbone.", "cir_backbone."):
        for k, (shape, dtype) in shapes.items():
            n = math.prod(shape)
            if k.endswith("num_batches_tracked"):
                state[prefix + k] = torch.tensor(7, dtype=dtype)
                continue
            offset = (offset + 7919) % (1 << 20)
            values = pool[offset:offset + n].clone().reshape(shape)
            state[prefix + k] = values.abs() + 0.5 if k.endswith("running_var") else values
    for name in ("proj_cfr.weight", "proj_cir.weight"):
        state[name] = torch.randn(embed_dim, 2048, generator=g) * 0.02
    return state


def _publish(hub, repo_id, state, tamper=False):
    """The authors' repo on the loopback Hub (committed server-side, LFS as on the real Hub)."""
    weights = save(state)
    digest = hashlib.sha256(weights).hexdigest()
    manifest = json.dumps({"files": {"model.safetensors": {"sha256": digest}}})
    if tamper:  # one flipped byte near the end of the data, after the manifest was written
        weights = bytearray(weights)
        weights[-5] ^= 0x01
    return hub.create_repo(repo_id, files={"model.safetensors": bytes(weights), "manifest.json": manifest}, lfs=True)


def _by_hand(state):
    """The same weights put into the paper model's modules directly, without the loader."""
    model = zoo_core.create_model("csiclip/resnet50").eval()
    for tower, prefix, proj in (("csi", "cfr_backbone.", "proj_cfr.weight"), ("cir", "cir_backbone.", "proj_cir.weight")):
        enc = model.encoders[tower]
        enc.backbone.net.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
        with torch.no_grad():
            enc.projection.weight.copy_(state[proj])
    return model


def test_release_round_trips_through_the_hub(hub, tmp_path, hub_repo_id):
    state = _release_state()
    sha = _publish(hub, hub_repo_id, state)
    hub.clear_log()
    model = load_official(revision="main", repo_id=hub_repo_id)
    resolved = {r.path.split("/resolve/")[1].split("/")[0] for r in hub.requests if "/resolve/" in r.path}
    assert resolved == {sha}, "both files come from the one resolved commit"
    assert hub.count("GET", "/resolve/") >= 2

    # every release tensor landed, none left over, provenance and the CLIP temperature
    assert set(map(lambda k: next(p for p in KEY_MAP if k.startswith(p)), state)) == set(KEY_MAP)
    weights = {e.name: e.weights for e in model.config.encoders}
    assert weights == {"csi": f"official:{hub_repo_id}@{sha}", "cir": f"official:{hub_repo_id}@{sha}"}
    assert model.heads["retrieval"].logit_scale.item() == pytest.approx(math.log(1 / 0.07))

    hand = _by_hand(state)
    x = torch.randn(2, 4, 64, 256, 1, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
    batch = {"csi": x}  # cir is derived from csi by the core
    with torch.no_grad():
        for tower in ("csi", "cir"):
            assert torch.equal(model.encode(batch, tower), hand.encode(batch, tower)), tower
        a, b = (model.encode(batch, t) for t in ("csi", "cir"))
        assert torch.equal(model.heads["retrieval"](a, b), hand.heads["retrieval"](a, b))

    # a local folder of it (what `wzoo run csiclip/official` writes) keeps the provenance and licence
    model.save_pretrained(tmp_path / "official")
    folder = zoo_core.from_pretrained(str(tmp_path / "official"))
    assert {e.weights for e in folder.config.encoders} == {f"official:{hub_repo_id}@{sha}"}
    assert folder.config.card["license"] == "cc-by-nc-4.0"
    with torch.no_grad():
        assert torch.equal(folder.encode(batch, "csi"), model.encode(batch, "csi"))

    # pinned by sha: the second load is served from the cache at that commit
    again = load_official(revision=sha, repo_id=hub_repo_id)
    assert again.config.encoders[0].weights.endswith(sha)


def test_flipped_byte_is_refused(hub, tmp_path, hub_repo_id):
    # the hashes are checked before anything is read: a small file in the layout is enough
    state = {"proj_cfr.weight": torch.randn(8, 2048), "proj_cir.weight": torch.randn(8, 2048)}
    _publish(hub, hub_repo_id, state, tamper=True)
    with pytest.raises(ManifestHashError) as err:
        load_official(revision="main", repo_id=hub_repo_id)
    assert "\n" not in str(err.value) and "SHA-256" in str(err.value)


def test_keys_that_do_not_map_are_named(hub, tmp_path, hub_repo_id):
    # the projections only, one with a bias the towers do not have, and a stray key: every
    # backbone tensor is missing, the bias and the stray key are unexpected
    state = {"proj_cfr.weight": torch.zeros(8, 2048), "proj_cir.weight": torch.zeros(8, 2048),
             "proj_cfr.bias": torch.zeros(8), "logit_scale": torch.zeros(())}
    _publish(hub, hub_repo_id, state)
    with pytest.raises(OfficialKeyError) as err:
        load_official(revision="main", repo_id=hub_repo_id)
    msg = str(err.value)
    assert "\n" not in msg and "missing keys: encoders.csi.backbone.net.conv1.weight" in msg
    assert "proj_cfr.bias" in msg and "logit_scale" in msg
    assert set(err.value.unexpected) == {"proj_cfr.bias", "logit_scale"}
    assert len(err.value.missing) == 2 * 265  # every tensor of both ResNet-50s (318 each) but their 53 counters


def test_shapes_that_differ_are_named(hub, tmp_path, hub_repo_id):
    state = {"proj_cfr.weight": torch.zeros(8, 2048), "proj_cir.weight": torch.zeros(8, 2048),
             "cfr_backbone.conv1.weight": torch.zeros(64, 3, 7, 7)}  # a 3-channel stem: not the release
    _publish(hub, hub_repo_id, state)
    with pytest.raises(OfficialKeyError, match=r"cfr_backbone.conv1.weight \(file \(64, 3, 7, 7\) vs model \(64, 2, 7, 7\)\)"):
        load_official(revision="main", repo_id=hub_repo_id)


def test_an_unpinned_load_is_refused():
    with pytest.raises(OfficialWeightsError, match="pin the release"):
        load_official(revision="")


def test_offline_without_a_cached_copy_says_so(hub_repo_id):
    from zoo_core.errors import HubUnreachableError

    with pytest.raises(HubUnreachableError, match="not in the local cache"):
        load_official(revision="0" * 40, repo_id=hub_repo_id, local_files_only=True)


def test_a_repo_without_the_release_files_is_named(hub, hub_repo_id):
    hub.create_repo(hub_repo_id, files={"README.md": "not the release"})
    with pytest.raises(OfficialWeightsError, match="has no manifest.json or model.safetensors"):
        load_official(revision="main", repo_id=hub_repo_id)


def test_the_release_is_never_pushed_again(hub, tmp_path, hub_repo_id):
    """The authors' weights (official provenance, cc-by-nc-4.0) are refused by push_to_hub and
    by pushing their saved folder, before any request reaches the Hub; so is a model that only
    carries the non-commercial licence."""
    from zoo_core.errors import RedistributionError
    from zoo_core.hub import push_folder

    state = _release_state()
    _publish(hub, hub_repo_id, state)
    model = load_official(revision="main", repo_id=hub_repo_id)
    model.save_pretrained(tmp_path / "official")
    hub.clear_log()
    target = hub_repo_id + "-copy"
    with pytest.raises(RedistributionError, match="released by their authors") as err:
        model.push_to_hub(target)
    assert "\n" not in str(err.value)
    with pytest.raises(RedistributionError, match="released by their authors"):
        push_folder(tmp_path / "official", target)
    paper = zoo_core.create_model("csiclip/resnet50-official")  # random weights, the release's licence
    with pytest.raises(RedistributionError, match="cc-by-nc-4.0"):
        paper.push_to_hub(target)
    # an apache-2.0 model whose card was edited to the non-commercial licence
    own = zoo_core.create_model("csiclip/resnet18-tiny")
    own.save_pretrained(tmp_path / "own")
    card = tmp_path / "own" / "README.md"
    card.write_text(card.read_text().replace("license: apache-2.0", "license: cc-by-nc-4.0", 1))
    with pytest.raises(RedistributionError, match="cc-by-nc-4.0"):
        push_folder(tmp_path / "own", target)
    assert hub.requests == [] and not hub.repo_exists(target)
