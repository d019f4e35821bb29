"""The CPU kernels (numba in `spectra.py`, OpenCV in `kernels.py`) against numpy and against the
torch path.

`test_lvm4csi_transforms.py` checks both paths against numpy + matplotlib; here the two paths
are compared with each other on the inputs where they could part: non-contiguous and conjugated
views, complex128, non-finite samples, squares that overflow, resizes that OpenCV does and
antialiased ones that it leaves to torch."""

import numpy as np
import pytest
import torch
import zoo_lvm4csi.transforms as T
from zoo_lvm4csi import spectra
from zoo_lvm4csi.colormap import jet_ramps
from zoo_lvm4csi.transforms import AngularDelayJet, HARImage, RealImagZero

JET_STEP = 5 / 255  # one entry of the colour table


def both_paths(monkeypatch, transform, x):
    monkeypatch.setattr(T, "NUMBA_AFTER_SAMPLES", 0)
    monkeypatch.setattr(T, "FUSED_ON_CPU", True)
    fused = transform(x)
    monkeypatch.setattr(T, "FUSED_ON_CPU", False)
    plain = transform(x)
    monkeypatch.setattr(T, "FUSED_ON_CPU", True)
    return fused, plain


def same_colours(a, b, atol=1e-6):
    """Equal, except that float rounding may move a value on a table boundary by one entry."""
    diff = (a - b).abs()
    assert diff.max() <= JET_STEP and (diff > atol).float().mean() < 2e-3


def spectrum_levels(ri, levels):
    """The byte levels `spectra.spectrum_colours` leaves in its scratch."""
    out = np.empty((ri.shape[0], 3, levels.shape[1]), np.float32)
    scratch = spectra.scratch(levels.shape[1], ri.dtype)
    spectra.spectrum_colours(ri, jet_ramps().numpy(), *scratch, levels, out, 1e-30)


