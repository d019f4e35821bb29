"""`wzoo bench`: same task, data and split for every method; reproducible, resumable, readable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo_core.bench import runner
from zoo_core.bench.runner import BenchError, Benchmark, run_bench
from zoo_core.data.generators import city
from zoo_core.data.sources import DataSourceError, parse_data

WZOO = str(Path(sys.executable).with_name("wzoo"))
FAST = ["majority", "power-logistic", "example/supervised"]
OPTIONS = {"example/supervised": {"epochs": 2}}


def _bench(task="los", n=600):
    return Benchmark(task, parse_data("city", {"n_ant": 8, "n_sc": 16}, n=n, seed=3))


def _rows(result):
    return [(r["method"], r["label_fraction"], r["metrics"]) for r in result.leaderboard]


def test_same_seed_same_leaderboard_and_split_hash(tmp_path):
    a = run_bench(_bench(), tmp_path / "a", strategies=FAST, options=OPTIONS, progress=False, echo=lambda *_: None)
    b = run_bench(_bench(), tmp_path / "b", strategies=FAST, options=OPTIONS, progress=False, echo=lambda *_: None)
    assert a.split["sha256"] == b.split["sha256"]
    assert _rows(a) == _rows(b)
    assert {r["method"] for r in a.leaderboard} == {"majority", "power-logistic", "example/tiny-mlp · supervised"}
    split = json.loads((tmp_path / "a" / "split.json").read_text())
    assert split["policy"] == "area" and split["sha256"] == a.split["sha256"]
    assert sorted(sum(split["indices"].values(), [])) == list(range(600))  # every sample once
    assert (tmp_path / "a" / "plots" / "los.png").stat().st_size > 0


def test_a_killed_bench_resumes_without_recomputing(tmp_path, monkeypatch):
    real, calls = runner._run_entry, []

    def dies_on_the_second(entry, *args):
        calls.append(entry.method)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(entry, *args)

    monkeypatch.setattr(runner, "_run_entry", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        run_bench(_bench(), tmp_path, strategies=FAST, options=OPTIONS, progress=False, echo=lambda *_: None)
    first = calls[0]
    calls.clear()
    monkeypatch.setattr(runner, "_run_entry", lambda entry, *args: (calls.append(entry.method), real(entry, *args))[1])
    lines = []
    result = run_bench(_bench(), tmp_path, strategies=FAST, options=OPTIONS, progress=False, echo=lines.append)
    assert first not in calls and len(calls) == 2  # the finished entry came from the cache
    assert any("resuming" in line for line in lines) and any("(cached)" in line for line in lines)
    fresh = run_bench(_bench(), tmp_path / "fresh", strategies=FAST, options=OPTIONS, progress=False,
                      echo=lambda *_: None)
    assert _rows(result) == _rows(fresh)


def test_label_fractions_share_the_test_split_and_draw_the_curve(tmp_path):
    result = run_bench(_bench(), tmp_path, strategies=["majority", "example/supervised"], options=OPTIONS,
                       fractions=(0.1, 1.0), progress=False, echo=lambda *_: None)
    samples = {(r["method"], r["label_fraction"]): r["train_samples"] for r in result.leaderboard}
    full = samples[("majority", 1.0)]
    assert samples[("majority", 0.1)] == round(0.1 * full)
    assert (tmp_path / "plots" / "label-fractions.png").stat().st_size > 0
    assert "0.1 of the training labels" in (tmp_path / "leaderboard.md").read_text()


def test_out_folder_of_something_else_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BenchError, match="--overwrite"):
        run_bench(_bench(), tmp_path, strategies=["majority"], progress=False, echo=lambda *_: None)
    run_bench(_bench(), tmp_path, strategies=["majority"], progress=False, echo=lambda *_: None, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"  # only the bench's own files are replaced


def test_strategies_that_cannot_run_are_listed_with_the_reason(tmp_path):
    result = run_bench(_bench("positioning"), tmp_path, strategies=["mean-position", "ls"], progress=False,
                       echo=lambda *_: None)
    assert [r["method"] for r in result.leaderboard] == ["mean-position"]
    assert result.skipped and result.skipped[0]["strategy"] == "ls" and "channel-estimation" in result.skipped[0]["reason"]


def test_data_argument_errors_say_what_to_do(tmp_path):
    with pytest.raises(DataSourceError, match="no such file and no registered data set"):
        parse_data(str(tmp_path / "missing.h5"))
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 not a wzoo file")
    with pytest.raises(DataSourceError, match="LOADER:"):
        parse_data(str(tmp_path / "x.npz"))
    with pytest.raises(DataSourceError, match="--n"):
        parse_data("city")


def _wzoo(*args, cwd):
    return subprocess.run([WZOO, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_bench_positioning_on_a_sample_format_file(tmp_path):
    path = tmp_path / "mine.h5"
    city.generate(500, seed=5, n_bs=1, n_ue=250).save(path)  # two dense single-BS areas
    got = _wzoo("bench", "positioning", "--data", path, "--strategies", "mean-position,knn-fingerprint",
                "--split", "random", "--out", tmp_path / "out", "--quiet", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    assert board["benchmark"]["data"]["kind"] == "file" and len(board["benchmark"]["data"]["sha256"]) == 64
    means = {r["method"]: r["metrics"]["mean_error_m"] for r in board["rows"]}
    assert means["knn-fingerprint"] < means["mean-position"]  # seen areas: fingerprints beat the centre
    assert "| 1 | knn-fingerprint |" in (tmp_path / "out" / "leaderboard.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["bench", "los-nope"], "unknown task 'los-nope'"),
    (["bench", "los", "--data", "nowhere.h5"], "no such file"),
    (["bench", "los", "--models", "nope/model"], "--models nope/model"),
    (["bench", "activity"], "has no built-in data"),
    (["bench", "los", "--set", "majority.nope=1"], "has no option nope"),
    (["bench", "los", "--strategies", "majorty"], "unknown strategy 'majorty'"),
    (["bench", "los", "--n", "300"], "the val split is empty"),
    (["bench", "los", "--threads", "-2"], "--threads must be"),
])
def test_bench_errors_are_one_line(tmp_path, args, message):
    got = _wzoo(*args, "--out", tmp_path / "o", "--quiet", cwd=tmp_path)
    assert got.returncode == 1 and message in got.stderr and got.stderr.strip().count("\n") == 0, got.stderr


def test_a_frozen_random_backbone_is_labelled(tmp_path):
    result = run_bench(_bench(n=400), tmp_path, strategies=["wavesfm/linear-probe"],
                       options={"*": {"epochs": 1}}, progress=False, echo=lambda *_: None)
    (row,) = result.leaderboard
    assert row["frozen_random"] and row["weights"] == {"signal": "random"}
    assert "resampled" in row["input"] and "magnitude only" in row["input"]  # nothing silent
    assert "wavesfm/vit-tiny-p8-32 · linear-probe †" in (tmp_path / "leaderboard.md").read_text()
    assert np.isfinite(row["metrics"]["accuracy"])


def test_saved_models_carry_their_results_on_the_card(tmp_path):
    import yaml

    import zoo_core
    from zoo_core.card import validate_card

    result = run_bench(_bench(), tmp_path, strategies=["example/supervised"], options=OPTIONS, progress=False,
                       echo=lambda *_: None, save_models=True)
    folder = Path(result.records[0]["model_folder"])
    meta = validate_card(folder / "README.md")
    (index,) = meta["model-index"]
    scores = {m["type"]: m["value"] for r in index["results"] for m in r["metrics"]}
    assert scores == pytest.approx(result.records[0]["metrics"])
    assert index["results"][0]["dataset"]["revision"] == result.split["sha256"]  # the split it was scored on
    card = (folder / "README.md").read_text()
    assert f'from_pretrained("{folder.as_posix()}")' in card and "city (n=600, seed=3)" in card
    assert yaml.safe_load(card.split("---")[1])["model-index"]
    model = zoo_core.from_pretrained(str(folder))  # the snippet works
    assert model.tasks == ["los"]


def test_a_strategy_that_fails_to_load_is_listed_not_fatal(tmp_path, use_plugins, monkeypatch):
    use_plugins({"broken": "wzoo_broken_strategy"}, keep_installed=True)
    result = run_bench(_bench(), tmp_path, strategies=["majority", "broken/frozen-head"], progress=False,
                       echo=lambda *_: None)
    assert [r["method"] for r in result.leaderboard] == ["majority"]
    (failed,) = [s for s in result.skipped if s["strategy"] == "broken/frozen-head"]
    assert "failed to load" in failed["reason"] and "wzoo_no_such_module" in failed["reason"]
    monkeypatch.setenv("WZOO_STRICT_PLUGINS", "1")  # CI: a broken plugin is an error
    with pytest.raises(ModuleNotFoundError):
        run_bench(_bench(), tmp_path / "strict", strategies=["majority"], progress=False, echo=lambda *_: None)


def test_scratch_takes_the_options_of_the_strategies_it_runs():
    from zoo_core.bench.runner import check_request

    check_request(["scratch"], None, {"scratch": {"epochs": 1}})  # wavesfm/full has epochs
    with pytest.raises(BenchError, match="scratch.nope"):
        check_request(["scratch"], None, {"scratch": {"nope": 1}})


def test_bench_threads_apply_while_methods_run_and_are_restored(tmp_path, monkeypatch):
    """`--threads 1`: torch runs one thread inside the bench (where strategies train and
    predict) and the process's own count comes back afterwards."""
    import torch

    import zoo_core.bench.runner as runner
    from zoo_core.errors import WzooError
    from zoo_core.cli import main

    seen = []

    def fake_run_bench(*args, **kwargs):
        seen.append(torch.get_num_threads())
        raise WzooError("stop here")

    monkeypatch.setattr(runner, "run_bench", fake_run_bench)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        code = main(["bench", "los", "--n", "400", "--strategies", "majority", "--threads", "1",
                     "--out", str(tmp_path / "o"), "--quiet"])
        assert code == 1 and seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
