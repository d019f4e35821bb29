"""The bench strategies on a small city data set: shapes, flags, what trains, and the zero-shot
similarity against a by-hand cosine; the pre-training recipe's schedule and folder."""

import numpy as np
import pytest
import torch

import zoo_core
from zoo_core.bench.strategy import ModelRef, Scratch, Subset, get_strategy
from zoo_core.tasks import get_task

MODEL = "csiclip/resnet18-tiny"


@pytest.fixture(scope="module")
def city():
    from zoo_core.data.generators import city

    return city.generate(90, seed=3)


def _subsets(data, task):
    idx = np.arange(len(data))
    return (Subset(data, idx[:50], task), Subset(data, idx[50:70], task), Subset(data, idx[70:], task))


def test_frozen_head_trains_only_the_head(city):
    task = get_task("los")
    train, val, test = _subsets(city, task)
    s = get_strategy("csiclip/frozen-head")
    p = s.adapt(ModelRef(MODEL), task, train, val, progress=False, epochs=2, hidden=16)
    scores = p.predict(test)
    assert scores.shape == (len(test), 2)
    head = p.model.heads["los"]
    assert p.trainable_parameters == sum(x.numel() for x in head.parameters()) == 128 * 16 + 16 + 16 * 2 + 2
    assert p.frozen_random and p.weights == {"csi": "random"}
    assert "real+imag 2x32x64" in p.input


def test_fine_tune_is_full_and_scratch_reuses_it(city):
    task = get_task("positioning")
    train, val, test = _subsets(city, task)
    s = get_strategy("csiclip/fine-tune")
    assert s.full and Scratch().full_strategy(MODEL).name == "csiclip/fine-tune"
    p = Scratch().adapt(ModelRef(MODEL), task, train, val, progress=False, epochs=1, hidden=16)
    assert p.predict(test).shape == (len(test), 3)  # x, y, z relative to the serving BS
    csi_tower = sum(x.numel() for x in p.model.encoder("csi").parameters())
    assert p.trainable_parameters == csi_tower + 128 * 16 + 16 + 16 * 3 + 3  # the CIR tower stays out
    assert not p.frozen_random


def test_beam_head_has_one_output_per_codebook_beam(city):
    task = get_task("beam")
    train, val, test = _subsets(city, task)
    p = get_strategy("csiclip/frozen-head").adapt(ModelRef(MODEL), task, train, val, progress=False, epochs=1)
    assert p.predict(test).shape == (len(test), 32)


def test_zero_shot_similarity_is_the_cosine_of_the_towers(city):
    task = get_task("retrieval")
    train, val, test = _subsets(city, task)
    p = get_strategy("csiclip/zero-shot").adapt(ModelRef(MODEL), task, train, val, progress=False)
    sim = p.predict(test)
    assert sim.shape == (len(test), len(test))
    with torch.no_grad():
        x = {"csi": torch.from_numpy(test.csi), "cir": torch.from_numpy(test.field("cir"))}
        a = p.model.encode(x, "csi", normalize=True)
        b = p.model.encode(x, "cir", normalize=True)
    np.testing.assert_allclose(sim, (a @ b.T).numpy(), atol=1e-5)
    assert p.frozen_random
    scores = task.evaluate(sim, test.targets).metrics
    assert set(scores) == {"recall_at_1", "recall_at_5", "recall_at_10", "median_rank"}


def test_unknown_option_and_bad_query_are_typed(city):
    from zoo_core.bench.strategy import StrategyError

    s = get_strategy("csiclip/zero-shot")
    with pytest.raises(StrategyError, match="has no option"):
        s.options({"epochs": 3})
    task = get_task("retrieval")
    train, val, _ = _subsets(city, task)
    with pytest.raises(StrategyError, match="query is"):
        s.adapt(ModelRef(MODEL), task, train, val, progress=False, query="env")


def test_pretrain_recipe_writes_a_bench_ready_folder(tmp_path):
    from zoo_csiclip.recipes import pretrain

    metrics = pretrain(tmp_path, sources="city,ofdm-pilots", n=40, epochs=2, batch_size=16, early_stopping=1)
    assert metrics["epochs_run"] in (1, 2) and metrics["sources"] == ["city", "ofdm-pilots"]
    assert np.isfinite(metrics["val_loss"])
    model = zoo_core.from_pretrained(str(tmp_path / "model"))
    assert {e.weights for e in model.config.encoders} == {"wzoo:csiclip/pretrain"}
    assert model.config.model_name == MODEL
    assert (tmp_path / "similarity_city.png").is_file() and (tmp_path / "pretrain_curves.png").is_file()


def test_pretrain_refuses_unknown_sources(tmp_path):
    from zoo_csiclip.errors import PretrainDataError
    from zoo_csiclip.recipes import pretrain

    with pytest.raises(PretrainDataError, match="not a registered generator"):
        pretrain(tmp_path, sources="city,atlantis", n=8, epochs=1)
    with pytest.raises(PretrainDataError, match="size is one of"):
        pretrain(tmp_path, size="huge")
