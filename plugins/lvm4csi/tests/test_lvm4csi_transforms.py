"""CSI → image transforms against independent references (matplotlib, explicit DFT products,
the core generator's numpy helpers)."""

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from zoo_lvm4csi.colormap import jet, jet_inverse, jet_lut
from zoo_lvm4csi.dft import angular_delay, atoms, ls_gains, path_to_pixel, reconstruct
from zoo_lvm4csi.transforms import AngularDelayJet, HARImage, RealImagZero, modulus_image

from zoo_core.data.generators import geometric
from zoo_core.errors import WzooError


@pytest.fixture(autouse=True, params=["fused", "torch"])
def kernel_path(request, monkeypatch):
    """Every transform test runs on both CPU paths: the fused numba kernels (the default on
    CPU, here from the first sample) and the torch code that other devices run."""
    import zoo_lvm4csi.transforms as T

    monkeypatch.setattr(T, "FUSED_ON_CPU", request.param == "fused")
    monkeypatch.setattr(T, "NUMBA_AFTER_SAMPLES", 0)
    return request.param


def test_jet_lut_matches_matplotlib():
    ref = matplotlib.colormaps["jet"]
    assert np.abs(jet_lut().numpy() - ref(np.arange(256))[:, :3]).max() < 1 / 255
    x = torch.rand(3, 40, 50, generator=torch.Generator().manual_seed(0))
    x[0, 0, :4] = torch.tensor([0.0, 1.0, 0.5, 255 / 256])
    ours = jet(x, channel_dim=-1).numpy()
    assert np.abs(ours - ref(x.numpy())[..., :3]).max() < 1 / 255
    assert jet(x).shape == (3, 3, 40, 50)  # channel-first by default


def test_jet_inverse_reads_intensity_back():
    x = torch.rand(2, 30, 30, generator=torch.Generator().manual_seed(1))
    assert (jet_inverse(jet(x)) - x).abs().max() < 3 / 256
    # colours off the table still go to the nearest entry
    assert (jet_inverse((jet(x) + 1e-3).clamp(0, 1)) - x).abs().max() < 3 / 256


def test_dft_transform_matches_explicit_matrix_product():
    rng = np.random.default_rng(0)
    y = (rng.standard_normal((3, 8, 6)) + 1j * rng.standard_normal((3, 8, 6))).astype(np.complex64)
    f_a, f_d = geometric.dft_bases(8, 6, beta=4, gamma=2)  # the core generator's bases
    explicit = np.einsum("mk,bmn,nq->bkq", f_a, y.astype(np.complex128), f_d)
    ours = angular_delay(torch.from_numpy(y), beta=4, gamma=2).numpy()
    assert ours.shape == (3, 32, 12)
    np.testing.assert_allclose(ours, explicit, rtol=0, atol=1e-4 * np.abs(explicit).max())
    np.testing.assert_allclose(ours, geometric.angular_delay_image(y, 4, 2), atol=1e-4 * np.abs(explicit).max())


def test_atoms_are_the_steering_vectors_of_eqs_4_5():
    theta = torch.tensor([[0.1, 0.73], [0.999, 0.0]], dtype=torch.float64)
    tau = torch.tensor([[0.5, 0.25], [0.01, 0.6]], dtype=torch.float64)
    a, d = atoms(theta, tau, 16, 12)
    assert a.shape == (2, 2, 16) and d.shape == (2, 2, 12) and a.dtype == d.dtype == torch.complex64
    explicit = np.exp(-2j * np.pi * theta.numpy()[..., None] * np.arange(16))  # eq. 4, written out
    np.testing.assert_allclose(a.numpy(), explicit, atol=1e-6)
    np.testing.assert_allclose(d.numpy(), np.exp(-2j * np.pi * tau.numpy()[..., None] * np.arange(12)), atol=1e-6)
    torch.testing.assert_close(atoms(theta, tau, 16, 12, delay_conj=True)[1], d.conj())


