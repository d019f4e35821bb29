"""Generators checked against the formulas they implement (and an independent brute force
for the city geometry), not against their own output."""

from __future__ import annotations

import numpy as np
import pytest

from zoo_core.data.generators import city, geometric, ofdm

C = 299_792_458.0


def _same_bytes(a, b):
    assert a.csi.tobytes() == b.csi.tobytes()
    for k in a.extras:
        assert a.extras[k].tobytes() == b.extras[k].tobytes(), k
    for k in a.labels:
        assert a.labels[k].tobytes() == b.labels[k].tobytes(), k
    assert a.meta == b.meta


@pytest.mark.parametrize("make", [
    lambda s: geometric.generate(20, seed=s, M=8, N=8, L=(1, 3), snr_db=(0, 10)),
    lambda s: ofdm.generate(20, seed=s, n_rx=2, n_sc=8),
    lambda s: city.generate(40, seed=s, n_bs=2, n_ue=10, map_px=32, n_ant=8, n_sc=16),
], ids=["geometric", "ofdm", "city"])
def test_seeded(make):
    a, b, c = make(5), make(5), make(6)
    _same_bytes(a, b)
    assert a.csi.shape == c.csi.shape and not np.array_equal(a.csi, c.csi)


def test_registered_in_builtins():
    import importlib

    src = importlib.import_module("zoo_core.builtins").__file__
    text = open(src).read()
    for path in ("zoo_core.data.generators.geometric:generate", "zoo_core.data.generators.ofdm:generate",
                 "zoo_core.data.generators.city:generate"):
        assert path in text
        mod, fn = path.split(":")
        assert callable(getattr(importlib.import_module(mod), fn))


# ---------------------------------------------------------------------- geometric
def test_geometric_follows_eqs_3_to_6():
    M, N = 8, 6
    d = geometric.generate(50, seed=1, M=M, N=N, L=(2, 4), snr_db=5.0)
    assert d.csi.shape == (50, M, 1, N, 1) and d.extras["Y"].shape == d.csi.shape
    th, T, al, npth = (d.extras[k] for k in ("theta", "delay", "alpha", "n_paths"))
    assert set(np.unique(npth)) <= {2, 3, 4} and len(set(npth)) > 1
    np.testing.assert_allclose(np.sum(np.abs(al) ** 2, axis=1), 1.0, rtol=1e-5)
    for i in range(5):
        H = np.zeros((M, N), complex)
        for l in range(npth[i]):
            a = np.array([np.exp(-2j * np.pi * m * th[i, l]) for m in range(M)])
            b = np.array([np.exp(-2j * np.pi * n * T[i, l]) for n in range(N)])
            H += al[i, l] * np.outer(a, b)
        np.testing.assert_allclose(d.csi[i, :, 0, :, 0], H, atol=2e-5)
        assert np.all(al[i, npth[i]:] == 0)
    noise = (d.extras["Y"] - d.csi).ravel()
    assert abs(np.mean(np.abs(noise) ** 2) / 10 ** (-0.5) - 1) < 0.05
    assert np.all((th >= 0) & (th < 1) & (T >= 0) & (T < 1))


def test_angular_delay_image_is_the_papers_product():
    rng = np.random.default_rng(0)
    M, N, beta, gamma = 6, 5, 4, 3
    Y = rng.standard_normal((2, M, N)) + 1j * rng.standard_normal((2, M, N))
    dft = lambda n: np.exp(-2j * np.pi * np.outer(np.arange(n), np.arange(n)) / n)
    F_a, F_d = dft(beta * M)[:M], dft(gamma * N)[:N]
    want = np.einsum("mw,bmn,nh->bwh", F_a, Y, F_d)  # F_a^T Y F_d
    np.testing.assert_allclose(geometric.angular_delay_image(Y, beta, gamma), want, atol=1e-9)
    fa, fd = geometric.dft_bases(M, N, beta, gamma)
    np.testing.assert_allclose(fa, F_a, atol=1e-12)
    np.testing.assert_allclose(fd, F_d, atol=1e-12)


