"""`twotower/pretrain` end to end on a tiny budget: what it writes and reports (the learning
itself is measured by the README's command, minutes long, not here)."""

import json

import numpy as np
import pytest


def test_pretrain_two_tower_variant_writes_model_figures_and_checks(tmp_path):
    from zoo_twotower.model import load
    from zoo_twotower.recipes import pretrain

    m = pretrain(tmp_path, variant="two-tower", n=400, epochs=1, fig3_pairs=20)
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    assert names == {"similarity-matrix.png", "matching-per-area.png", "embeddings-tsne.png",
                     "embeddings-umap.png", "embeddings-pca.png"}
    assert m["train_steps"] == m["train_samples"] // 64  # whole batches only, one epoch
    assert m["feedback_crnn"].startswith("fitted after")  # no CRNN in pre-training: one fitted after
    assert np.isfinite(m["feedback_nmse_db"])
    assert sum(m[f"scale_picked_{f}"] for f in (0.8, 1.0, 1.2)) == pytest.approx(1.0)
    assert m["zero_shot_scale_accuracy"] == pytest.approx(m["scale_picked_1.0"])
    for key in ("multi_user_accuracy", "zero_shot_los_accuracy", "matching_accuracy_mean_over_areas"):
        assert 0 <= m[key] <= 1
    assert m["multi_user_chance"] == pytest.approx(1 / 5)
    history = json.loads((tmp_path / "history.json").read_text())
    assert history[0]["contrastive"] > 0  # the epoch's mean, not a last batch of one pair
    model = load(str(tmp_path / "model"))
    assert "csi-feedback" in model.heads


def test_pretrain_refuses_too_few_pairs_for_a_batch(tmp_path):
    from zoo_twotower.errors import TwotowerError
    from zoo_twotower.recipes import pretrain

    with pytest.raises(TwotowerError, match="fewer than one batch"):
        pretrain(tmp_path, n=400, epochs=1, batch_size=512)