def test_ls_gains_recover_exact_paths_and_match_lstsq():
    data = geometric.generate(4, seed=3, M=16, N=12, L=3, snr_db=200.0)
    theta = torch.from_numpy(data.extras["theta"]).double()
    delay = torch.from_numpy(data.extras["delay"]).double()
    a, d = atoms(theta, delay, 16, 12)
    h = torch.from_numpy(data.csi[:, :, 0, :, 0])
    alpha = ls_gains(h, a, d)
    np.testing.assert_allclose(alpha.numpy(), data.extras["alpha"], atol=1e-3)
    assert (reconstruct(alpha, a, d) - h).abs().max() < 1e-3
    # a second implementation: dense least squares on the vectorised atoms
    y = h + 0.3 * torch.randn_like(h)
    dense = torch.einsum("blm,bln->bmnl", a, d).reshape(4, 16 * 12, -1)
    ref = torch.linalg.lstsq(dense.to(torch.complex128), y.reshape(4, -1, 1).to(torch.complex128)).solution[..., 0]
    np.testing.assert_allclose(ls_gains(y, a, d).numpy(), ref.numpy(), atol=1e-3)


def test_angular_delay_jet_puts_a_single_path_where_eq13_says():
    data = geometric.generate(2, seed=5, M=16, N=16, L=1, snr_db=300.0)
    img = AngularDelayJet(beta=4, gamma=4)(torch.from_numpy(data.csi))
    assert img.shape == (2, 3, 64, 64) and 0 <= img.min() and img.max() <= 1
    inten = jet_inverse(img)
    for i in range(2):
        y, x = np.unravel_index(int(inten[i].argmax()), inten[i].shape)
        ew, eh = path_to_pixel(data.extras["theta"][i, 0], data.extras["delay"][i, 0], 16, 16)
        assert abs((x - ew + 32) % 64 - 32) <= 0.5 and abs((y - eh + 32) % 64 - 32) <= 0.5


def _same_up_to_lut_boundaries(a, b):
    """Batched and one-by-one FFTs may round differently in the last bit, which can move a value
    that sits on a colour-table boundary to the neighbouring entry (one step of jet)."""
    diff = (a - b).abs()
    assert diff.max() <= 5 / 255 and (diff > 1e-6).float().mean() < 1e-3


def test_transforms_are_batched_and_sample_independent():
    rng = np.random.default_rng(1)
    csi = torch.from_numpy((rng.standard_normal((5, 12, 10)) + 1j * rng.standard_normal((5, 12, 10))).astype(np.complex64))
    mod = modulus_image(csi, 2, 2)
    torch.testing.assert_close(mod, torch.cat([modulus_image(csi[i:i + 1], 2, 2) for i in range(5)]))
    t = AngularDelayJet(beta=2, gamma=2)
    _same_up_to_lut_boundaries(t(csi), torch.cat([t(csi[i:i + 1]) for i in range(5)]))
    t = RealImagZero(size=32)
    torch.testing.assert_close(t(csi), torch.cat([t(csi[i:i + 1]) for i in range(5)]))
    har = HARImage(size=64)
    amp = torch.rand(4, 50, 3, 30)
    out = har(amp)
    assert out.shape == (4, 3, 64, 64) and out.min() >= 0 and out.max() <= 1
    _same_up_to_lut_boundaries(out, torch.cat([har(amp[i:i + 1]) for i in range(4)]))
    _same_up_to_lut_boundaries(har(amp), har(amp * 4.0))  # per-sample normalisation


def test_real_imag_zero_planes_and_power():
    rng = np.random.default_rng(2)
    h = (rng.standard_normal((3, 8, 8)) + 1j * rng.standard_normal((3, 8, 8))).astype(np.complex64)
    h[1] *= 10.0
    t = RealImagZero(size=None, angular_delay=False, power_offset_db=0.0, power_scale_db=10.0)
    out = t(torch.from_numpy(h))
    assert out.shape == (3, 4, 8, 8)
    peak = np.abs(h).max(axis=(1, 2))[:, None, None]
    np.testing.assert_allclose(out[:, 0].numpy(), h.real / peak, atol=1e-6)
    np.testing.assert_allclose(out[:, 1].numpy(), h.imag / peak, atol=1e-6)
    assert torch.equal(out[:, 2], torch.zeros(3, 8, 8))
    power_db = 10 * np.log10((np.abs(h) ** 2).mean(axis=(1, 2)))
    np.testing.assert_allclose(out[:, 3, 0, 0].numpy(), power_db / 10.0, atol=1e-5)
    assert abs(float(out[1, 3, 0, 0] - out[0, 3, 0, 0]) - (power_db[1] - power_db[0]) / 10) < 1e-5
    # normalisation removes power from the image planes, the power plane keeps it
    torch.testing.assert_close(t(torch.from_numpy(h * 3))[:, :3], out[:, :3])


