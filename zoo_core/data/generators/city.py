"""City scenes: buildings, BSs and UEs, LOS, image-method paths, CSI, CIR, beams and maps.

What the two-tower (EPNN/CFENN) and CSI-CLIP methods train on, without a ray tracer:

- Areas: squares of side `area_size_m` (drawn per area) with random axis-aligned
  rectangular buildings (they may overlap; the union is the building block). Buildings are
  taller than BSs and UEs (as in WAIR-D), so propagation is 2-D in the horizontal plane.
- `n_bs` BSs and `n_ue` UEs per area, all outside buildings; every (BS, UE) pair is a sample
  (WAIR-D S1 has 5 BSs and 30 UEs per area). BS height 6 m, UE height 1.5 m.
- LOS: the BS-UE segment does not cross any building interior (segment-rectangle slab test).
- Paths by the 2-D image method: LOS, first-order and second-order specular reflections off
  building walls. A reflected path is kept only if each reflection point lies on its wall,
  hits the wall's outer face, and every segment of the path is unobstructed.
- Path gain: free-space amplitude lambda / (4 pi d) times Gamma per reflection,
  Gamma = -10^(-reflection_loss_db/20), carrier phase e^{-j 2 pi d / lambda}; d is the
  unfolded 3-D length sqrt(d_2D^2 + (h_BS - h_UE)^2), delay tau = d / c.
- CSI: BS ULA along the x axis (`n_ant` antennas, spacing `antenna_spacing_wl` wavelengths),
  single-antenna UE, downlink: csi (N, rx=1, tx=n_ant, subcarrier=n_sc, symbol=1),
  H[m, k] = sum_p g_p e^{-j 2 pi spacing m cos(phi_p)} e^{-j 2 pi k Delta_f tau_p}, with
  phi_p the azimuth of departure at the BS (from +x), Delta_f = bandwidth / n_sc and
  subcarrier k at f_c + k Delta_f (the carrier phase is in g_p).
- CIR = IFFT of the CSI over subcarriers: cir (N, 1, n_ant, n_sc) (cyclic, tap = 1/bandwidth).
- Beam: argmax_b sum_k |w_b^H h_k|^2 over an `n_beams` DFT codebook (default n_ant) with
  spatial frequencies u_b = -1 + 2b/n_beams on the half-open grid [-1, 1), so every beam is
  reachable; w_b[m] = e^{-j 2 pi spacing m u_b} / sqrt(n_ant). labels["beam"],
  extras["beam_power"] (N, n_beams).
- Maps: env_map (areas, map_px, map_px) uint8 occupancy (pixel centre inside a building) and
  env_edges (occupied pixels with a free 4-neighbour, or on the border), map_scale = area
  side / map_px metres per pixel, scene_id = area index.
- bs_pos / ue_pos / labels["position"] are raw positions in metres (area-local); a method that
  wants them in map pixels divides by map_scale itself (the two-tower plugin does).
- Pairs with no path at all (outage) are dropped and replaced by more areas unless
  keep_outage=True (then their CSI is zero and their beam label is -1).

Defaults follow the WAIR-D table of the two-tower paper: 28 GHz, 46.08 MHz, 64 subcarriers,
32-antenna ULA, BS/UE heights 6 m / 1.5 m, 5 BSs and 30 UEs per area.

Vectorised over UEs and candidate paths (one area at a time: areas differ in building count),
so 10,000 pairs take seconds.
"""

from __future__ import annotations

import numpy as np

from zoo_core.data.errors import GeneratorParameterError

SPEED_OF_LIGHT = 299_792_458.0
DEFAULTS = dict(
    n_bs=5, n_ue=30, area_size_m=(150.0, 300.0), n_buildings=(6, 14),
    building_size_m=(10.0, 40.0), bs_height_m=6.0, ue_height_m=1.5,
    carrier_hz=28e9, bandwidth_hz=46.08e6, n_sc=64, n_ant=32, antenna_spacing_wl=0.5,
    reflection_loss_db=6.0, max_order=2, map_px=128, n_beams=None, max_paths=None,
    keep_outage=False, clearance_m=0.5,
)
_SEG_EPS = 1e-7          # overlap (in segment parameter) that counts as crossing a building
_EXTENT_TOL = 1e-9       # metres of tolerance on "reflection point lies on the wall"
_CSI_CHUNK = 1024


