"""The transformers zero-shot detector's wiring, on a tiny randomly initialised OWLv2."""

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("torchvision")

from zoo_lvm4csi.errors import DetectorUnavailable
from zoo_lvm4csi.estimation import PathDetectionEstimator
from zoo_lvm4csi.hf_detector import ZeroShotDetector

from zoo_core.data.generators import geometric


@pytest.fixture(scope="module")
def tiny_owlv2():
    from transformers import Owlv2Config, Owlv2ForObjectDetection
    from transformers.utils import logging

    logging.set_verbosity_error()
    torch.manual_seed(0)
    cfg = Owlv2Config(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         vocab_size=100, max_position_embeddings=16, bos_token_id=1, eos_token_id=2, pad_token_id=0),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=64, patch_size=16),
        projection_dim=32)
    return Owlv2ForObjectDetection(cfg).eval()


def test_boxes_come_back_in_image_bin_coordinates(tiny_owlv2):
    det = ZeroShotDetector(tiny_owlv2, input_ids=[1, 7, 9, 2], threshold=0.0, nms_iou=1.0, max_detections=50)
    images = torch.rand(3, 3, 64, 32)  # non-square: padded to a square like OWL's processor
    out = det(images)
    assert len(out) == 3
    with torch.no_grad():
        raw = tiny_owlv2(**det._inputs(images))
    n_queries = raw.pred_boxes.shape[1]
    for d, boxes in zip(out, raw.pred_boxes):
        assert d.boxes.shape == (n_queries, 4) and d.scores.shape == (n_queries,)
        assert (d.scores[:-1] >= d.scores[1:]).all()  # NMS keeps them sorted by score
        # centre of each box = normalised centre × padded side (64) − 0.5
        expect = boxes[:, :2] * 64 - 0.5
        got = d.centres
        assert torch.allclose(torch.sort(got[:, 0]).values, torch.sort(expect[:, 0]).values, atol=1e-4)


def test_threshold_and_estimator_integration(tiny_owlv2):
    data = geometric.generate(2, seed=0, M=16, N=16, L=2, snr_db=10.0)
    det = ZeroShotDetector(tiny_owlv2, input_ids=[1, 7, 9, 2], threshold=0.0, max_detections=4)
    est = PathDetectionEstimator(det).__call__(torch.from_numpy(data.extras["Y"]))
    assert est.h.shape == (2, 16, 16) and torch.isfinite(torch.view_as_real(est.h)).all()
    assert (est.n_paths <= 4).all() and est.latency_per_sample > 0
    none = ZeroShotDetector(tiny_owlv2, input_ids=[1, 7, 9, 2], threshold=1.01)(torch.rand(1, 3, 64, 64))
    assert len(none[0].scores) == 0


def test_unreachable_weights_say_what_to_do():
    with pytest.raises(DetectorUnavailable, match="detector=peak"):
        ZeroShotDetector.from_pretrained("wzoo-test/no-such-detector", local_files_only=True)
    with pytest.raises(DetectorUnavailable):
        ZeroShotDetector(object.__new__(type("M", (), {"eval": lambda self: self, "config": None})))


def test_revision_pins_processor_and_weights(monkeypatch):
    import transformers

    seen = []

    def fake(repo, **kwargs):
        seen.append((repo, kwargs))
        raise OSError("offline")

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", fake)
    monkeypatch.setattr(transformers.AutoModelForZeroShotObjectDetection, "from_pretrained", fake)
    with pytest.raises(DetectorUnavailable, match="@0123abcd"):
        ZeroShotDetector.from_pretrained(kind="owlv2", revision="0123abcd", local_files_only=True)
    assert seen == [("google/owlv2-base-patch16-ensemble", {"local_files_only": True, "revision": "0123abcd"})]
