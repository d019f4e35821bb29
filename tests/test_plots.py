"""Every plot writes a real PNG of a plausible size, and pyplot stays untouched."""

import struct
import sys

import numpy as np
import pytest

from zoo_core.data import plots as P


def _png_size(path):
    """Width and height from the PNG header, read by hand (independent of matplotlib)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def _check(path, min_side=200, max_side=3000):
    assert path.exists() and path.stat().st_size > 3000
    w, h = _png_size(path)
    assert min_side <= w <= max_side and min_side <= h <= max_side, (w, h)


RNG = np.random.default_rng(0)


def test_nmse_vs_snr(tmp_path):
    snr = np.arange(-10, 21, 5)
    out = P.plot_nmse_vs_snr({"LS": (snr, -snr), "model": (list(snr), -snr - 8.0)}, tmp_path / "n.png",
                             title="channel estimation")
    assert out == tmp_path / "n.png"
    _check(out)
    with pytest.raises(ValueError, match="SNR values"):
        P.plot_nmse_vs_snr({"x": ([0, 1], [1, 2, 3])}, tmp_path / "bad.png")


def test_confusion_matrix(tmp_path):
    cm = np.array([[5, 1, 0], [0, 3, 2], [0, 0, 0]])
    _check(P.plot_confusion_matrix(cm, ["walk", "run", "sit"], tmp_path / "cm.png"))
    _check(P.plot_confusion_matrix(np.eye(25, dtype=int) * 3, None, tmp_path / "big.png"))
    with pytest.raises(ValueError, match="class names"):
        P.plot_confusion_matrix(cm, ["a", "b"], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="square"):
        P.plot_confusion_matrix(np.ones((2, 3)), None, tmp_path / "bad.png")


def test_error_cdf_and_similarity(tmp_path):
    _check(P.plot_error_cdf({"a": RNG.rayleigh(3, 200), "b": RNG.rayleigh(5, 50)}, tmp_path / "c.png"))
    _check(P.plot_similarity(RNG.random((12, 12)) + 2 * np.eye(12), tmp_path / "s.png"))
    with pytest.raises(ValueError, match="NaN"):
        P.plot_error_cdf({"a": [1.0, np.nan]}, tmp_path / "bad.png")


def test_csi_grid_complex_rgb_and_list(tmp_path):
    csi = RNG.standard_normal((5, 16, 8)) + 1j * RNG.standard_normal((5, 16, 8))
    _check(P.plot_csi_grid(csi, tmp_path / "g.png", titles=[f"s{i}" for i in range(5)]))
    rgb = RNG.random((2, 24, 24, 3))
    _check(P.plot_csi_grid(rgb, tmp_path / "rgb.png"))
    _check(P.plot_csi_grid([csi[0], (rgb[0] * 255).astype(np.uint8)], tmp_path / "mix.png"))
    with pytest.raises(ValueError, match="titles"):
        P.plot_csi_grid(csi, tmp_path / "bad.png", titles=["a"])


def test_scene(tmp_path):
    grid = np.zeros((60, 90))
    grid[10:30, 20:50] = 1
    ue = RNG.random((40, 3)) * [180, 120, 1.5]
    _check(P.plot_scene(grid, [[5, 5, 6]], ue, RNG.integers(0, 2, 40), 2.0, tmp_path / "scene.png"))
    _check(P.plot_scene(grid, np.array([5, 5, 6.0]), ue, None, 2.0, tmp_path / "nolos.png"))
    with pytest.raises(ValueError, match="LOS flags"):
        P.plot_scene(grid, [[5, 5]], ue, [1, 0], 2.0, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="map_scale"):
        P.plot_scene(grid, [[5, 5]], ue, None, 0, tmp_path / "bad.png")


def test_training_curves_and_torch_input(tmp_path):
    torch = pytest.importorskip("torch")
    hist = {"train_loss": list(np.exp(-np.arange(15) / 2)), "val_loss": torch.linspace(1, 0.1, 15),
            "val_accuracy": [0.1 * i for i in range(15)]}
    _check(P.plot_training_curves(hist, tmp_path / "sub" / "t.png"))
    _check(P.plot_training_curves({"loss": [3.0, 2.0, 1.5]}, tmp_path / "one.png"))


def test_no_pyplot_import():
    # plots must not select a backend or create pyplot state for the rest of the process
    import subprocess

    code = ("import sys, numpy as np, tempfile, os; from zoo_core.data import plots;"
            "d = tempfile.mkdtemp(); plots.plot_similarity(np.eye(3), os.path.join(d, 'x.png'));"
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
