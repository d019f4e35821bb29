"""Generator throughput: the batched generators against a per-sample Python loop of the same
maths, run side by side in this script (machines here are noisy: read the ratios).

    .venv/bin/python benchmarks/bench_generators.py [--quick]

Prints samples/s for each pair and the time for the city generator to make 10,000
(BS, UE) pairs with 32 antennas x 64 subcarriers. Takes well under 2 minutes.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from zoo_core.data.generators import city, geometric, ofdm

C = 299_792_458.0


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------- per-sample loops
def geometric_loop(n, seed=0, M=64, N=64, L=4, snr_db=10.0):
    rng = np.random.default_rng(seed)
    out_h, out_y = [], []
    s2 = 10 ** (-snr_db / 10)
    m, k = np.arange(M), np.arange(N)
    for _ in range(n):
        theta, delay = rng.uniform(0, 1, L), rng.uniform(0, 1, L)
        g = rng.standard_normal(L) + 1j * rng.standard_normal(L)
        alpha = g / np.linalg.norm(g)
        H = np.zeros((M, N), complex)
        for l in range(L):
            H += alpha[l] * np.outer(np.exp(-2j * np.pi * m * theta[l]), np.exp(-2j * np.pi * k * delay[l]))
        W = np.sqrt(s2 / 2) * (rng.standard_normal((M, N)) + 1j * rng.standard_normal((M, N)))
        out_h.append(H.astype(np.complex64))
        out_y.append((H + W).astype(np.complex64))
    return out_h, out_y


def ofdm_loop(n, seed=0, **params):
    p = {**ofdm.DEFAULTS, **params}
    rng = np.random.default_rng(seed)
    delays, powers = ofdm.tap_profile(p["delay_spread_s"], p["tap_spacing_s"], p["n_taps"])
    _, r_t = ofdm.covariance(p)
    c_t = ofdm._psd_sqrt(r_t)
    F = np.exp(-2j * np.pi * np.arange(p["n_sc"])[:, None] * p["subcarrier_spacing_hz"] * delays) * np.sqrt(powers)
    pil = list(p["pilot_symbols"])
    out = []
    for _ in range(n):
        snr = rng.uniform(*p["snr_db"])
        s2 = 10 ** (-snr / 10)
        x = (rng.choice([-1, 1], (p["n_sc"], len(pil))) + 1j * rng.choice([-1, 1], (p["n_sc"], len(pil)))) / np.sqrt(2)
        H = np.empty((p["n_rx"], p["n_sc"], p["n_sym"]), complex)
        for r in range(p["n_rx"]):
            z = (rng.standard_normal((p["n_taps"], p["n_sym"])) + 1j * rng.standard_normal((p["n_taps"], p["n_sym"]))) / np.sqrt(2)
            H[r] = F @ (z @ c_t.T)
        W = np.sqrt(s2 / 2) * (rng.standard_normal((p["n_rx"], p["n_sc"], len(pil)))
                               + 1j * rng.standard_normal((p["n_rx"], p["n_sc"], len(pil))))
        out.append((H, H[..., pil] * x + W))
    return out


def _blocked(p, q, blds):
    for b in blds:
        t0, t1 = 0.0, 1.0
        for ax in (0, 1):
            d = q[ax] - p[ax]
            if d == 0:
                if not b[ax] < p[ax] < b[ax + 2]:
                    t0, t1 = 1.0, 0.0
                continue
            a, c = (b[ax] - p[ax]) / d, (b[ax + 2] - p[ax]) / d
            t0, t1 = max(t0, min(a, c)), min(t1, max(a, c))
        if t1 - t0 > 1e-7:
            return True
    return False


def _faces(blds):
    out = []
    for x0, y0, x1, y1 in blds:
        out += [(0, x0, y0, y1, -1), (0, x1, y0, y1, 1), (1, y0, x0, x1, -1), (1, y1, x0, x1, 1)]
    return out


def _mirror(p, f):
    q = p.copy()
    q[f[0]] = 2 * f[1] - p[f[0]]
    return q


def _hit(src, dst, f):
    ax, c, lo, hi, _ = f
    if (src[ax] - c) * (dst[ax] - c) >= 0:
        return None
    P = src + (c - src[ax]) / (dst[ax] - src[ax]) * (dst - src)
    return P if lo <= P[1 - ax] <= hi else None


def city_loop(n, seed=0, **params):
    """Per-pair loop: the same layout draw, then paths, CSI, CIR and beam one pair at a time."""
    p = {**city.DEFAULTS, **params}
    p["n_beams"] = p["n_beams"] or p["n_ant"]
    rng = np.random.default_rng(seed)
    n_areas = math.ceil(n / (p["n_bs"] * p["n_ue"]))
    _, counts, buildings, bs_all, ue_all = city._layout(rng, n_areas, p)
    lam = C / p["carrier_hz"]
    df = p["bandwidth_hz"] / p["n_sc"]
    gamma = -10 ** (-p["reflection_loss_db"] / 20)
    dz = p["bs_height_m"] - p["ue_height_m"]
    cb = city.dft_codebook(p["n_ant"], p["n_beams"])
    m, k = np.arange(p["n_ant"]), np.arange(p["n_sc"])
    out = []
    for a in range(n_areas):
        blds = buildings[a, :counts[a]]
        F = _faces(blds)
        out_side = lambda q, f: f[4] * (q[f[0]] - f[1]) > 0
        for b in range(p["n_bs"]):
            for u in range(p["n_ue"]):
                if len(out) == n:
                    return out
                bs, ue = bs_all[a, b], ue_all[a, u]
                paths = []
                if not _blocked(bs, ue, blds):
                    paths.append((0, np.linalg.norm(ue - bs), ue))
                for f in F:
                    if out_side(bs, f) and out_side(ue, f):
                        img = _mirror(bs, f)
                        P = _hit(img, ue, f)
                        if P is not None and not _blocked(bs, P, blds) and not _blocked(P, ue, blds):
                            paths.append((1, np.linalg.norm(ue - img), P))
                for f in F:
                    if not out_side(bs, f):
                        continue
                    i1 = _mirror(bs, f)
                    for g in F:
                        if g is f or not out_side(ue, g) or not out_side(i1, g):
                            continue
                        i2 = _mirror(i1, g)
                        P2 = _hit(i2, ue, g)
                        if P2 is None or not out_side(P2, f):
                            continue
                        P1 = _hit(i1, P2, f)
                        if P1 is None or _blocked(bs, P1, blds) or _blocked(P1, P2, blds) or _blocked(P2, ue, blds):
                            continue
                        paths.append((2, np.linalg.norm(ue - i2), P1))
                H = np.zeros((p["n_ant"], p["n_sc"]), complex)
                for order, l2, first in paths:
                    L = math.hypot(l2, dz)
                    gain = lam / (4 * math.pi * L) * gamma ** order * np.exp(-2j * math.pi * L / lam)
                    phi = math.atan2(first[1] - bs[1], first[0] - bs[0])
                    H += gain * np.outer(np.exp(-1j * math.pi * m * math.cos(phi)),
                                         np.exp(-2j * math.pi * k * df * L / C))
                cir = np.fft.ifft(H, axis=-1)
                beam = int(np.argmax(np.sum(np.abs(cb.conj() @ H) ** 2, axis=1)))
                out.append((H, cir, beam))
    return out


# ---------------------------------------------------------------------- main
def compare(name, vec, n_vec, loop, n_loop, repeats=3):
    # interleaved, best of `repeats`: the machine is shared and noisy
    t_vec = t_loop = float("inf")
    for _ in range(repeats):
        t_vec = min(t_vec, timed(vec, n_vec)[1])
        t_loop = min(t_loop, timed(loop, n_loop)[1])
    r_vec, r_loop = n_vec / t_vec, n_loop / t_loop
    print(f"{name:<10} batched {r_vec:10.0f} samples/s ({n_vec} in {t_vec:.2f} s) | "
          f"per-sample loop {r_loop:8.1f} samples/s ({n_loop} in {t_loop:.2f} s) | ratio {r_vec / r_loop:6.1f}x")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)
    q = 10 if args.quick else 1
    t_start = time.perf_counter()
    compare("geometric", lambda n: geometric.generate(n, seed=0), 2000 // q,
            lambda n: geometric_loop(n, seed=0), 200 // q)
    compare("ofdm", lambda n: ofdm.generate(n, seed=0), 2000 // q,
            lambda n: ofdm_loop(n, seed=0), 200 // q)
    compare("city", lambda n: city.generate(n, seed=0, keep_outage=True), 2000 // q,
            lambda n: city_loop(n, seed=0), 60 // q)
    n_city = 10_000 // q
    d, t = timed(city.generate, n_city, seed=1)
    print(f"city: {n_city} pairs ({d.n_tx} antennas x {d.n_sc} subcarriers, {d.n_scenes} areas) "
          f"in {t:.2f} s = {n_city / t:.0f} pairs/s")
    print(f"total benchmark time {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