def test_bad_input_gets_typed_errors():
    with pytest.raises(WzooError, match="complex"):
        AngularDelayJet()(torch.rand(2, 8, 8))
    with pytest.raises(WzooError, match="shape"):
        AngularDelayJet()(torch.zeros(2, 8, dtype=torch.complex64))
    with pytest.raises(WzooError):
        HARImage(colormap="viridis")


# ---------------------------------------------------------------- the chunked, fused kernels
# Issue 14: the transforms run in chunks with reused buffers and a fused normalisation +
# colour-table index. Each check below compares with a per-sample reference written
# independently: numpy's FFT, matplotlib's jet, torch's own F.interpolate on the reference image.

def _mpl_jet(gray):
    """(H, W) in [0, 1] → (3, H, W) float32, by matplotlib."""
    return matplotlib.colormaps["jet"](gray)[..., :3].transpose(2, 0, 1).astype(np.float32)


def _torch_resize(img, size):
    """The reference resize: torch's bilinear kernel on one (C, H, W) image."""
    h, w = img.shape[-2:]
    if size is None or (h, w) == (size, size):
        return img
    aa = max(h / size, w / size) > 4 / 3
    t = torch.from_numpy(np.ascontiguousarray(img))[None]
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=aa)[0].numpy()


def _ref_angular_delay(sample, beta, gamma):
    m, n = sample.shape
    return np.fft.fft2(sample.astype(np.complex128).T, s=(gamma * n, beta * m))


def _close_up_to_lut_steps(ours, ref, atol=1e-5):
    """Equal up to rounding, except where float32 and float64 land on either side of a colour-table
    boundary: there by at most one jet step (< 5/255), on a tiny fraction of pixels."""
    diff = np.abs(np.asarray(ours) - np.asarray(ref))
    assert diff.max() <= 5 / 255
    assert (diff > atol).mean() < 2e-3


@pytest.fixture(params=[None, 1, 3 * 64 * 64 * 40])
def workspace(request, monkeypatch):
    """Default chunks, one sample per chunk, and chunks of a few samples with a remainder."""
    import zoo_lvm4csi.transforms as T

    if request.param is not None:
        monkeypatch.setattr(T, "WORKSPACE_BYTES", request.param)
    return request.param


def _csi(rng, b, m, n, dtype=np.complex64):
    return (rng.standard_normal((b, m, n)) + 1j * rng.standard_normal((b, m, n))).astype(dtype)


def test_angular_delay_jet_equals_numpy_and_matplotlib(workspace):
    rng = np.random.default_rng(3)
    y = _csi(rng, 7, 16, 12)
    ours = AngularDelayJet(beta=4, gamma=4)(torch.from_numpy(y))
    assert ours.shape == (7, 3, 48, 64) and ours.dtype == torch.float32
    for i in range(7):
        mag = np.abs(_ref_angular_delay(y[i], 4, 4))
        _close_up_to_lut_steps(ours[i].numpy(), _mpl_jet(mag / mag.max()))


def test_angular_delay_jet_resized_equals_interpolated_reference(workspace):
    rng = np.random.default_rng(4)
    y = _csi(rng, 5, 16, 16)
    for size in (48, 40, 100):  # shrink 4/3 (no antialias), shrink 1.6 (antialias), enlarge
        ours = AngularDelayJet(size=size)(torch.from_numpy(y)).numpy()
        assert ours.shape == (5, 3, size, size) and ours.min() >= 0 and ours.max() <= 1
        for i in range(5):
            mag = np.abs(_ref_angular_delay(y[i], 4, 4))
            ref = np.clip(_torch_resize(_mpl_jet(mag / mag.max()), size), 0, 1)
            _close_up_to_lut_steps(ours[i], ref)


def test_modulus_image_equals_numpy(workspace):
    rng = np.random.default_rng(5)
    y = _csi(rng, 6, 10, 14)
    ours = modulus_image(torch.from_numpy(y), 2, 3).numpy()
    for i in range(6):
        mag = np.abs(_ref_angular_delay(y[i], 2, 3))
        np.testing.assert_allclose(ours[i], mag / mag.max(), rtol=0, atol=2e-6)
    # complex128 in, float64 out
    out64 = modulus_image(torch.from_numpy(y.astype(np.complex128)), 2, 3)
    assert out64.dtype == torch.float64
    np.testing.assert_allclose(out64[0].numpy(), np.abs(_ref_angular_delay(y[0], 2, 3)) /
                               np.abs(_ref_angular_delay(y[0], 2, 3)).max(), atol=1e-12)