# ---------------------------------------------------------------------- geometry
def walls_of(buildings: np.ndarray) -> dict[str, np.ndarray]:
    """The 4 faces of each (x0, y0, x1, y1) rectangle as lines n.p = off with outward n.

    Returns arrays over W = 4B walls: normal (W, 2), offset (W,), tangent (W, 2), extent
    lo/hi (W,) of the tangent coordinate t.p along the face, and building (W,).
    """
    b = np.asarray(buildings, dtype=np.float64).reshape(-1, 4)
    x0, y0, x1, y1 = b.T
    nb = len(b)
    normal = np.tile(np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]]), (nb, 1))
    tangent = np.tile(np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]), (nb, 1))
    offset = np.stack([-x0, x1, -y0, y1], axis=1).reshape(-1)
    lo = np.stack([y0, y0, x0, x0], axis=1).reshape(-1)
    hi = np.stack([y1, y1, x1, x1], axis=1).reshape(-1)
    return dict(normal=normal, offset=offset, tangent=tangent, lo=lo, hi=hi,
                building=np.repeat(np.arange(nb), 4))


def segments_blocked(p0: np.ndarray, p1: np.ndarray, buildings: np.ndarray) -> np.ndarray:
    """(S,) bool: does segment p0 -> p1 cross the open interior of any rectangle?

    Slab test on (S, B) arrays; a segment that only touches a face (a reflection point) is
    not blocked.
    """
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 2)
    p1 = np.asarray(p1, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(buildings, dtype=np.float64).reshape(-1, 4)
    out = np.zeros(len(p0), dtype=bool)
    if len(b) == 0 or len(p0) == 0:
        return out
    step = max(1, 2_000_000 // len(b))
    for s in range(0, len(p0), step):
        a, d = p0[s:s + step, None, :], (p1 - p0)[s:s + step, None, :]
        enter = np.zeros((a.shape[0], len(b)))
        leave = np.ones((a.shape[0], len(b)))
        for ax in (0, 1):
            lo, hi = b[None, :, ax], b[None, :, ax + 2]
            da, aa = d[..., ax], a[..., ax]
            flat = da == 0
            with np.errstate(divide="ignore", invalid="ignore"):
                t_lo, t_hi = (lo - aa) / da, (hi - aa) / da
            t_min = np.where(flat, np.where((aa > lo) & (aa < hi), -np.inf, np.inf), np.minimum(t_lo, t_hi))
            t_max = np.where(flat, np.where((aa > lo) & (aa < hi), np.inf, -np.inf), np.maximum(t_lo, t_hi))
            enter = np.maximum(enter, t_min)
            leave = np.minimum(leave, t_max)
        out[s:s + step] = ((leave - enter) > _SEG_EPS).any(axis=1)
    return out


def inside_any(points: np.ndarray, buildings: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(...,) bool: point inside (or within `margin` of) any rectangle. points (..., 2)."""
    p = np.asarray(points, dtype=np.float64)[..., None, :]
    b = np.asarray(buildings, dtype=np.float64)
    return ((p[..., 0] > b[..., 0] - margin) & (p[..., 0] < b[..., 2] + margin)
            & (p[..., 1] > b[..., 1] - margin) & (p[..., 1] < b[..., 3] + margin)).any(axis=-1)


def _on_extent(point, walls, idx):
    t = np.einsum("...i,...i->...", point, walls["tangent"][idx])
    return (t >= walls["lo"][idx] - _EXTENT_TOL) & (t <= walls["hi"][idx] + _EXTENT_TOL)


def area_paths(buildings: np.ndarray, bs: np.ndarray, ue: np.ndarray, max_order: int = 2):
    """All valid paths (order <= max_order) for every (BS, UE) pair of one area.

    buildings (B, 4); bs (n_bs, 2); ue (n_ue, 2) metres. Returns (los (n_bs, n_ue) bool,
    paths) with paths a dict of flat arrays: "pair" (= b * n_ue + u), "order" (0, 1, 2),
    "length2d", "aod" (azimuth of departure at the BS, rad from +x).
    """
    bs = np.asarray(bs, dtype=np.float64)
    ue = np.asarray(ue, dtype=np.float64)
    n_bs, n_ue = len(bs), len(ue)
    bsp = np.repeat(bs, n_ue, axis=0)
    uep = np.tile(ue, (n_bs, 1))
    los = ~segments_blocked(bsp, uep, buildings)
    pair_l = np.flatnonzero(los)
    # each part: (pair, order, first interaction point, destination, image source)
    parts = [(pair_l, np.zeros(len(pair_l), np.int8), uep[pair_l], uep[pair_l], bsp[pair_l])]
    if max_order >= 1 and len(buildings):
        w = walls_of(buildings)
        nrm, off = w["normal"], w["offset"]
        sb = bs @ nrm.T - off                                      # (n_bs, W) signed distances
        su = ue @ nrm.T - off                                      # (n_ue, W)
        img1 = bs[:, None, :] - 2.0 * sb[..., None] * nrm[None]    # (n_bs, W, 2)

        # first order: BS -> P (wall w) -> UE
        ib, iu, iw = np.nonzero((sb[:, None, :] > 0) & (su[None, :, :] > 0))
        src = img1[ib, iw]
        t = sb[ib, iw] / (sb[ib, iw] + su[iu, iw])
        p = src + t[:, None] * (ue[iu] - src)
        ok = _on_extent(p, w, iw)
        ib, iu, iw, p, src = ib[ok], iu[ok], iw[ok], p[ok], src[ok]
        ok = ~segments_blocked(bs[ib], p, buildings)
        ok[ok] = ~segments_blocked(p[ok], ue[iu[ok]], buildings)
        parts.append((ib[ok] * n_ue + iu[ok], np.ones(ok.sum(), np.int8), p[ok], ue[iu[ok]], src[ok]))

        if max_order >= 2:
            s12 = np.einsum("bwi,vi->bwv", img1, nrm) - off[None, None, :]    # image 1 vs wall 2
            n_w = len(off)
            cand = (sb[:, :, None] > 0) & (s12 > 0) & ~np.eye(n_w, dtype=bool)[None]
            kb, k1, k2 = np.nonzero(cand)
            i1 = img1[kb, k1]
            i2 = i1 - 2.0 * s12[kb, k1, k2][:, None] * nrm[k2]
            step = max(1, 400_000 // max(1, len(kb)))
            for u0 in range(0, n_ue, step):
                uu = np.arange(u0, min(n_ue, u0 + step))
                ci, uj = np.nonzero(su[uu][:, k2].T > 0)                      # (C, U) pairs
                iu2 = uu[uj]
                q = ue[iu2]
                t2 = s12[kb[ci], k1[ci], k2[ci]] / (s12[kb[ci], k1[ci], k2[ci]] + su[iu2, k2[ci]])
                p2 = i2[ci] + t2[:, None] * (q - i2[ci])
                ok = _on_extent(p2, w, k2[ci])
                ci, iu2, q, p2 = ci[ok], iu2[ok], q[ok], p2[ok]
                sp2 = np.einsum("ni,ni->n", p2, nrm[k1[ci]]) - off[k1[ci]]
                ok = sp2 > 0
                ci, iu2, q, p2, sp2 = ci[ok], iu2[ok], q[ok], p2[ok], sp2[ok]
                s1 = sb[kb[ci], k1[ci]]
                t1 = s1 / (s1 + sp2)
                p1 = i1[ci] + t1[:, None] * (p2 - i1[ci])
                ok = _on_extent(p1, w, k1[ci])
                ci, iu2, q, p2, p1 = ci[ok], iu2[ok], q[ok], p2[ok], p1[ok]
                b0 = bs[kb[ci]]
                ok = ~segments_blocked(b0, p1, buildings)
                ok[ok] = ~segments_blocked(p1[ok], p2[ok], buildings)
                ok[ok] = ~segments_blocked(p2[ok], q[ok], buildings)
                parts.append((kb[ci[ok]] * n_ue + iu2[ok], np.full(ok.sum(), 2, np.int8),
                              p1[ok], q[ok], i2[ci[ok]]))

    pair = np.concatenate([x[0] for x in parts])
    order = np.concatenate([x[1] for x in parts])
    first = np.concatenate([x[2] for x in parts]).reshape(-1, 2)
    dest = np.concatenate([x[3] for x in parts]).reshape(-1, 2)
    source = np.concatenate([x[4] for x in parts]).reshape(-1, 2)
    origin = bsp[pair]
    d = first - origin
    return los.reshape(n_bs, n_ue), dict(
        pair=pair.astype(np.int64), order=order,
        length2d=np.linalg.norm(dest - source, axis=1),
        aod=np.arctan2(d[:, 1], d[:, 0]),
    )


# ---------------------------------------------------------------------- layout
def _range(rng, value, size, name, integer=False):
    if np.ndim(value) == 0:
        return np.full(size, value, dtype=np.int64 if integer else np.float64)
    lo, hi = value
    if lo > hi:
        raise GeneratorParameterError(f"{name} must be (low, high) with low <= high, got {value!r}")
    return rng.integers(int(lo), int(hi) + 1, size=size) if integer else rng.uniform(lo, hi, size=size)


def _place(rng, sizes, buildings, count, margin):
    """(A, count, 2) points outside all buildings, drawn uniformly (vectorised rejection)."""
    n_areas = len(sizes)
    out = np.zeros((n_areas, count, 2))
    todo = np.arange(n_areas)
    for _ in range(100):
        cand = rng.uniform(0.0, 1.0, size=(len(todo), 4 * count, 2)) * sizes[todo, None, None]
        free = ~inside_any(cand, buildings[todo][:, None], margin)
        enough = free.sum(axis=1) >= count
        order = np.argsort(~free, axis=1, kind="stable")[:, :count]
        picked = np.take_along_axis(cand, order[..., None], axis=1)
        out[todo[enough]] = picked[enough]
        todo = todo[~enough]
        if len(todo) == 0:
            return out
    raise GeneratorParameterError("could not place BSs/UEs outside buildings: the areas are too built-up")


def _layout(rng, n_areas, p):
    sizes = _range(rng, p["area_size_m"], n_areas, "area_size_m")
    counts = _range(rng, p["n_buildings"], n_areas, "n_buildings", integer=True)
    b_max = max(1, int(counts.max()))
    wh = _range(rng, p["building_size_m"], (n_areas, b_max, 2), "building_size_m")
    wh = np.minimum(wh, 0.9 * sizes[:, None, None])
    xy = rng.uniform(0.0, 1.0, size=(n_areas, b_max, 2)) * (sizes[:, None, None] - wh)
    buildings = np.concatenate([xy, xy + wh], axis=2)
    buildings[np.arange(b_max)[None, :] >= counts[:, None]] = np.nan   # padding never hits
    bs = _place(rng, sizes, buildings, p["n_bs"], p["clearance_m"])
    ue = _place(rng, sizes, buildings, p["n_ue"], p["clearance_m"])
    return sizes, counts, buildings, bs, ue


def _rasterise(sizes, buildings, map_px):
    """Occupancy and edge images (A, map_px, map_px) uint8; row = y bin, column = x bin."""
    scale = sizes / map_px
    centres = (np.arange(map_px) + 0.5)[None, :] * scale[:, None]               # (A, px)
    b = buildings
    with np.errstate(invalid="ignore"):
        xm = (centres[:, None, :] >= b[..., 0:1]) & (centres[:, None, :] < b[..., 2:3])   # (A, B, W)
        ym = (centres[:, None, :] >= b[..., 1:2]) & (centres[:, None, :] < b[..., 3:4])   # (A, B, H)
    occ = np.matmul(ym.transpose(0, 2, 1).astype(np.float32), xm.astype(np.float32)) > 0
    pad = np.pad(occ, ((0, 0), (1, 1), (1, 1)), constant_values=False)
    interior = pad[:, :-2, 1:-1] & pad[:, 2:, 1:-1] & pad[:, 1:-1, :-2] & pad[:, 1:-1, 2:]
    edges = occ & ~interior
    return occ.astype(np.uint8), edges.astype(np.uint8), scale


# ---------------------------------------------------------------------- channels
def steering(aod: np.ndarray, n_ant: int, spacing_wl: float) -> np.ndarray:
    """ULA response along x: e^{-j 2 pi spacing m cos(phi)}; shape aod.shape + (n_ant,)."""
    phase = 2.0 * np.pi * spacing_wl * np.cos(aod)[..., None] * np.arange(n_ant)
    return np.exp(-1j * phase)


def dft_codebook(n_ant: int, n_beams: int, spacing_wl: float = 0.5) -> np.ndarray:
    """(n_beams, n_ant) beams with u_b = -1 + 2b/n_beams (half-open [-1, 1)), unit norm."""
    u = -1.0 + 2.0 * np.arange(n_beams) / n_beams
    return np.exp(-2j * np.pi * spacing_wl * u[:, None] * np.arange(n_ant)) / np.sqrt(n_ant)


def codebook_power(h: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """(N, n_beams) sum_k |w_b^H h_k|^2 for h (N, n_ant, n_sc): one flat GEMM per chunk."""
    n, m, k = h.shape
    w = np.ascontiguousarray(codebook.conj().T.astype(np.complex64))          # (M, B)
    out = np.empty((n, w.shape[1]), dtype=np.float64)
    for s in range(0, n, _CSI_CHUNK):
        e = min(s + _CSI_CHUNK, n)
        y = h[s:e].transpose(0, 2, 1).reshape(-1, m) @ w                          # (c*K, B)
        out[s:e] = (y.real ** 2 + y.imag ** 2).reshape(e - s, k, -1).sum(axis=1)
    return out


def _csi(gain, delay, aod, n_paths, p, progress):
    """(N, n_ant, n_sc) complex64 CSI from padded, delay-sorted path arrays (N, P_max).

    Pairs are processed in order of decreasing path count, one path rank at a time, so the
    pairs that have an r-th path are a prefix of that order: the work is (sum of path
    counts) x n_ant x n_sc multiply-adds, not N x P_max x n_ant x n_sc.
    """
    n = len(gain)
    n_ant, n_sc = p["n_ant"], p["n_sc"]
    df = p["bandwidth_hz"] / n_sc
    k = np.arange(n_sc)
    order = np.argsort(-n_paths, kind="stable")
    counts = n_paths[order]
    out = np.zeros((n, n_ant, n_sc), dtype=np.complex64)
    ranks = range(int(counts[0]) if n else 0)
    if progress:
        from tqdm.auto import tqdm

        ranks = tqdm(ranks, desc="city csi", unit="path rank")
    for r in ranks:
        rows = int(np.count_nonzero(counts > r))
        for s in range(0, rows, _CSI_CHUNK):
            e = min(s + _CSI_CHUNK, rows)
            idx = order[s:e]
            a = (steering(aod[idx, r], n_ant, p["antenna_spacing_wl"]) * gain[idx, r][:, None]).astype(np.complex64)
            ph = np.mod(2.0 * np.pi * df * delay[idx, r][:, None] * k, 2.0 * np.pi).astype(np.float32)
            b = np.exp(-1j * ph)
            out[idx] += a[:, :, None] * b[:, None, :]
    return out


def generate(n: int, seed: int = 0, progress: bool = False, **params):
    """Make n (BS, UE) pairs from random city areas; see the module docstring.

    Parameters (defaults in DEFAULTS): n_bs, n_ue (per area), area_size_m, n_buildings,
    building_size_m (number or (low, high)), bs_height_m, ue_height_m, carrier_hz,
    bandwidth_hz, n_sc, n_ant, antenna_spacing_wl, reflection_loss_db, max_order (0-2),
    map_px, n_beams (default n_ant), max_paths (keep the strongest; None = all),
    keep_outage, clearance_m (minimum distance of BS/UE from buildings).
    """
    from zoo_core.data.sample import WirelessData

    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise GeneratorParameterError(f"unknown city parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    p["n_beams"] = int(p["n_beams"] or p["n_ant"])
    if n <= 0 or min(p["n_bs"], p["n_ue"], p["n_sc"], p["n_ant"], p["map_px"], p["n_beams"]) <= 0:
        raise GeneratorParameterError("n, n_bs, n_ue, n_sc, n_ant, map_px and n_beams must be positive")
    if p["max_order"] not in (0, 1, 2):
        raise GeneratorParameterError(f"max_order must be 0, 1 or 2, got {p['max_order']!r}")
    rng = np.random.default_rng(seed)
    per_area = p["n_bs"] * p["n_ue"]

    layouts, results = [], []
    have, area0 = 0, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="city paths", unit="pair")
    while have < n:
        missing = n - have
        n_areas = int(np.ceil(missing / per_area * (1.0 if p["keep_outage"] else 1.15))) + (0 if p["keep_outage"] else 1)
        sizes, counts, buildings, bs, ue = _layout(rng, n_areas, p)
        layouts.append((sizes, counts, buildings, bs, ue))
        for a in range(n_areas):
            bld = buildings[a, :counts[a]]
            los, paths = area_paths(bld, bs[a], ue[a], p["max_order"])
            n_p = np.bincount(paths["pair"], minlength=per_area)
            keep = np.ones(per_area, bool) if p["keep_outage"] else n_p > 0
            results.append((area0 + a, los.reshape(-1), paths, keep))
            if bar is not None:
                bar.update(min(int(keep.sum()), n - have))
            have += int(keep.sum())
            if have >= n:
                break
        area0 += n_areas
    if bar is not None:
        bar.close()

    sizes = np.concatenate([x[0] for x in layouts])
    counts = np.concatenate([x[1] for x in layouts])
    b_max = max(x[2].shape[1] for x in layouts)
    buildings = np.concatenate([np.pad(x[2], ((0, 0), (0, b_max - x[2].shape[1]), (0, 0)),
                                       constant_values=np.nan) for x in layouts])
    bs_all = np.concatenate([x[3] for x in layouts])
    ue_all = np.concatenate([x[4] for x in layouts])
    n_used_areas = results[-1][0] + 1
    sizes, counts, buildings = sizes[:n_used_areas], counts[:n_used_areas], buildings[:n_used_areas]
    bs_all, ue_all = bs_all[:n_used_areas], ue_all[:n_used_areas]

    # ---- gather pairs (area-major, then BS, then UE) and their paths
    area_of = np.concatenate([np.full(per_area, r[0]) for r in results])
    local = np.tile(np.arange(per_area), len(results))
    los = np.concatenate([r[1] for r in results])
    keep = np.concatenate([r[3] for r in results])
    global_pair = np.full(len(keep), -1)
    global_pair[keep] = np.arange(int(keep.sum()))
    global_pair[global_pair >= n] = -1
    sel = global_pair >= 0
    area_of, local, los = area_of[sel], local[sel], los[sel]
    offsets = np.concatenate([[0], np.cumsum([per_area] * len(results))])
    pair = np.concatenate([global_pair[offsets[i] + r[2]["pair"]] for i, r in enumerate(results)])
    order = np.concatenate([r[2]["order"] for r in results])
    length2d = np.concatenate([r[2]["length2d"] for r in results])
    aod = np.concatenate([r[2]["aod"] for r in results])
    ok = pair >= 0
    pair, order, length2d, aod = pair[ok], order[ok], length2d[ok], aod[ok]

    b_idx, u_idx = local // p["n_ue"], local % p["n_ue"]
    bs_xy, ue_xy = bs_all[area_of, b_idx], ue_all[area_of, u_idx]
    dz = p["bs_height_m"] - p["ue_height_m"]
    length = np.sqrt(length2d ** 2 + dz ** 2)
    wavelength = SPEED_OF_LIGHT / p["carrier_hz"]
    gamma = -10.0 ** (-p["reflection_loss_db"] / 20.0)
    carrier_phase = np.mod(2.0 * np.pi * length / wavelength, 2.0 * np.pi)
    gain = (wavelength / (4.0 * np.pi * length)) * gamma ** order * np.exp(-1j * carrier_phase)

    # ---- padded per-pair path arrays, sorted by delay (strongest kept if max_paths)
    if p["max_paths"] is not None and len(pair):
        o = np.lexsort((-np.abs(gain), pair))
        rank = np.arange(len(o)) - np.searchsorted(pair[o], pair[o], side="left")
        o = o[rank < int(p["max_paths"])]
        pair, order, length, aod, gain = pair[o], order[o], length[o], aod[o], gain[o]
    o = np.lexsort((length, pair))
    pair, order, length, aod, gain = pair[o], order[o], length[o], aod[o], gain[o]
    n_paths = np.bincount(pair, minlength=n)
    p_max = max(1, int(n_paths.max()) if len(pair) else 1)
    rank = np.arange(len(pair)) - np.searchsorted(pair, pair, side="left")
    mask = np.zeros((n, p_max), bool)
    mask[pair, rank] = True

    def padded(values, fill, dtype):
        out = np.full((n, p_max), fill, dtype=dtype)
        out[pair, rank] = values
        return out

    path_len = padded(length, 0.0, np.float64)
    path_delay = path_len / SPEED_OF_LIGHT
    path_aod = padded(aod, 0.0, np.float64)
    path_gain = padded(gain, 0.0, np.complex128)

    h = _csi(path_gain, path_delay, path_aod, n_paths, p, progress)         # (N, M, K)
    cir = np.fft.ifft(h, axis=-1)
    cir = cir.astype(np.complex64, copy=False)
    codebook = dft_codebook(p["n_ant"], p["n_beams"], p["antenna_spacing_wl"])
    beam_power = codebook_power(h, codebook)
    beam = np.argmax(beam_power, axis=1).astype(np.int64)
    beam[n_paths == 0] = -1

    occ, edges, scale = _rasterise(sizes, buildings, p["map_px"])
    hz = np.array([p["bs_height_m"], p["ue_height_m"]])
    bs_pos = np.column_stack([bs_xy, np.full(n, hz[0])])
    ue_pos = np.column_stack([ue_xy, np.full(n, hz[1])])

    meta_params = {k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in p.items()}
    # share of generated (BS, UE) pairs with no path at all (dropped unless keep_outage)
    outage_fraction = float(np.mean(np.concatenate(
        [np.bincount(r[2]["pair"], minlength=per_area) == 0 for r in results])))
    return WirelessData(
        csi=h[:, None, :, :, None],
        cir=cir[:, None],
        bs_pos=bs_pos, ue_pos=ue_pos, los=los,
        scene_id=area_of.astype(np.int64),
        env_map=occ, env_edges=edges, map_scale=scale,
        labels={"position": ue_pos.astype(np.float32), "beam": beam, "los": los.astype(np.int64)},
        extras={
            "path_length_m": path_len,
            "path_delay_s": path_delay,
            "path_aod_rad": path_aod.astype(np.float32),
            "path_gain": path_gain.astype(np.complex64),
            "path_order": padded(order, -1, np.int8),
            "path_mask": mask,
            "n_paths": n_paths.astype(np.int64),
            "beam_power": beam_power.astype(np.float32),
            "bs_id": (area_of * p["n_bs"] + b_idx).astype(np.int64),
            "ue_id": (area_of * p["n_ue"] + u_idx).astype(np.int64),
        },
        shared={
            "codebook": codebook.astype(np.complex64),
            "buildings": buildings,
            "n_buildings": counts.astype(np.int64),
            "area_size_m": sizes,
            "subcarrier_offsets_hz": np.arange(p["n_sc"]) * p["bandwidth_hz"] / p["n_sc"],
        },
        meta={
            "generator": "city",
            "seed": int(seed),
            "params": meta_params,
            "layout": "downlink: rx = single-antenna UE, tx = BS ULA (n_ant), subcarrier, symbol = 1;"
                      " cir = ifft(csi) over subcarriers",
            "papers": ["two-tower multimodal (WAIR-D setup)", "CSI-CLIP"],
            "outage_fraction": outage_fraction,
            "units": {
                "path_length_m": "m (unfolded 3-D length)", "path_delay_s": "s",
                "path_aod_rad": "rad, azimuth of departure at the BS from +x (ULA axis)",
                "position": "m",
                "buildings": "m, (x0, y0, x1, y1) per building, NaN padding",
                "beam_power": "sum over subcarriers of |w_b^H h_k|^2",
            },
        },
    )