def _wrap(x):
    return np.abs((x + 0.5) % 1.0 - 0.5)


def test_brightest_peaks_sit_at_the_paths():
    M = N = 32
    beta = gamma = 4
    L = 3
    d = geometric.generate(400, seed=7, M=M, N=N, L=L, snr_db=100.0)
    th, T, al = d.extras["theta"], d.extras["delay"], d.extras["alpha"]
    mag = np.abs(al)
    sep_ok = np.ones(len(d), bool)
    for i in range(L):
        for j in range(i + 1, L):
            sep_ok &= (_wrap(th[:, i] - th[:, j]) > 4 / M) | (_wrap(T[:, i] - T[:, j]) > 4 / N)
    good = np.flatnonzero(sep_ok & (mag.min(1) > 0.6 * mag.max(1)))
    assert len(good) >= 20
    img = np.abs(geometric.angular_delay_image(d.csi[good, :, 0, :, 0], beta, gamma))
    # local maxima over the 8-neighbourhood (the image is periodic in both axes)
    peak = np.ones(img.shape, bool)
    for dw in (-1, 0, 1):
        for dh in (-1, 0, 1):
            if dw or dh:
                peak &= img >= np.roll(img, (dw, dh), axis=(1, 2))
    for k, i in enumerate(good):
        vals = np.where(peak[k], img[k], 0).ravel()
        top = np.argsort(vals)[::-1][:L]
        w, h = np.unravel_index(top, img[k].shape)
        # where eqs. 3-5 put the peak: Theta + w/(beta M) and T + h/(gamma N) integers
        w_true = (1 - th[i]) * beta * M
        h_true = (1 - T[i]) * gamma * N
        for l in range(L):
            dist_w = np.abs((w - w_true[l] + beta * M / 2) % (beta * M) - beta * M / 2)
            dist_h = np.abs((h - h_true[l] + gamma * N / 2) % (gamma * N) - gamma * N / 2)
            assert np.any((dist_w <= 1) & (dist_h <= 1)), (i, l)