@pytest.mark.parametrize("size", [None, 224, 64])
def test_har_image_equals_matplotlib_then_torch_resize(workspace, size):
    rng = np.random.default_rng(6)
    x = rng.random((5, 50, 3, 30)).astype(np.float32) * 3
    x[2] = -x[2]  # amplitudes are |x|
    ours = HARImage(size=size)(torch.from_numpy(x)).numpy()
    side = (50, 90) if size is None else (size, size)
    assert ours.shape == (5, 3, *side)
    for i in range(5):
        g = np.abs(x[i]).reshape(50, -1)
        g = (g - g.min()) / (g.max() - g.min())
        _close_up_to_lut_steps(ours[i], np.clip(_torch_resize(_mpl_jet(g), size), 0, 1))
    gray = HARImage(size=size, colormap="gray")(torch.from_numpy(x)).numpy()
    g = np.abs(x[1]).reshape(50, -1)
    g = ((g - g.min()) / (g.max() - g.min())).astype(np.float32)
    np.testing.assert_allclose(gray[1], np.clip(_torch_resize(np.stack([g] * 3), size), 0, 1), atol=1e-5)


@pytest.mark.parametrize("size", [None, 24, 40])
def test_real_imag_zero_equals_numpy(workspace, size):
    rng = np.random.default_rng(7)
    h = _csi(rng, 5, 8, 6)
    h[3] *= 1e-3
    t = RealImagZero(size=size, angular_delay=True, beta=4, gamma=4, power_plane=True,
                     power_offset_db=-3.0, power_scale_db=20.0)
    out = t(torch.from_numpy(h)).numpy()
    side = (24, 32) if size is None else (size, size)
    assert out.shape == (5, 4, *side)
    for i in range(5):
        z = _ref_angular_delay(h[i], 4, 4)
        z = z / np.abs(z).max()
        planes = np.stack([z.real, z.imag, np.zeros(z.shape)]).astype(np.float32)
        np.testing.assert_allclose(out[i, :3], np.clip(_torch_resize(planes, size), -1, 1), atol=2e-6)
        power = 10 * np.log10((np.abs(h[i].astype(np.complex128)) ** 2).mean())
        np.testing.assert_allclose(out[i, 3], (power + 3.0) / 20.0, atol=1e-5)
    assert np.abs(out[:, :3]).max() <= 1


def test_resize_matches_torch_interpolate():
    from zoo_lvm4csi.transforms import resize

    img = torch.rand(2, 3, 37, 23, generator=torch.Generator().manual_seed(0))
    for size in (23, 30, 64, 16, 9):
        aa = max(37 / size, 23 / size) > 4 / 3
        ref = F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False, antialias=aa)
        torch.testing.assert_close(resize(img, size), ref, rtol=0, atol=2e-6)


def test_non_finite_csi_stays_in_its_sample():
    rng = np.random.default_rng(8)
    y = torch.from_numpy(_csi(rng, 3, 8, 8))
    bad = y.clone()
    bad[1, 2, 3] = complex(float("nan"), 0.0)
    bad[2, 0, 0] = complex(float("inf"), 0.0)
    t = AngularDelayJet()
    out = t(bad)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(out[0], t(y[:1])[0])
    har = HARImage(size=32)
    amp = torch.rand(3, 10, 2, 4)
    amp[1, 0, 0, 0] = float("nan")
    out = har(amp)
    assert torch.isfinite(out[1]).all()
    _same_up_to_lut_boundaries(out[[0, 2]], har(amp[[0, 2]]))


def test_jet_layouts_and_dtypes_match_matplotlib():
    ref = matplotlib.colormaps["jet"]
    x = torch.rand(2, 5, 7, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x[0, 0, :3] = torch.tensor([1.0, 0.0, -0.5])
    expected = ref(x.numpy())[..., :3]
    np.testing.assert_allclose(jet(x, channel_dim=-1).numpy(), expected, atol=1 / 255)
    np.testing.assert_allclose(jet(x.float(), channel_dim=2).numpy(), np.moveaxis(expected, -1, 2), atol=1 / 255)
    np.testing.assert_allclose(jet(x.float()).numpy(), np.moveaxis(expected, -1, 1), atol=1 / 255)
    assert jet(x).dtype == torch.float64 and jet(x.half()).dtype == torch.float32
