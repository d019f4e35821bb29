"""The paper's baselines against hand counts and independent computations (tiny data, 1-2 epochs)."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zoo_core.bench.strategy import Subset, get_strategy
from zoo_core.tasks import get_task


# ---------------------------------------------------------------------- hand counts
def _block(w, mlp):
    """One CLIP block: two LayerNorms, MHA (in and out projections with biases), MLP."""
    return 2 * (2 * w) + (3 * w * w + 3 * w) + (w * w + w) + (w * mlp + mlp) + (mlp * w + w)


def _cfenn(c):
    w, (pa, ps) = c["width"], c["patch"]
    tokens = (c["antennas"] // pa) * (c["subcarriers"] // ps)
    return (2 * w * pa * ps + w) + w + (tokens + 1) * w + c["specific_depth"] * _block(w, c["specific_mlp"]) \
        + c["shared_depth"] * _block(w, c["shared_mlp"]) + 2 * w + (w * c["embed_dim"] + c["embed_dim"])


def _crnn(c, e):
    w, (pa, ps) = c["width"], c["patch"]
    n = (c["antennas"] // pa) * (c["subcarriers"] // ps)
    return (e * n * w + n * w) + n * w + c["depth"] * _block(w, c["mlp"]) + 2 * w + (w * 2 * pa * ps + 2 * pa * ps)


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_a_hand_count():
    from zoo_twotower.baselines import CSIAutoencoder, CSIViT, position_mlp
    from zoo_twotower.plugin import SIZES

    tiny = SIZES["tiny"]
    cfenn = _cfenn(tiny["csi"])
    assert cfenn == 126_464  # by hand for the tiny sizes: conv 16,448, tokens 1,152, 3 blocks 100,416, out 8,448
    assert _count(CSIViT({"beam": 32})) == cfenn + 129 * 32
    assert _count(CSIViT({"positioning": 3, "los": 2, "beam": 32})) == cfenn + 129 * (3 + 2 + 32)
    assert _count(CSIAutoencoder()) == cfenn + _crnn(tiny["crnn"], 128)
    assert _count(position_mlp(32)) == 10_720  # the paper's MLP (Table III): 2 -> 128 -> 64 -> 32
    with torch.device("meta"):  # paper size: Table III gives 7,125,024 (task-specific) and 7,126,052 (general)
        specific = _count(CSIViT({"beam": 32}, "paper"))
        general = _count(CSIViT({"positioning": 2, "los": 2, "beam": 32}, "paper"))
    assert abs(specific - 7_125_024) / 7_125_024 < 1e-3 and abs(general - 7_126_052) / 7_126_052 < 1e-3


# ---------------------------------------------------------------------- losses
def _numpy_focal(logits, target, gamma):
    z = logits - logits.max(1, keepdims=True)
    q = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    m = np.eye(logits.shape[1])[target]
    return float(-(m * (1 - q) ** gamma * np.log(q)).sum(1).mean())


def test_task_general_loss_is_mse_plus_cross_entropy_plus_focal():
    from zoo_twotower.baselines import task_general_loss

    g = torch.Generator().manual_seed(1)
    out = {"positioning": torch.randn(16, 3, generator=g), "los": torch.randn(16, 2, generator=g),
           "beam": torch.randn(16, 32, generator=g) * 3}
    pos, los, beam = torch.randn(16, 3, generator=g), torch.randint(0, 2, (16,), generator=g), \
        torch.randint(0, 32, (16,), generator=g)
    got = float(task_general_loss(out, pos, los, beam, gamma=2.0))
    want = float(F.mse_loss(out["positioning"], pos)) + float(F.cross_entropy(out["los"], los)) \
        + _numpy_focal(out["beam"].numpy().astype(np.float64), beam.numpy(), 2.0)
    assert got == pytest.approx(want, rel=1e-5)
    # an outage sample (beam -1) adds nothing to the focal part
    beam2 = torch.cat([beam, torch.tensor([-1])])
    out2 = {k: torch.cat([v, torch.zeros(1, v.shape[1])]) for k, v in out.items()}
    out2["beam"][-1, 0] = 50.0
    partial = float(task_general_loss(out2, torch.cat([pos, torch.zeros(1, 3)]), torch.cat([los, torch.tensor([0])]),
                                      beam2))
    full = float(F.mse_loss(out2["positioning"], torch.cat([pos, torch.zeros(1, 3)]))) \
        + float(F.cross_entropy(out2["los"], torch.cat([los, torch.tensor([0])]))) \
        + _numpy_focal(out["beam"].numpy().astype(np.float64), beam.numpy(), 2.0)
    assert partial == pytest.approx(full, rel=1e-5)


# ---------------------------------------------------------------------- training end to end
def _split(data, task_name, n_train=100, n_val=40, n_test=40):
    task = get_task(task_name)
    i = np.arange(n_train + n_val + n_test)
    return task, Subset(data, i[:n_train], task), Subset(data, i[n_train:n_train + n_val], task), \
        Subset(data, i[n_train + n_val:], task)


@pytest.mark.parametrize("name,task_name,width", [
    ("twotower/task-specific-vit", "los", 2), ("twotower/task-specific-vit", "positioning", 3),
    ("twotower/task-general-vit", "beam", 32), ("twotower/task-general-vit", "positioning", 3)])
def test_vit_baselines_train_and_predict_their_task(city_small, name, task_name, width):
    task, train, val, test = _split(city_small, task_name)
    s = get_strategy(name)
    assert s.baseline and s.supports(task, city_small) is None
    pred = s.adapt(None, task, train, val, seed=0, progress=False, epochs=2, lr=1e-3, batch_size=32)
    out = pred.predict(test)
    assert out.shape == (len(test), width) and np.isfinite(out).all()
    assert len(pred.history) == 2
    heads = 129 * (width if name.endswith("specific-vit") else 3 + 2 + 32)
    assert pred.trainable_parameters == 126_464 + heads
    if task_name == "positioning":  # decoded to metres, not standardised units
        assert np.abs(out).max() > 5 and task.evaluate(out, test.targets).metrics["mean_error_m"] < 1e3


def test_position_mlp_reads_only_positions(city_small):
    task, train, val, test = _split(city_small, "beam")
    s = get_strategy("twotower/position-mlp")
    pred = s.adapt(None, task, train, val, seed=0, progress=False, epochs=2, lr=2e-3, batch_size=32, hidden=64,
                   width=128, gamma=2.0)
    assert pred.trainable_parameters == 10_720
    before = pred.predict(test)
    noisy = dataclasses.replace(city_small, csi=(np.random.default_rng(0).standard_normal(city_small.csi.shape)
                                                 + 0j).astype(np.complex64))
    np.testing.assert_array_equal(pred.predict(Subset(noisy, test.indices, task)), before)
    moved = dataclasses.replace(city_small, ue_pos=city_small.ue_pos + np.array([25.0, -10.0, 0.0]))
    assert not np.allclose(pred.predict(Subset(moved, test.indices, task)), before)


def test_area_general_vit_reconstructs_csi(city_small):
    task, train, val, test = _split(city_small, "csi-feedback")
    pred = get_strategy("twotower/area-general-vit").adapt(None, task, train, val, seed=0, progress=False, epochs=2,
                                                           lr=1e-3, batch_size=32)
    out = pred.predict(test)
    assert out.shape == test.csi.shape and np.iscomplexobj(out)
    nmse = task.evaluate(out, test.targets).metrics["nmse_db"]
    assert np.isfinite(nmse) and nmse < 3.0


def test_area_specific_vit_trains_one_model_per_area(city_small):
    from zoo_twotower.baselines import csi_input, decode_csi

    task = get_task("csi-feedback")
    areas = city_small.scene_id
    first = np.unique(areas)[:3]
    train_idx = np.flatnonzero(np.isin(areas, first))[::2]
    rest = np.flatnonzero(np.isin(areas, first))[1::2]
    unseen = np.flatnonzero(areas == np.unique(areas)[3])[:20]
    train, val = Subset(city_small, train_idx, task), Subset(city_small, rest[::2], task)
    s = get_strategy("twotower/area-specific-vit")
    pred = s.adapt(None, task, train, val, seed=0, progress=False, epochs=1, lr=1e-3, batch_size=32)
    assert sorted(s.models) == sorted(int(a) for a in first)
    one = sum(p.numel() for p in next(iter(s.models.values())).parameters())
    assert pred.trainable_parameters == 3 * one
    # a seen-area sample goes through its own area's model
    seen = rest[1::2][:10]
    got = pred.predict(Subset(city_small, seen, task))
    for j, i in enumerate(seen):
        x, rms = csi_input(city_small, [i])
        own = decode_csi(s.models[int(areas[i])], x, rms, city_small.csi.shape[1:])
        other = decode_csi(s.models[int(next(a for a in first if a != areas[i]))], x, rms, city_small.csi.shape[1:])
        scale = np.abs(own).max()
        np.testing.assert_allclose(got[j], own[0], rtol=0, atol=1e-4 * scale)  # batched vs one: float noise
        assert np.abs(got[j] - other[0]).max() > 1e-2 * scale
    # an unseen-area sample goes through the model that reconstructs it best
    got = pred.predict(Subset(city_small, unseen, task))
    x, rms = csi_input(city_small, unseen)
    errors = np.stack([(np.abs(decode_csi(m, x, rms, city_small.csi.shape[1:]) - city_small.csi[unseen]) ** 2)
                       .reshape(len(unseen), -1).sum(1) for m in s.models.values()])
    mine = (np.abs(got - city_small.csi[unseen]) ** 2).reshape(len(unseen), -1).sum(1)
    np.testing.assert_allclose(mine, errors.min(0), rtol=1e-5)


def test_baselines_refuse_data_they_cannot_use(city_small):
    small = city_small.subset(np.arange(20))
    from zoo_core.data.generators.city import generate

    odd = generate(20, seed=1, n_ant=16)
    for name, task in (("twotower/task-specific-vit", "los"), ("twotower/area-general-vit", "csi-feedback")):
        assert "32 antennas" in get_strategy(name).supports(get_task(task), odd)
    assert "is a beam baseline" in get_strategy("twotower/position-mlp").supports(get_task("los"), small)
    no_los = dataclasses.replace(small, los=None, labels={k: v for k, v in small.labels.items() if k != "los"})
    assert "needs position, LOS and beam labels" in get_strategy("twotower/task-general-vit").supports(
        get_task("positioning"), no_los)
    no_areas = dataclasses.replace(small, scene_id=None, env_map=None, env_edges=None, map_scale=None)
    assert "scene_id" in get_strategy("twotower/area-specific-vit").supports(get_task("csi-feedback"), no_areas)
