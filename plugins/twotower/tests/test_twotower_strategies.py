"""Strategies against independent computations, and `wzoo bench` end to end on a saved model."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from zoo_core.bench.strategy import ModelRef, Subset
from zoo_core.tasks import get_task


def _saved(tmp_path):
    from zoo_twotower.model import create

    torch.manual_seed(0)
    model = create("tiny", "crnn-msnn")
    return model, model.save_pretrained(tmp_path / "model")


def test_zero_shot_los_picks_the_more_similar_option(city_small, tmp_path):
    from zoo_core.bench.strategy import get_strategy

    model, folder = _saved(tmp_path)
    task = get_task("los")
    sub = Subset(city_small, np.arange(40), task)
    pred = get_strategy("twotower/zero-shot").adapt(ModelRef("twotower/env-csi-tiny", str(folder)), task, sub, sub)
    scores = pred.predict(sub)
    # independently: the two environment options by hand, the flag in column 6 of the vector
    d, i = city_small, np.arange(40)
    s = np.asarray(d.map_scale)[d.scene_id[i]]
    vec = np.concatenate([d.bs_pos[i, :2] / s[:, None], d.bs_pos[i, 2:], d.ue_pos[i, :2] / s[:, None],
                          d.ue_pos[i, 2:], np.zeros((40, 1)), s[:, None]], axis=1).astype(np.float32)
    model.eval()
    with torch.no_grad():
        c = torch.nn.functional.normalize(model.encode({"csi": torch.from_numpy(d.csi[i])}, "csi"), dim=-1)
        sims = []
        for flag in (0.0, 1.0):
            v = vec.copy()
            v[:, 6] = flag
            e = model.encode({"env_edges": torch.from_numpy(d.env_edges[d.scene_id[i]].astype(np.float32)),
                              "position_vector": torch.from_numpy(v)}, "env")
            sims.append((c * torch.nn.functional.normalize(e, dim=-1)).sum(1).numpy())
    want = np.stack(sims, 1)
    np.testing.assert_allclose(scores, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(scores.argmax(1), (want[:, 1] > want[:, 0]).astype(int))
    assert pred.trainable_parameters == 0 and pred.frozen_random  # a folder of random weights is flagged


def test_option_tasks_put_the_truth_where_the_target_says(city_small):
    from zoo_twotower.tasks import MapScale, MultiUser

    i = np.arange(60)
    scale = MapScale()
    factors = np.stack([o["scale_factor"] for o in scale.options(city_small, i)], 1)
    np.testing.assert_array_equal(factors.argmin(1) * 0 + np.abs(factors - 1).argmin(1), scale.targets(city_small, i))
    assert set(np.round(np.unique(factors), 3)) == {0.8, 1.0, 1.2}
    mu = MultiUser()
    cand = mu.candidates(city_small, i)
    np.testing.assert_array_equal(cand[np.arange(60), mu.targets(city_small, i)], i)
    bs = city_small.extras["bs_id"]
    assert (bs[cand] == bs[i][:, None]).all() and all(len(set(r)) == 5 for r in cand)


def test_bench_runs_the_plugin_strategies(tmp_path):
    _, folder = _saved(tmp_path)
    wzoo = Path(sys.executable).with_name("wzoo")
    out = tmp_path / "bench"
    cmd = [str(wzoo), "bench", "los", "--n", "1500", "--strategies", "twotower/zero-shot,twotower/frozen-head,majority",
           "--from", str(folder), "--set", "epochs=2", "--out", str(out), "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((out / "leaderboard.json").read_text())["rows"]
    methods = {r["strategy"] for r in rows}
    assert {"twotower/zero-shot", "twotower/frozen-head", "majority"} <= methods
    toft = next(r for r in rows if r["strategy"] == "twotower/frozen-head")
    assert toft["trainable_parameters"] == 258


def test_position_head_is_the_beam_head_on_the_environment_tower(city_small, tmp_path):
    from zoo_core.bench.strategy import get_strategy

    _, folder = _saved(tmp_path)
    task = get_task("beam")
    i = np.arange(120)
    train, val = Subset(city_small, i[:80], task), Subset(city_small, i[80:], task)
    s = get_strategy("twotower/position-head")
    assert "tower" not in s.defaults and "does not do los" in s.supports(get_task("los"), city_small)
    pred = s.adapt(ModelRef("twotower/env-csi-tiny", str(folder)), task, train, val, progress=False, epochs=1)
    assert pred.trainable_parameters == 10_336 and "EPNN" in pred.input
    assert pred.predict(val).shape == (40, 32)


def test_a_default_bench_plans_the_plugin_strategies_and_baselines(city_small, tmp_path):
    from zoo_core.bench.runner import plan

    _, folder = _saved(tmp_path)
    want = {
        "los": {"twotower/zero-shot", "twotower/frozen-head", "twotower/task-specific-vit", "twotower/task-general-vit"},
        "positioning": {"twotower/frozen-head", "twotower/multi-bs", "twotower/task-specific-vit",
                        "twotower/task-general-vit"},
        "beam": {"twotower/frozen-head", "twotower/position-head", "twotower/task-specific-vit",
                 "twotower/task-general-vit", "twotower/position-mlp"},
        "csi-feedback": {"twotower/zero-shot", "twotower/area-specific-vit", "twotower/area-general-vit"},
        "retrieval": {"twotower/zero-shot"},
    }
    for name, strategies in want.items():
        entries, skipped = plan(get_task(name), city_small, starts={"twotower/env-csi-tiny": str(folder)})
        planned = {e.strategy for e in entries}
        assert strategies <= planned, (name, strategies - planned, [s for s in skipped if "twotower" in s["strategy"]])
    not_beam = {e.strategy for e in plan(get_task("los"), city_small)[0]}
    assert "twotower/position-mlp" not in not_beam and "twotower/area-general-vit" not in not_beam
