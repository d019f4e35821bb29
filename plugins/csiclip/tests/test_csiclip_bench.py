"""`wzoo bench` end to end with CSI-CLIP: a short pre-training run, then the bench started
`--from` its folder; the leaderboard names where the weights came from and the tasks' own
figures (similarity matrix, confusion matrices) are written."""

import pytest

from zoo_core.bench.runner import Benchmark, run_bench
from zoo_core.data.sources import parse_data

MODEL = "csiclip/resnet18-tiny"


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    from zoo_csiclip.recipes import pretrain

    out = tmp_path_factory.mktemp("pretrain")
    pretrain(out, sources="city", n=48, epochs=1, batch_size=16)
    return str(out / "model")


def _run(task, tmp_path, strategies, starts, options=None):
    bench = Benchmark(task, parse_data("city", {}, n=150, seed=5))
    return run_bench(bench, tmp_path, strategies=strategies, starts=starts, options=options, progress=False,
                     echo=lambda *_: None)


def test_retrieval_bench_from_a_pretrained_folder(tmp_path, pretrained):
    result = _run("retrieval", tmp_path, ["csiclip/zero-shot"], {MODEL: pretrained})
    (row,) = result.leaderboard
    assert row["method"] == f"{MODEL} · zero-shot" and not row["frozen_random"]
    assert row["weights"] == {"csi": "wzoo:csiclip/pretrain", "cir": "wzoo:csiclip/pretrain"}
    assert 0 <= row["metrics"]["recall_at_1"] <= row["metrics"]["recall_at_5"] <= row["metrics"]["recall_at_10"] <= 1
    names = {p.name for p in result.plots}
    assert "similarity-csiclip-resnet18-tiny-zero-shot.png" in names


def test_los_bench_with_a_baseline(tmp_path, pretrained):
    result = _run("los", tmp_path, ["csiclip/frozen-head", "majority"], {MODEL: pretrained},
                  {"csiclip/frozen-head": {"epochs": 2}})
    methods = {r["method"]: r for r in result.leaderboard}
    assert set(methods) == {f"{MODEL} · frozen-head", "majority"}
    assert methods[f"{MODEL} · frozen-head"]["trainable_parameters"] == 128 * 256 + 256 + 256 * 2 + 2
    assert any(p.name.startswith("confusion-") for p in result.plots)


def test_scratch_is_the_same_network_from_random_weights(tmp_path, pretrained):
    result = _run("positioning", tmp_path, ["csiclip/fine-tune", "scratch"], {MODEL: pretrained},
                  {"*": {"epochs": 1}})  # scratch runs fine-tune: the "*" options reach it too
    rows = {r["strategy"]: r for r in result.leaderboard}
    assert rows["csiclip/fine-tune"]["weights"] == {"csi": "wzoo:csiclip/fine-tune"}
    assert rows["scratch"]["weights"] == {"csi": "random"}
    assert rows["scratch"]["trainable_parameters"] == rows["csiclip/fine-tune"]["trainable_parameters"]
    assert {p.name for p in result.plots} >= {"positioning.png"}
