"""Channel estimation by path detection vs the core's genie LMMSE (paper Fig. 8)."""

import numpy as np
import pytest
import torch
from zoo_lvm4csi import detection
from zoo_lvm4csi.detection import Detections, Detector, PeakDetector
from zoo_lvm4csi.dft import path_to_pixel
from zoo_lvm4csi.estimation import PathDetectionEstimator, nmse_table
from zoo_lvm4csi.transforms import AngularDelayJet, modulus_image

from zoo_core.data.generators import geometric


@pytest.fixture(scope="module")
def table():
    return nmse_table(paths=(2, 4, 6, 8, 10), snrs=(0, 10), samples=50, seed=0)["rows"]


@pytest.mark.parametrize("L", [2, 4, 6, 8, 10])
def test_beats_lmmse_by_9_6_db_at_0_db_snr(table, L):
    row = next(r for r in table if r["L"] == L and r["snr_db"] == 0.0)
    assert row["lmmse_db"] - row["lvm4csi_db"] >= 9.6, row
    assert row["ls_db"] > row["lmmse_db"]  # the baselines order as in the paper


@pytest.mark.parametrize("L", [2, 4, 6, 8, 10])
def test_beats_lmmse_at_10_db_snr(table, L):
    row = next(r for r in table if r["L"] == L and r["snr_db"] == 10.0)
    assert row["lmmse_db"] - row["lvm4csi_db"] > 0.0, row
    assert row["latency_ms"] > 0


def test_peak_detector_finds_well_separated_paths_at_eq13_positions():
    data = geometric.generate(8, seed=11, L=3, snr_db=30.0)
    est = PathDetectionEstimator(PeakDetector())
    out = est(torch.from_numpy(data.extras["Y"]))
    for i in range(8):
        found = np.stack([out.theta[i][out.mask[i]].numpy(), out.delay[i][out.mask[i]].numpy()], 1)
        for th, de in zip(data.extras["theta"][i], data.extras["delay"][i]):
            dist = np.abs((found - [th, de] + 0.5) % 1.0 - 0.5).max(1)
            assert dist.min() < 1.0 / 64, (i, th, de)  # within one resolution cell 1/M


class OracleBoxes(Detector):
    """A detector that returns the true path positions: isolates the LS + eq. 13/14 path."""

    def __init__(self, data):
        self.w, self.h = path_to_pixel(data.extras["theta"], data.extras["delay"], 64, 64)

    def detect(self, images):
        out = []
        for w, h in zip(self.w, self.h):
            c = torch.from_numpy(np.stack([w, h], 1))
            out.append(Detections(torch.cat([c - 2, c + 2], 1), torch.ones(len(w))))
        return out


def test_exact_boxes_reconstruct_the_channel_exactly():
    data = geometric.generate(4, seed=2, L=5, snr_db=300.0)
    out = PathDetectionEstimator(OracleBoxes(data))(torch.from_numpy(data.extras["Y"]))
    h = data.csi[:, :, 0, :, 0]
    err = np.sum(np.abs(out.h.numpy() - h) ** 2) / np.sum(np.abs(h) ** 2)
    assert err < 1e-6
    assert out.n_paths.tolist() == [5, 5, 5, 5]


def test_intensity_goes_straight_to_the_peak_detector_and_rgb_only_to_rgb_detectors(monkeypatch):
    data = geometric.generate(3, seed=4, M=16, N=16, L=2, snr_db=20.0)
    y = torch.from_numpy(data.extras["Y"][:, :, 0, :, 0])
    seen = {}

    class Spy(PeakDetector):
        def detect(self, images):
            seen["peak"] = images
            return super().detect(images)

    class RGBOnly(Detector):  # the default: colour images only (like the transformers detector)
        def detect(self, images):
            seen["rgb"] = images
            return [Detections(torch.zeros(0, 4), torch.zeros(0)) for _ in images]

    def no_round_trip(*args, **kwargs):
        raise AssertionError("the intensity was turned into jet colours and read back")

    monkeypatch.setattr(detection, "jet_inverse", no_round_trip)
    out = PathDetectionEstimator(Spy())(y)
    torch.testing.assert_close(seen["peak"], modulus_image(y, 4, 4))  # (B, γN, βM), no colours
    assert out.n_paths.min() >= 1
    PathDetectionEstimator(RGBOnly())(y)
    assert seen["rgb"].shape == (3, 3, 64, 64)
    torch.testing.assert_close(seen["rgb"], AngularDelayJet(beta=4, gamma=4)(y))


def test_pixel_to_path_finds_single_paths_within_one_cell():
    """A single path a(Θ) b(T)ᵀ built from the core's steering vectors peaks at the pixel that
    `pixel_to_path` maps back to (Θ, T) within one image cell; Θ = 1 − w/(βM) is eq. 13."""
    import numpy as np

    from zoo_core.data.generators.geometric import steering_angle, steering_delay
    from zoo_lvm4csi.dft import angular_delay, pixel_to_path

    m, n, beta, gamma = 16, 12, 4, 4
    rng = np.random.default_rng(0)
    for theta, delay in rng.uniform(0, 1, (20, 2)):
        h = np.outer(steering_angle(theta, m), steering_delay(delay, n))
        img = angular_delay(torch.from_numpy(h.astype(np.complex64)), beta, gamma).abs().numpy()
        w, c = np.unravel_index(img.argmax(), img.shape)
        t_hat, d_hat = pixel_to_path(w, c, m, n, beta, gamma)
        wrap = lambda x: np.abs((x + 0.5) % 1.0 - 0.5)  # noqa: E731
        assert wrap(t_hat - theta) <= 1 / (beta * m) and wrap(d_hat - delay) <= 1 / (gamma * n)
        w_back, c_back = path_to_pixel(t_hat, d_hat, m, n, beta, gamma)
        assert np.isclose(w_back, w) and np.isclose(c_back, c)
    assert np.isclose(pixel_to_path(8, 0, m, n)[0], 1 - 8 / (beta * m))