def _csi(b, m, n, seed=0, dtype=torch.complex64):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(b, m, n, generator=g), torch.randn(b, m, n, generator=g)).to(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 1000])
def test_peak_power_is_the_numpy_maximum(n, dtype):
    rng = np.random.default_rng(n)
    ri = rng.standard_normal(2 * n).astype(dtype)
    ri[:2] = -0.0  # a zero of either sign squares to +0
    power, bits = spectra.scratch(n, dtype)
    expected = (ri[0::2] * ri[0::2] + ri[1::2] * ri[1::2]).max()
    peak, finite = spectra._peak(ri, power, bits, 1e-30)
    assert peak == max(np.sqrt(expected), dtype(1e-30)) and finite  # the maximum over the unsigned bits
    for bad in (np.nan, -np.nan, np.inf, -np.inf, np.finfo(dtype).max):  # the last: its square overflows
        x = ri.copy()
        x[2 * (n // 2) + 1] = bad
        assert not spectra._peak(x, power, bits, 1e-30)[1]
        levels = np.ones((1, n), np.uint8)
        spectrum_levels(x[None], levels)
        assert not levels.any()  # the whole sample is level 0


def test_levels_are_floor_of_the_normalised_modulus_in_float32():
    """The byte levels equal numpy's float32 floor(|z| / (max |z| / 256)), capped at 255."""
    rng = np.random.default_rng(1)
    ri = rng.standard_normal((3, 2 * 999)).astype(np.float32)
    levels = np.empty((3, 999), np.uint8)
    spectrum_levels(ri, levels)
    mag = np.sqrt(ri[:, 0::2] * ri[:, 0::2] + ri[:, 1::2] * ri[:, 1::2])  # float32 throughout
    scale = mag.max(axis=1, keepdims=True) / np.float32(256)
    expected = np.minimum(np.floor(mag / scale), 255)
    assert np.array_equal(levels, expected) and levels.max() == 255


def test_ramp_colours_are_the_table_at_every_level():
    """The colours computed from jet's lines equal the colour table (built the way matplotlib
    builds it) at all 256 levels, to float32 rounding."""
    levels = np.arange(256, dtype=np.uint8)
    out = np.empty((3, 256), np.float32)
    spectra._ramp_colours(levels, jet_ramps().numpy(), out)
    table = T.channel_table().numpy()[:, :256]
    assert np.abs(out - table).max() <= 5e-7
    assert (out[:, 0] == table[:, 0]).all() and (0 <= out).all() and (out <= 1).all()


@pytest.mark.parametrize("size", [None, 56, 48, 100])  # none, shrink 8/7, shrink 4/3 (torch's), enlarge
def test_jet_paths_agree(monkeypatch, size):
    y = _csi(6, 16, 12)
    fused, plain = both_paths(monkeypatch, AngularDelayJet(size=size), y)
    if size:  # OpenCV's resize against torch's
        same_colours(fused, plain, atol=1e-4)
    else:  # the same FFT and levels; colours from jet's lines against its table
        torch.testing.assert_close(fused, plain, rtol=0, atol=5e-7)
    # a transposed (non-contiguous) view, a conjugated view and complex128 in
    for x in (y.transpose(-1, -2).contiguous().transpose(-1, -2), y.conj(), y.to(torch.complex128)):
        a, b = both_paths(monkeypatch, AngularDelayJet(), x)
        torch.testing.assert_close(a, b, rtol=0, atol=5e-7)


def test_real_imag_zero_paths_agree(monkeypatch):
    h = _csi(5, 8, 6, seed=1)
    h[2] *= 1e-20  # the squares underflow: the clipped branch
    for kw in ({"size": None}, {"size": 24}, {"size": 40}, {"size": None, "angular_delay": False},
               {"size": 20, "angular_delay": False, "power_plane": False}):
        fused, plain = both_paths(monkeypatch, RealImagZero(**kw), h)
        torch.testing.assert_close(fused, plain, rtol=0, atol=5e-5 if kw["size"] else 2e-6)
        assert fused[:, :3].abs().max() <= 1


@pytest.mark.parametrize("size", [None, 224, 40])  # none, OpenCV's resize, antialiased (torch's)
def test_har_paths_agree(monkeypatch, size):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(4, 50, 3, 30, generator=g) * 3
    for colormap in ("jet", "gray"):
        fused, plain = both_paths(monkeypatch, HARImage(size=size, colormap=colormap), x)
        same_colours(fused, plain, atol=5e-5)
    a, b = both_paths(monkeypatch, HARImage(size=size), torch.complex(x, -x))
    same_colours(a, b, atol=5e-5)


def test_non_finite_samples_are_colour_zero_alone(monkeypatch):
    y = _csi(4, 8, 8, seed=3)
    bad = y.clone()
    bad[1, 2, 3] = complex(float("nan"), 0.0)
    bad[2, 0, 0] = complex(float("inf"), 0.0)
    bad[3] *= 1e30  # finite, but |z|² overflows
    zero = T.channel_table()[:, 0]
    t = AngularDelayJet()
    fused, plain = both_paths(monkeypatch, t, bad)
    torch.testing.assert_close(fused[1:], plain[1:])
    assert torch.equal(fused[0], t(y[:1])[0])
    for i in (1, 2, 3):
        assert torch.equal(fused[i], zero[:, None, None].expand_as(fused[i]))
    amp = torch.rand(3, 10, 2, 4)
    amp[1, 0, 0, 0] = float("nan")
    har = HARImage(size=None)
    fused = har(amp)
    assert torch.equal(fused[1], zero[:, None, None].expand_as(fused[1]))
    torch.testing.assert_close(fused[[0, 2]], har(amp[[0, 2]]))


def test_resize_writes_into_the_given_output():
    src = torch.rand(2, 3, 37, 23)
    out = torch.full((2, 3, 30, 30), -1.0)
    T.resize_into(src, out, clamp=(0.0, 1.0))
    ref = torch.nn.functional.interpolate(src.double(), size=(30, 30), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, ref.float(), rtol=0, atol=2e-6)


def test_opencv_resize_stays_within_the_source_range():
    """The fused path does not clip after OpenCV's resize (`resize_into`): the result of sources
    in [0, 1] or [-1, 1] must stay there exactly, also where every tap is at the bound or one
    float step below it, and at the sizes the transforms use."""
    from zoo_lvm4csi import kernels

    rng = np.random.default_rng(4)
    below = np.nextafter(np.float32(1), np.float32(0))
    shapes = [((250, 90), 224), ((256, 256), 224), ((224, 224), 256), ((56, 56), 224), ((64, 64), 100)]
    shapes += [(tuple(rng.integers(2, 300, 2)), int(rng.integers(2, 300))) for _ in range(40)]
    for (h, w), size in shapes:
        ones = np.where(rng.random((h, w)) < 0.5, np.float32(1), below).astype(np.float32)
        planes = np.stack([ones, -ones, rng.random((h, w), dtype=np.float32), (rng.random((h, w)) < 0.5).astype(np.float32)])
        out = np.empty((1, 4, size, size), np.float32)
        kernels.resize_bilinear(planes[None], out)
        assert out.max() <= 1 and out.min() >= -1 and out[0, [0, 2, 3]].min() >= 0


def test_numba_starts_only_once_a_run_is_big_enough_to_win_its_start_back():
    """numba starts in about 0.5 s once per process. The HAR image never starts it; a small run
    of the spectrum transforms does not either; from NUMBA_AFTER_SAMPLES on they run on its
    kernels, and the images agree with the torch path's to float rounding."""
    import subprocess
    import sys

    script = """
import sys
import torch
import zoo_lvm4csi.transforms as T
T.NUMBA_AFTER_SAMPLES = 40
T.HARImage(32)(torch.rand(2, 10, 3, 4))
g = torch.Generator().manual_seed(0)
y = torch.complex(torch.randn(16, 8, 8, generator=g), torch.randn(16, 8, 8, generator=g))
jet, riz = T.AngularDelayJet(), T.RealImagZero(size=None)
torch_path = [jet(y), riz(y)]  # 32 samples: below the threshold
assert "numba" not in sys.modules, "numba started for a small run"
riz(y)  # 48 samples in all: the next call takes the numba kernels
numba_path = [jet(y), riz(y)]
assert "zoo_lvm4csi.spectra" in sys.modules
assert (numba_path[0] - torch_path[0]).abs().max() <= 5e-7 and torch.equal(numba_path[1], torch_path[1])
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_kernels_compile_where_no_cache_folder_is_writable():
    """A function numba cannot cache (here: defined in no file) is still compiled, not refused."""
    from numba import njit

    namespace = {}
    exec("def add_one(x):\n    return x + 1\n", namespace)
    with pytest.raises(RuntimeError, match="cannot cache"):
        njit(cache=True)(namespace["add_one"])
    assert spectra._jit(namespace["add_one"])(1) == 2


def test_range_levels_against_numpy():
    from zoo_lvm4csi import kernels

    rng = np.random.default_rng(2)
    x = (rng.random((2, 20, 33)) * 7 - 2).astype(np.float32)
    levels = np.empty(x.shape, np.uint8)
    kernels.range_levels(x, levels, 1e-12)
    lo, hi = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    value = (x.astype(np.float64) - lo) / (hi - lo) * 256
    expected = np.minimum(np.floor(value), 255)
    near_integer = np.abs(value - np.round(value)) < 1e-3  # float32 rounding may land either side
    assert np.array_equal(levels[~near_integer], expected[~near_integer])
    assert np.abs(levels.astype(int) - expected).max() <= 1 and levels.max() == 255
    x[1, 3, 4] = np.inf
    kernels.range_levels(x, levels, 1e-12)
    assert not levels[1].any() and levels[0].any()