# ---------------------------------------------------------------------- ofdm
def test_ofdm_pilot_grid():
    d = ofdm.generate(300, seed=2, n_rx=3, n_sc=12, snr_db=(-10, 20))
    assert d.csi.shape == (300, 3, 1, 12, 14)
    pil = d.shared["pilot_symbols"]
    assert list(pil) == [2, 11]
    x, y = d.extras["pilots_tx"], d.extras["pilots_rx"]
    assert x.shape == (300, 12, 2) and y.shape == (300, 3, 12, 2)
    # QPSK: (+-1 +-j)/sqrt(2)
    np.testing.assert_allclose(np.abs(x.real), 1 / np.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(np.abs(x.imag), 1 / np.sqrt(2), rtol=1e-6)
    snr = d.extras["snr_db"]
    assert snr.min() >= -10 and snr.max() <= 20 and snr.std() > 5
    np.testing.assert_allclose(d.extras["noise_var"], 10 ** (-snr / 10), rtol=1e-5)
    # noise = Y - H X at the pilots, with the per-sample variance
    w = y - d.csi[:, :, 0][..., pil] * x[:, None]
    ratio = np.mean(np.abs(w) ** 2, axis=(1, 2, 3)) / d.extras["noise_var"]
    assert abs(ratio.mean() - 1) < 0.05
    assert abs(np.mean(np.abs(d.csi) ** 2) - 1) < 0.1  # unit average channel power


def test_ofdm_channel_statistics_match_the_model():
    """Empirical covariance vs p_l, tau_l (exponential PDP) and Jakes J0, computed here."""
    p = dict(n_rx=4, n_sc=6, n_sym=14, speed_mps=300.0, delay_spread_s=200e-9, tap_spacing_s=100e-9, n_taps=6)
    d = ofdm.generate(3000, seed=3, **p)
    h = d.csi[:, :, 0].astype(np.complex128)  # (n, R, K, S)
    tau = np.arange(6) * 100e-9
    pw = np.exp(-tau / 200e-9)
    pw /= pw.sum()
    df = 30e3
    rf_want = np.array([[np.sum(pw * np.exp(-2j * np.pi * (k - j) * df * tau)) for j in range(6)] for k in range(6)])
    rf = np.einsum("nrks,nrjs->kj", h, h.conj()) / (h.shape[0] * h.shape[1] * h.shape[3])
    np.testing.assert_allclose(rf, rf_want, atol=0.05)
    fd = 300.0 * 3.5e9 / C
    tsym = (1 + 144 / 2048) / df
    thetas = (np.arange(20000) + 0.5) / 20000 * np.pi
    j0 = lambda x: np.mean(np.cos(x * np.sin(thetas)))
    rt_want = np.array([[j0(2 * np.pi * fd * (s - t) * tsym) for t in range(14)] for s in range(14)])
    rt = np.einsum("nrks,nrkt->st", h, h.conj()) / (h.shape[0] * h.shape[1] * h.shape[2])
    np.testing.assert_allclose(rt, rt_want, atol=0.05)
    assert rt_want[0, 13] < 0.9  # the test speed makes the time correlation visible


def test_ofdm_sionna_path_is_guarded():
    try:
        import sionna
    except ImportError:
        from zoo_core.data.errors import OptionalDependencyError

        with pytest.raises(OptionalDependencyError, match="wzoo\\[sionna\\]"):
            ofdm.generate(2, channel_model="sionna-umi")
    from zoo_core.data.errors import GeneratorParameterError

    with pytest.raises(GeneratorParameterError):
        ofdm.generate(2, pilot_symbols=(2, 14))
    with pytest.raises(GeneratorParameterError):
        ofdm.generate(2, no_such_option=1)


# ---------------------------------------------------------------------- city (brute force)
def _inside(pt, b, tol):
    return b[0] + tol < pt[0] < b[2] - tol and b[1] + tol < pt[1] < b[3] - tol


def _clear(p, q, blds, n=4001):
    """No building interior along p -> q, by dense sampling (independent of the slab test)."""
    t = np.linspace(0, 1, n)[:, None]
    pts = p + t * (q - p)
    for b in blds:
        if np.any((pts[:, 0] > b[0] + 1e-6) & (pts[:, 0] < b[2] - 1e-6)
                  & (pts[:, 1] > b[1] + 1e-6) & (pts[:, 1] < b[3] - 1e-6)):
            return False
    return True


def _faces(b):
    x0, y0, x1, y1 = b
    return [(0, x0, y0, y1, -1), (0, x1, y0, y1, 1), (1, y0, x0, x1, -1), (1, y1, x0, x1, 1)]


def _mirror(p, f):
    q = p.copy()
    q[f[0]] = 2 * f[1] - p[f[0]]
    return q


def _hit(src, dst, f):
    ax, c, lo, hi, _ = f
    if (src[ax] - c) * (dst[ax] - c) >= 0:
        return None
    P = src + (c - src[ax]) / (dst[ax] - src[ax]) * (dst - src)
    return P if lo - 1e-9 <= P[1 - ax] <= hi + 1e-9 else None


def _outside(p, f):
    return f[4] * (p[f[0]] - f[1]) > 0


def _brute_paths(blds, bs, ue):
    """(order, 2-D length, first interaction point) of LOS + 1st/2nd-order reflections."""
    out = []
    if _clear(bs, ue, blds):
        out.append((0, np.linalg.norm(ue - bs), ue))
    F = [f for b in blds for f in _faces(b)]
    for f in F:
        if _outside(bs, f) and _outside(ue, f):
            img = _mirror(bs, f)
            P = _hit(img, ue, f)
            if P is not None and _clear(bs, P, blds) and _clear(P, ue, blds):
                out.append((1, np.linalg.norm(ue - img), P))
    for i, f in enumerate(F):
        for j, g in enumerate(F):
            if i == j or not _outside(bs, f) or not _outside(ue, g):
                continue
            i1 = _mirror(bs, f)
            i2 = _mirror(i1, g)
            P2 = _hit(i2, ue, g)
            if P2 is None or not _outside(P2, f):
                continue
            P1 = _hit(i1, P2, f)
            if P1 is not None and _clear(bs, P1, blds) and _clear(P1, P2, blds) and _clear(P2, ue, blds):
                out.append((2, np.linalg.norm(ue - i2), P1))
    return sorted(out, key=lambda x: x[1])


@pytest.fixture(scope="module")
def small_city():
    return city.generate(60, seed=11, n_bs=2, n_ue=15, n_buildings=(4, 6), area_size_m=(80.0, 120.0),
                         n_ant=16, n_sc=32, map_px=64, keep_outage=True)


def test_city_paths_match_brute_force(small_city):
    d = small_city
    dz = 6.0 - 1.5
    checked = 0
    for i in range(0, 60, 3):
        a = d.scene_id[i]
        blds = d.shared["buildings"][a, : d.shared["n_buildings"][a]]
        bs, ue = d.bs_pos[i, :2].astype(np.float64), d.ue_pos[i, :2].astype(np.float64)
        ref = _brute_paths(blds, bs, ue)
        los_ref = _clear(bs, ue, blds)
        assert bool(d.los[i]) == los_ref, i
        assert d.labels["los"][i] == int(los_ref)
        m = d.extras["path_mask"][i]
        got_len = d.extras["path_length_m"][i][m]
        got_ord = d.extras["path_order"][i][m]
        assert len(got_len) == len(ref), (i, ref, got_len)
        want_len = np.sqrt(np.array([r[1] for r in ref]) ** 2 + dz ** 2)
        np.testing.assert_allclose(got_len, want_len, atol=2e-3)  # float32 positions
        assert list(got_ord) == [r[0] for r in ref]
        np.testing.assert_allclose(d.extras["path_delay_s"][i][m], want_len / C, rtol=1e-6)
        aod_want = [np.arctan2(r[2][1] - bs[1], r[2][0] - bs[0]) for r in ref]
        np.testing.assert_allclose(d.extras["path_aod_rad"][i][m], aod_want, atol=1e-3)
        checked += len(ref)
    assert checked > 15
    assert d.los.any() and (~d.los).any()


def test_city_geometry_exact_positions():
    """Same check with float64 positions, straight from the geometry function."""
    rng = np.random.default_rng(0)
    blds = np.array([[10, 10, 30, 25], [40, 5, 55, 40], [15, 35, 35, 50], [60, 45, 75, 60.]])
    pts = rng.uniform(0, 80, (200, 2))
    pts = np.array([p for p in pts if not any(_inside(p, b, -1.0) for b in blds)])
    bs, ue = pts[:2], pts[2:32]
    los, paths = city.area_paths(blds, bs, ue, max_order=2)
    n_ref = 0
    for b in range(2):
        for u in range(len(ue)):
            ref = _brute_paths(blds, bs[b], ue[u])
            m = paths["pair"] == b * len(ue) + u
            got = sorted(zip(paths["order"][m], paths["length2d"][m]), key=lambda x: x[1])
            assert [int(o) for o, _ in got] == [r[0] for r in ref]
            np.testing.assert_allclose([g[1] for g in got], [r[1] for r in ref], rtol=1e-9)
            assert los[b, u] == _clear(bs[b], ue[u], blds)
            n_ref += len(ref)
    assert n_ref > 20


def test_city_csi_cir_beams(small_city):
    d = small_city
    M, K = 16, 32
    lam = C / 28e9
    df = 46.08e6 / K
    assert d.csi.shape == (60, 1, M, K, 1) and d.cir.shape == (60, 1, M, K)
    # CIR is the IFFT of the CSI over subcarriers
    np.testing.assert_allclose(d.cir, np.fft.ifft(d.csi[..., 0], axis=-1), atol=1e-9)
    for i in range(0, 60, 7):
        m = d.extras["path_mask"][i]
        L = d.extras["path_length_m"][i][m]
        order = d.extras["path_order"][i][m]
        g = d.extras["path_gain"][i][m]
        # free-space amplitude and 6 dB per reflection
        np.testing.assert_allclose(np.abs(g), lam / (4 * np.pi * L) * 10 ** (-6 * order / 20), rtol=1e-4)
        H = np.zeros((M, K), complex)
        for gp, tau, phi in zip(g, d.extras["path_delay_s"][i][m], d.extras["path_aod_rad"][i][m]):
            a = np.exp(-1j * np.pi * np.arange(M) * np.cos(phi))
            b = np.exp(-2j * np.pi * np.arange(K) * df * tau)
            H += gp * np.outer(a, b)
        np.testing.assert_allclose(d.csi[i, 0, :, :, 0], H, atol=1e-4 * np.abs(H).max() + 1e-12)
    # beam label maximises the gain over the DFT codebook on the half-open grid [-1, 1)
    u = -1 + 2 * np.arange(M) / M
    W = np.exp(-1j * np.pi * np.outer(u, np.arange(M))) / np.sqrt(M)
    for i in range(60):
        h = d.csi[i, 0, :, :, 0]
        power = np.sum(np.abs(W.conj() @ h) ** 2, axis=1)
        if d.extras["n_paths"][i] == 0:
            assert d.labels["beam"][i] == -1
        else:
            assert d.labels["beam"][i] == np.argmax(power)
            np.testing.assert_allclose(d.extras["beam_power"][i], power, rtol=1e-3)
    # every beam is reachable: a path at cos(phi) = u_b selects beam b
    cb = city.dft_codebook(M, M)
    for b in range(M):
        h = city.steering(np.arccos(u[b]), M, 0.5)
        assert np.argmax(np.abs(cb.conj() @ h)) == b


def test_city_maps_positions_and_labels(small_city):
    d = small_city
    assert d.env_map.dtype == np.uint8 and d.env_map.shape[1:] == (64, 64)
    assert d.env_edges.shape == d.env_map.shape
    rng = np.random.default_rng(0)
    for a in range(d.env_map.shape[0]):
        blds = d.shared["buildings"][a, : d.shared["n_buildings"][a]]
        s = d.map_scale[a]
        np.testing.assert_allclose(s, d.shared["area_size_m"][a] / 64, rtol=1e-6)
        for r, c in rng.integers(0, 64, (40, 2)):
            centre = ((c + 0.5) * s, (r + 0.5) * s)
            occ = any(b[0] <= centre[0] < b[2] and b[1] <= centre[1] < b[3] for b in blds)
            assert d.env_map[a, r, c] == occ
            nb = [d.env_map[a, rr, cc] if 0 <= rr < 64 and 0 <= cc < 64 else 0
                  for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))]
            assert d.env_edges[a, r, c] == (occ and min(nb) == 0)
    for i in range(len(d)):
        blds = d.shared["buildings"][d.scene_id[i], : d.shared["n_buildings"][d.scene_id[i]]]
        assert not any(_inside(d.ue_pos[i], b, 0) or _inside(d.bs_pos[i], b, 0) for b in blds)
    np.testing.assert_allclose(d.bs_pos[:, 2], 6.0)
    np.testing.assert_allclose(d.ue_pos[:, 2], 1.5)
    assert "position_vector" not in d.extras  # the two-tower paper's map-pixel vector is its plugin's
    np.testing.assert_array_equal(d.labels["position"], d.ue_pos)
    assert len(set(d.scene_id)) == 2  # 2 BSs x 15 UEs = 30 pairs per area


def test_city_drops_outage_by_default():
    d = city.generate(50, seed=4, n_bs=2, n_ue=10, map_px=16, n_ant=4, n_sc=8)
    assert len(d) == 50 and d.extras["n_paths"].min() >= 1 and d.labels["beam"].min() >= 0
