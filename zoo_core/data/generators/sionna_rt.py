"""Sionna RT ray tracing of the scenes Sionna ships, in the sample format (`wzoo[sionna-rt]`).

One BS (a ULA or UPA, Sionna `PlanarArray`) and N single-antenna UEs in one shipped scene
(`etoile`, `munich`, `florence`, `san_francisco`, `simple_street_canyon`, ...) or a Mitsuba XML
scene file; downlink: csi (N, rx=1, tx=n_ant, subcarrier, symbol=1).

- Scene, area and map. The area is a square in the scene's x-y plane (`area` = (x0, y0, x1,
  y1) in scene metres, made square around its centre; default: the bounding box of everything
  above the ground). The top-view building map is a ray cast straight down at each pixel
  centre: a pixel is a building where the first surface hit lies more than
  `building_min_height_m` above the ground (the lowest surface hit in the area; the shipped
  scenes have flat ground). env_map (1, map_px, map_px) uint8, env_edges (occupied pixels
  with a free 4-neighbour), map_scale = side / map_px, scene_id = 0.
- Positions are area-local (the map's frame: row i / column j cover y / x in [k s, (k+1) s)
  with s = map_scale); shared["origin_m"] is the scene point of local (0, 0, 0), so scene
  coordinates = local + origin. The origin, BS and UE positions lie on a 1/1024 m grid, so they
  are exact in float32 in both frames (Sionna traces in float32: a 1e-5 m shift is 1e-3 rad).
- BS: `bs_pos` in scene metres, or by default the area centre `bs_mast_m` above the surface
  there (roof or ground). Orientation (yaw, pitch, roll) in degrees, Sionna's convention: at
  zero the array lies in the y-z plane and faces +x. Array: `bs_rows` x `bs_cols` elements
  (bs_rows = 1 is a ULA along y), spacing `spacing_wl` wavelengths, pattern `pattern`,
  vertical polarisation; Sionna's element order (row-major, row 0 on top). UE: one isotropic
  antenna, `ue_height_m` above the ground.
- UEs: `ue_layout="random"` draws UEs uniformly in the area, outside buildings with
  `clearance_m` of free space around them (seeded); UEs that receive no path are dropped and
  replaced by later draws unless keep_outage=True. `ue_layout="grid"` puts UEs on a square
  grid (`grid_spacing_m`, or chosen so about n free points exist) and keeps n of its free
  points evenly spread, outage included by default.
- Solve: `PathSolver(deterministic=True)` in batches of `batch_size` receivers, every batch
  with the same solver seed, so a UE's paths do not depend on its batch.
  `max_num_paths_per_src` = batch_size x `max_paths_per_ue` (Sionna's default cap silently
  drops paths when many receivers share one solve); a batch that still fills the cap is split
  in two and solved again (a single UE doubles its cap), never silently truncated.
- CSI = Sionna's `Paths.cfr` at subcarrier offsets f_k (Sionna's `subcarrier_frequencies`:
  centred, spacing bandwidth / n_sc) with normalize_delays=False:
  H[m, k] = sum_p a_{m,p} e^{-j 2 pi (f_c + f_k) tau_p}, carrier phases included.
- CIR = Sionna's `Paths.taps(bandwidth, 0, n_taps - 1, normalize_delays=True)`: sinc-filtered
  taps at 1 / bandwidth, the first path of each link at tap 0 (so its common phase differs
  from the CSI's by e^{-j 2 pi f_c tau_0}).
- LOS: the UE has a valid path with no interaction.
- Beam: argmax_b sum_k |w_b^H h_k|^2 over a DFT codebook of the BS array, w_b[m] =
  e^{j 2 pi (y_m u + z_m v)} / sqrt(n_ant) with (y_m, z_m) the element positions in
  wavelengths (array frame) and u (v) on the half-open grid -1 + 2i / (bs_cols x os)
  (-1 + 2i / (bs_rows x os)), beam index = i_v * n_u + i_u; the sign matches Sionna's array
  phase e^{+j 2 pi r.k / lambda}. labels["beam"] (-1 for outage), extras["beam_power"].
- Path parameters (extras, (N, P) padded, valid paths first, sorted by delay, path_mask):
  path_gain (Sionna's `Paths.a` at BS element 0: no carrier phase), path_delay_s,
  path_zod/aod/zoa/aoa_rad (zenith / azimuth of departure and arrival, scene frame),
  path_interactions (N, P, max_depth) Sionna `InteractionType` codes (0 none, 1 specular,
  2 diffuse, 4 refraction, 8 diffraction), path_order, n_paths.
- Resumable: every finished batch is written atomically to a checkpoint folder
  (`checkpoint_dir`, or a folder keyed by every parameter under
  ${XDG_CACHE_HOME:-~/.cache}/wzoo/sionna-rt/, removed after a successful run); a killed run
  started again with the same arguments solves only the missing batches, with identical output.

Needs `pip install 'wzoo[sionna-rt]'` and, on CPU, LLVM 19 (`apt-get install -y libllvm19`,
`DRJIT_LIBLLVM_PATH=libLLVM.so.19.1`; this module sets the variable itself when the library
is found). Costs: about 0.1-0.5 s per UE at 1e6 samples per source and depth 3 on 2 cores.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Annotated, Literal

import numpy as np

from zoo_core.data.errors import GeneratorParameterError, OptionalDependencyError
from zoo_core.validation import Range, Size

SCENES = ("etoile", "florence", "munich", "san_francisco", "simple_street_canyon",
          "simple_street_canyon_with_cars")
SceneName = Literal["etoile", "florence", "munich", "san_francisco", "simple_street_canyon",
                    "simple_street_canyon_with_cars"]
Metres = Annotated[float, Range(0.0, 1e5)]
Point3 = tuple[float, float, float]
INSTALL_HINT = ("pip install 'wzoo[sionna-rt]'; on CPU also apt-get install -y libllvm19 and"
                " export DRJIT_LIBLLVM_PATH=libLLVM.so.19.1")
CHECKPOINT_VERSION = 1
_LLVM = "libLLVM.so.19.1"
_MAX_EMPTY_BATCHES = 20


class SionnaRTMissingError(OptionalDependencyError):
    """Sionna RT (or the LLVM it runs on) is not installed."""

    def __init__(self, detail: str = "Sionna RT is not installed"):
        Exception.__init__(self, f"{detail}: {INSTALL_HINT}")


# ---------------------------------------------------------------------- Sionna
def _set_llvm_path() -> None:
    """Point Dr.Jit at LLVM 19 when the variable is unset and the library loads."""
    if os.environ.get("DRJIT_LIBLLVM_PATH"):
        return
    import ctypes

    try:
        ctypes.CDLL(_LLVM)
    except OSError:
        return
    os.environ["DRJIT_LIBLLVM_PATH"] = _LLVM


def import_sionna_rt():
    """(sionna.rt, mitsuba, drjit), or SionnaRTMissingError with the install lines."""
    _set_llvm_path()
    try:
        import drjit as dr
        import mitsuba as mi
        import sionna.rt as rt
    except ImportError as exc:
        raise SionnaRTMissingError(f"Sionna RT is not installed ({exc})") from None
    except Exception as exc:  # Dr.Jit without a usable LLVM backend
        raise SionnaRTMissingError(f"Sionna RT failed to start ({type(exc).__name__}: {exc})") from None
    return rt, mi, dr


def _load_scene(rt, scene: str, scene_file: str | None):
    if scene_file is not None:
        if not Path(scene_file).is_file():
            raise GeneratorParameterError(f"scene_file {scene_file} does not exist: pass a Mitsuba XML scene file")
        return rt.load_scene(str(scene_file))
    if scene not in SCENES or not hasattr(rt.scene, scene):
        raise GeneratorParameterError(f"unknown Sionna scene {scene!r}; shipped scenes: {', '.join(SCENES)}")
    return rt.load_scene(getattr(rt.scene, scene))


def _surface_z(mi, mi_scene, xy: np.ndarray, z_top: float) -> np.ndarray:
    """(M,) height of the first surface below z_top straight under each (x, y); NaN where none."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(xy) == 0:
        return np.zeros(0)
    origin = mi.Point3f(xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32),
                        np.full(len(xy), z_top, np.float32))
    hit = mi_scene.ray_intersect(mi.Ray3f(origin, mi.Vector3f(0.0, 0.0, -1.0)))
    valid = np.asarray(hit.is_valid().numpy(), dtype=bool)
    return np.where(valid, z_top - np.asarray(hit.t.numpy(), dtype=np.float64), np.nan)


def _building_extent(scene, mi) -> np.ndarray:
    """(x0, y0, x1, y1) of every object that is not flat (the ground planes are flat)."""
    boxes = []
    for obj in scene.objects.values():
        b = obj.mi_mesh.bbox()
        if float(b.max.z) - float(b.min.z) > 0.5:
            boxes.append([float(b.min.x), float(b.min.y), float(b.max.x), float(b.max.y)])
    if not boxes:
        b = scene.mi_scene.bbox()
        return np.array([float(b.min.x), float(b.min.y), float(b.max.x), float(b.max.y)])
    boxes = np.array(boxes)
    return np.concatenate([boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)])


# ---------------------------------------------------------------------- the frame
_SNAP = 1024.0  # positions on a 1/1024 m grid: exact in float32 in the scene and the local frame


def _snap(x):
    return np.round(np.asarray(x, dtype=np.float64) * _SNAP) / _SNAP


class _Frame:
    """The square area, its map, the ground level and free-space queries."""

    def __init__(self, scene, mi, area, map_px, building_min_height_m):
        self.mi, self.mi_scene = mi, scene.mi_scene
        box = scene.mi_scene.bbox()
        self.z_top = float(box.max.z) + 10.0
        ext = np.asarray(area if area is not None else _building_extent(scene, mi), dtype=np.float64)
        if ext[2] <= ext[0] or ext[3] <= ext[1]:
            raise GeneratorParameterError(f"area must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0, got {list(ext)}")
        side = float(max(ext[2] - ext[0], ext[3] - ext[1]))
        centre = (ext[:2] + ext[2:]) / 2.0
        self.origin_xy = _snap(centre - side / 2.0)
        self.side, self.map_px = side, int(map_px)
        self.scale = side / self.map_px
        c = (np.arange(self.map_px) + 0.5) * self.scale
        gx, gy = np.meshgrid(self.origin_xy[0] + c, self.origin_xy[1] + c)       # row = y, column = x
        z = _surface_z(mi, self.mi_scene, np.column_stack([gx.ravel(), gy.ravel()]), self.z_top)
        if np.isnan(z).all():
            raise GeneratorParameterError("the area holds no scene geometry: pass an area inside the scene")
        self.ground_z = float(np.nanmin(z))
        self.threshold = self.ground_z + float(building_min_height_m)
        occ = (np.nan_to_num(z, nan=-np.inf) > self.threshold).reshape(self.map_px, self.map_px)
        pad = np.pad(occ, 1, constant_values=False)
        interior = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
        self.env_map = occ.astype(np.uint8)
        self.env_edges = (occ & ~interior).astype(np.uint8)

    def free(self, xy: np.ndarray, clearance: float) -> tuple[np.ndarray, np.ndarray]:
        """(M,) bool: no building at xy nor `clearance` away along x or y; (M,) ground z there."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        offsets = [(0.0, 0.0)]
        if clearance > 0:
            offsets += [(clearance, 0.0), (-clearance, 0.0), (0.0, clearance), (0.0, -clearance)]
        pts = np.concatenate([xy + np.array(o) for o in offsets])
        z = _surface_z(self.mi, self.mi_scene, pts, self.z_top).reshape(len(offsets), len(xy))
        ok = (np.nan_to_num(z, nan=np.inf) <= self.threshold).all(axis=0)
        return ok, z[0]


# ---------------------------------------------------------------------- codebook
def dft_codebook(rows: int, cols: int, spacing_wl: float, oversampling: int = 1) -> np.ndarray:
    """(n_v * n_u, rows * cols) unit-norm DFT beams of a Sionna PlanarArray (array frame)."""
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))            # element m = i * cols + j
    y = (spacing_wl * jj - (cols - 1) * spacing_wl / 2.0).ravel()
    z = (-spacing_wl * ii + (rows - 1) * spacing_wl / 2.0).ravel()
    n_u, n_v = cols * oversampling, (rows * oversampling if rows > 1 else 1)
    u = -1.0 + 2.0 * np.arange(n_u) / n_u
    v = -1.0 + 2.0 * np.arange(n_v) / n_v if rows > 1 else np.zeros(1)
    uu, vv = np.meshgrid(u, v)                                          # beam = i_v * n_u + i_u
    phase = 2.0 * np.pi * (uu.ravel()[:, None] * y[None] + vv.ravel()[:, None] * z[None])
    return np.exp(1j * phase) / np.sqrt(rows * cols)


# ---------------------------------------------------------------------- solving
class _CapRecorder:
    """Wraps the solver's candidate generator to count the candidates it stored, before the
    solver discards the invalid ones (the count reaches the cap exactly when paths were dropped)."""

    def __init__(self, inner):
        self.inner, self.count = inner, None

    def __call__(self, *args, **kwargs):
        buffer = self.inner(*args, **kwargs)
        try:
            import drjit as dr

            counter = buffer.paths_counter
            dr.eval(counter)
            self.count = int(np.asarray(counter.numpy()).max())
        except Exception:  # another Sionna version: no detection, the cap alone protects
            self.count = None
        return buffer

    def stored(self) -> int | None:
        return self.count


class _Tracer:
    """One loaded scene with its BS; solves batches of UE positions (scene metres)."""

    def __init__(self, rt, mi, scene, p, bs_xyz, solver_seed):
        self.rt, self.mi, self.scene, self.p, self.seed = rt, mi, scene, p, int(solver_seed)
        scene.frequency = float(p["carrier_hz"])
        scene.bandwidth = float(p["bandwidth_hz"])
        scene.tx_array = rt.PlanarArray(num_rows=p["bs_rows"], num_cols=p["bs_cols"],
                                        vertical_spacing=p["spacing_wl"], horizontal_spacing=p["spacing_wl"],
                                        pattern=p["pattern"], polarization="V")
        scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
        yaw, pitch, roll = np.deg2rad(np.asarray(p["bs_orientation_deg"], dtype=np.float64))
        scene.add(rt.Transmitter(name="wzoo-bs", position=mi.Point3f(*map(float, bs_xyz)),
                                 orientation=mi.Point3f(float(yaw), float(pitch), float(roll))))
        self.solver = rt.PathSolver(deterministic=True)
        self.recorder = None
        inner = getattr(self.solver, "_candidate_generator", None)
        if inner is not None:
            self.recorder = _CapRecorder(inner)
            self.solver._candidate_generator = self.recorder
        self.offsets = np.asarray(rt.subcarrier_frequencies(p["n_sc"], p["bandwidth_hz"] / p["n_sc"]).numpy(),
                                  dtype=np.float64)
        self.splits = 0

    def solve(self, ue_xyz: np.ndarray, cap_per_ue: int | None = None) -> dict:
        """Results for UEs (B, 3); splits the batch while the path cap is filled."""
        p = self.p
        cap_per_ue = int(cap_per_ue or p["max_paths_per_ue"])
        cap = cap_per_ue * len(ue_xyz)
        paths = self._paths(ue_xyz, cap)
        stored = self.recorder.stored() if self.recorder is not None else None
        if stored is not None and stored >= cap:
            self.splits += 1
            if len(ue_xyz) == 1:
                if cap_per_ue >= p["max_paths_per_ue"] * 256:
                    raise GeneratorParameterError(
                        f"one UE fills {cap} candidate paths: lower samples_per_src or max_depth")
                return self.solve(ue_xyz, cap_per_ue * 2)
            half = len(ue_xyz) // 2
            return _concat([self.solve(ue_xyz[:half], cap_per_ue), self.solve(ue_xyz[half:], cap_per_ue)])
        return self._results(paths, ue_xyz)

    def _paths(self, ue_xyz, cap):
        rt, mi, scene, p = self.rt, self.mi, self.scene, self.p
        for name in list(scene.receivers):
            scene.remove(name)
        for i, xyz in enumerate(np.asarray(ue_xyz, dtype=np.float64)):
            scene.add(rt.Receiver(name=f"wzoo-ue{i}", position=mi.Point3f(*map(float, xyz))))
        return self.solver(scene, max_depth=p["max_depth"], max_num_paths_per_src=int(cap),
                           samples_per_src=p["samples_per_src"], synthetic_array=True, los=True,
                           specular_reflection=p["specular_reflection"],
                           diffuse_reflection=p["diffuse_reflection"], refraction=p["refraction"],
                           diffraction=p["diffraction"], seed=self.seed)

    def _results(self, paths, ue_xyz) -> dict:
        p = self.p
        b = len(ue_xyz)
        m = p["bs_rows"] * p["bs_cols"]
        h = paths.cfr(frequencies=self.offsets, normalize_delays=False, out_type="numpy")
        h = np.asarray(h).reshape(b, m, len(self.offsets))          # [rx, 1, tx=1, m, time=1, k]
        taps = paths.taps(p["bandwidth_hz"], 0, p["n_taps"] - 1, normalize_delays=True, out_type="numpy")
        taps = np.asarray(taps).reshape(b, m, p["n_taps"])
        valid = np.asarray(paths.valid.numpy(), dtype=bool).reshape(b, -1)            # [rx, tx=1, P]
        n_raw = valid.shape[1]
        depth = max(1, p["max_depth"])
        out = dict(csi=h.astype(np.complex64), cir=taps.astype(np.complex64),
                   ue=np.asarray(ue_xyz, dtype=np.float64))
        if n_raw == 0:
            out.update(los=np.zeros(b, bool), n_paths=np.zeros(b, np.int64),
                       path_mask=np.zeros((b, 0), bool), path_gain=np.zeros((b, 0), np.complex64),
                       path_delay_s=np.zeros((b, 0)), path_interactions=np.zeros((b, 0, depth), np.uint8))
            for k in ("path_zod_rad", "path_aod_rad", "path_zoa_rad", "path_aoa_rad"):
                out[k] = np.zeros((b, 0), np.float32)
            return out
        a_re, a_im = paths.a
        a = (np.asarray(a_re.numpy()) + 1j * np.asarray(a_im.numpy())).reshape(b, m, n_raw)[:, 0]
        tau = np.asarray(paths.tau.numpy(), dtype=np.float64).reshape(b, n_raw)
        angles = {k: np.asarray(getattr(paths, attr).numpy(), dtype=np.float32).reshape(b, n_raw)
                  for k, attr in (("path_zod_rad", "theta_t"), ("path_aod_rad", "phi_t"),
                                  ("path_zoa_rad", "theta_r"), ("path_aoa_rad", "phi_r"))}
        inter = np.asarray(paths.interactions.numpy())
        inter = inter.reshape(inter.shape[0], b, n_raw) if inter.size else np.zeros((depth, b, n_raw))
        inter = np.moveaxis(inter, 0, -1).astype(np.uint8)                                 # (b, P, D)
        if inter.shape[-1] < depth:
            inter = np.pad(inter, ((0, 0), (0, 0), (0, depth - inter.shape[-1])))
        los = (valid & (inter == 0).all(axis=-1)).any(axis=1)
        # valid paths first, each UE's sorted by delay
        key = np.where(valid, tau, np.inf)
        order = np.argsort(key, axis=1, kind="stable")
        n_paths = valid.sum(axis=1)
        p_max = int(n_paths.max()) if b else 0
        order = order[:, :p_max]
        mask = np.take_along_axis(valid, order, axis=1)

        def take(x, fill):
            y = np.take_along_axis(x, order.reshape(order.shape + (1,) * (x.ndim - 2)), axis=1)
            return np.where(mask.reshape(mask.shape + (1,) * (x.ndim - 2)), y, fill)

        out.update(los=los, n_paths=n_paths.astype(np.int64), path_mask=mask,
                   path_gain=take(a, 0).astype(np.complex64), path_delay_s=take(tau, 0.0),
                   path_interactions=take(inter, 0).astype(np.uint8))
        for k, v in angles.items():
            out[k] = take(v, 0.0).astype(np.float32)
        return out


_PATH_KEYS = ("path_mask", "path_gain", "path_delay_s", "path_zod_rad", "path_aod_rad", "path_zoa_rad",
              "path_aoa_rad", "path_interactions")


def _concat(parts: list[dict]) -> dict:
    """Concatenate batch results along UEs, padding the path axis to the longest."""
    parts = [x for x in parts if len(x["csi"])]
    p_max = max([x["path_mask"].shape[1] for x in parts] + [0])
    out = {}
    for k in parts[0]:
        arrays = []
        for x in parts:
            v = x[k]
            if k in _PATH_KEYS and v.shape[1] < p_max:
                pad = [(0, 0)] * v.ndim
                pad[1] = (0, p_max - v.shape[1])
                v = np.pad(v, pad)
            arrays.append(v)
        out[k] = np.concatenate(arrays)
    return out


def _take(res: dict, idx) -> dict:
    return {k: v[idx] for k, v in res.items()}


# ---------------------------------------------------------------------- checkpoints
def _checkpoint_folder(checkpoint_dir: str | None, key: str) -> tuple[Path, bool]:
    if checkpoint_dir is not None:
        return Path(checkpoint_dir) / key[:20], False
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "wzoo" / "sionna-rt" / key[:20], True


def _save_batch(folder: Path, index: int, res: dict) -> None:
    from zoo_core.fileio import atomic_write

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **res)

    atomic_write(folder / f"batch_{index:06d}.npz", write)


def _load_batch(folder: Path, index: int) -> dict | None:
    path = folder / f"batch_{index:06d}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # unreadable leftovers are solved again
        return None


# ---------------------------------------------------------------------- layout
def _grid_points(frame: _Frame, n: int, spacing: float | None, clearance: float) -> tuple[np.ndarray, float]:
    side = frame.side
    if spacing is not None:
        steps = [float(spacing)]
    else:
        guess = side / np.sqrt(max(1.0, n / max(0.05, 1.0 - frame.env_map.mean())))
        steps = [guess * 0.9 ** i for i in range(40)]
    for g in steps:
        k = int(np.floor(side / g))
        if k < 1:
            continue
        c = (np.arange(k) + 0.5) * g
        gx, gy = np.meshgrid(frame.origin_xy[0] + c, frame.origin_xy[1] + c)
        xy = np.column_stack([gx.ravel(), gy.ravel()])
        ok, z = frame.free(xy, clearance)
        if ok.sum() >= n:
            pick = np.unique(np.round(np.linspace(0, ok.sum() - 1, n)).astype(np.int64))
            return np.column_stack([xy[ok][pick], z[ok][pick]]), g
    raise GeneratorParameterError(
        f"the grid has fewer than n={n} free points: lower grid_spacing_m or n, or enlarge the area")


def _random_points(frame: _Frame, rng, count: int, clearance: float) -> np.ndarray:
    out = []
    have = 0
    for _ in range(200):
        xy = frame.origin_xy + rng.uniform(0.0, frame.side, size=(4 * count, 2))
        ok, z = frame.free(xy, clearance)
        pts = np.column_stack([xy[ok], z[ok]])
        out.append(pts)
        have += len(pts)
        if have >= count:
            return np.concatenate(out)[:count]
    raise GeneratorParameterError("could not drop UEs outside buildings: the area is built up; pass another area")


# ---------------------------------------------------------------------- generate
def generate(
    n: int,
    seed: int = 0,
    progress: bool = False,
    *,
    scene: SceneName = "etoile",
    scene_file: str | None = None,
    carrier_hz: Annotated[float, Range(1e8, 1e12)] = 3.5e9,
    bandwidth_hz: Annotated[float, Range(1e3, 1e10)] = 20e6,
    n_sc: Size = 64,
    n_taps: Size = 32,
    bs_rows: Annotated[int, Range(1, 256)] = 1,
    bs_cols: Annotated[int, Range(1, 1024)] = 32,
    spacing_wl: Annotated[float, Range(0.01, 100.0)] = 0.5,
    pattern: Literal["iso", "dipole", "tr38901"] = "iso",
    bs_pos: Point3 | None = None,
    bs_mast_m: Metres = 10.0,
    bs_orientation_deg: Point3 = (0.0, 0.0, 0.0),
    ue_layout: Literal["random", "grid"] = "random",
    ue_height_m: Metres = 1.5,
    grid_spacing_m: Annotated[float, Range(0.01, 1e5)] | None = None,
    clearance_m: Metres = 1.0,
    keep_outage: bool | None = None,
    area: tuple[float, float, float, float] | None = None,
    map_px: Annotated[int, Range(8, 4096)] = 256,
    building_min_height_m: Metres = 2.0,
    beam_oversampling: Annotated[int, Range(1, 16)] = 1,
    max_depth: Annotated[int, Range(0, 10)] = 3,
    samples_per_src: Annotated[int, Range(1, 1 << 30)] = 1_000_000,
    max_paths_per_ue: Size = 4000,
    specular_reflection: bool = True,
    diffuse_reflection: bool = False,
    refraction: bool = True,
    diffraction: bool = False,
    batch_size: Annotated[int, Range(1, 100_000)] = 128,
    checkpoint_dir: str | None = None,
):
    """Ray-trace n UEs of a Sionna scene with Sionna RT; see the module docstring.

    keep_outage: keep UEs that receive no path (zero CSI, beam -1); default False for the
    random layout (they are replaced), True for the grid. checkpoint_dir: where finished
    batches are kept (default: a per-parameter folder in the user cache, removed on success).
    """
    import time

    from zoo_core.data.generators.city import codebook_power
    from zoo_core.data.sample import WirelessData

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise GeneratorParameterError(f"n must be a positive number of UEs, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GeneratorParameterError(f"seed must be a non-negative integer, got {seed!r}")
    params = dict(
        scene=scene, scene_file=scene_file, carrier_hz=float(carrier_hz), bandwidth_hz=float(bandwidth_hz),
        n_sc=int(n_sc), n_taps=int(n_taps), bs_rows=int(bs_rows), bs_cols=int(bs_cols),
        spacing_wl=float(spacing_wl), pattern=pattern,
        bs_pos=None if bs_pos is None else [float(v) for v in bs_pos], bs_mast_m=float(bs_mast_m),
        bs_orientation_deg=[float(v) for v in bs_orientation_deg], ue_layout=ue_layout,
        ue_height_m=float(ue_height_m), grid_spacing_m=None if grid_spacing_m is None else float(grid_spacing_m),
        clearance_m=float(clearance_m),
        keep_outage=bool(ue_layout == "grid") if keep_outage is None else bool(keep_outage),
        area=None if area is None else [float(v) for v in area], map_px=int(map_px),
        building_min_height_m=float(building_min_height_m), beam_oversampling=int(beam_oversampling),
        max_depth=int(max_depth), samples_per_src=int(samples_per_src), max_paths_per_ue=int(max_paths_per_ue),
        specular_reflection=bool(specular_reflection), diffuse_reflection=bool(diffuse_reflection),
        refraction=bool(refraction), diffraction=bool(diffraction), batch_size=int(batch_size),
    )
    if len(params["bs_orientation_deg"]) != 3 or (bs_pos is not None and len(params["bs_pos"]) != 3):
        raise GeneratorParameterError("bs_pos and bs_orientation_deg must be 3 numbers each")
    if area is not None and len(params["area"]) != 4:
        raise GeneratorParameterError("area must be 4 numbers (x0, y0, x1, y1) in scene metres")
    if ue_layout not in ("random", "grid"):
        raise GeneratorParameterError(f"ue_layout must be 'random' or 'grid', got {ue_layout!r}")
    if pattern not in ("iso", "dipole", "tr38901"):
        raise GeneratorParameterError(f"pattern must be 'iso', 'dipole' or 'tr38901', got {pattern!r}")
    p = params

    rt, mi, _ = import_sionna_rt()
    try:
        from importlib.metadata import version

        rt_version = version("sionna-rt")
    except Exception:
        rt_version = "unknown"
    t0 = time.perf_counter()
    sc = _load_scene(rt, scene, scene_file)
    frame = _Frame(sc, mi, p["area"], p["map_px"], p["building_min_height_m"])
    if p["bs_pos"] is not None:
        bs_xyz = np.asarray(p["bs_pos"], dtype=np.float64)
    else:
        c = frame.origin_xy + frame.side / 2.0
        z = _surface_z(mi, sc.mi_scene, c[None], frame.z_top)[0]
        bs_xyz = np.array([c[0], c[1], (frame.ground_z if np.isnan(z) else z) + p["bs_mast_m"]])
    bs_xyz = _snap(bs_xyz)
    solver_seed = int(np.random.default_rng([seed, 0x5107]).integers(0, 2 ** 31 - 1))
    tracer = _Tracer(rt, mi, sc, p, bs_xyz, solver_seed)

    key_src = json.dumps({"v": CHECKPOINT_VERSION, "sionna_rt": rt_version, "n": int(n), "seed": int(seed),
                          "params": p}, sort_keys=True)
    key = hashlib.sha256(key_src.encode()).hexdigest()
    folder, is_default = _checkpoint_folder(checkpoint_dir, key)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "params.json"
    if not manifest.is_file():
        from zoo_core.fileio import atomic_write

        atomic_write(manifest, lambda tmp: tmp.write_text(key_src))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(n), desc=f"sionna-rt {scene if scene_file is None else Path(scene_file).name}",
                   unit="UE")
    grid_used = None
    if ue_layout == "grid":
        points, grid_used = _grid_points(frame, int(n), p["grid_spacing_m"], p["clearance_m"])
        points[:, 2] += p["ue_height_m"]
    results, have, index, empty = [], 0, 0, 0
    try:
        while have < n:
            res = _load_batch(folder, index)
            if res is None:
                if ue_layout == "grid":
                    ue = points[index * p["batch_size"]:(index + 1) * p["batch_size"]]
                else:
                    rng = np.random.default_rng([int(seed), index])
                    ue = _random_points(frame, rng, p["batch_size"], p["clearance_m"])
                    ue[:, 2] += p["ue_height_m"]
                res = _solve_batch(tracer, _snap(ue))
                if not p["keep_outage"]:
                    res = _take(res, res["n_paths"] > 0)
                _save_batch(folder, index, res)
            got = len(res["csi"])
            empty = 0 if got else empty + 1
            if empty >= _MAX_EMPTY_BATCHES:
                raise GeneratorParameterError(
                    f"{empty} batches in a row gave no UE a path: move bs_pos, raise max_depth or"
                    " samples_per_src, or pass an area around the BS")
            results.append(res)
            if bar is not None:
                bar.update(min(got, int(n) - have))
            have += got
            index += 1
    finally:
        if bar is not None:
            bar.close()
    res = _take(_concat(results), slice(0, int(n)))
    seconds = time.perf_counter() - t0

    m = p["bs_rows"] * p["bs_cols"]
    h = res["csi"]                                                       # (N, M, K)
    codebook = dft_codebook(p["bs_rows"], p["bs_cols"], p["spacing_wl"], p["beam_oversampling"])
    beam_power = codebook_power(h, codebook)
    beam = np.argmax(beam_power, axis=1).astype(np.int64)
    beam[res["n_paths"] == 0] = -1
    origin = np.array([frame.origin_xy[0], frame.origin_xy[1], 0.0])
    ue_pos = res["ue"] - origin
    bs_pos_local = np.tile(bs_xyz - origin, (int(n), 1))
    los = res["los"].astype(bool)
    n_paths = res["n_paths"].astype(np.int64)
    order = (res["path_interactions"] != 0).sum(axis=-1).astype(np.int8)
    order[~res["path_mask"]] = -1
    data = WirelessData(
        csi=h.reshape(int(n), 1, m, p["n_sc"], 1),
        cir=res["cir"].reshape(int(n), 1, m, p["n_taps"]),
        bs_pos=bs_pos_local, ue_pos=ue_pos, los=los,
        scene_id=np.zeros(int(n), np.int64),
        env_map=frame.env_map[None], env_edges=frame.env_edges[None], map_scale=frame.scale,
        labels={"position": ue_pos.astype(np.float32), "beam": beam, "los": los.astype(np.int64)},
        extras={
            "path_gain": res["path_gain"].astype(np.complex64),
            "path_delay_s": res["path_delay_s"].astype(np.float64),
            "path_zod_rad": res["path_zod_rad"], "path_aod_rad": res["path_aod_rad"],
            "path_zoa_rad": res["path_zoa_rad"], "path_aoa_rad": res["path_aoa_rad"],
            "path_interactions": res["path_interactions"].astype(np.uint8),
            "path_order": order,
            "path_mask": res["path_mask"].astype(bool),
            "n_paths": n_paths,
            "beam_power": beam_power.astype(np.float32),
        },
        shared={
            "codebook": codebook.astype(np.complex64),
            "subcarrier_offsets_hz": tracer.offsets,
            "origin_m": origin,
            "bs_pos_scene_m": bs_xyz,
        },
        meta={
            "generator": "sionna-rt",
            "seed": int(seed),
            "params": p,
            "scene": scene if scene_file is None else str(Path(scene_file).name),
            "sionna_rt_version": rt_version,
            "solver_seed": solver_seed,
            "layout": "downlink: rx = single-antenna UE, tx = BS PlanarArray (bs_rows x bs_cols, Sionna"
                      " element order), subcarrier, symbol = 1; csi = Sionna Paths.cfr with carrier"
                      " phases (normalize_delays=False); cir = Sionna Paths.taps(bandwidth, 0, n_taps-1,"
                      " normalize_delays=True)",
            "frame": "positions are area-local: scene coordinates = local + shared.origin_m",
            "grid_spacing_m": grid_used,
            "ground_z_m": frame.ground_z,
            "cap_splits": int(tracer.splits),
            "seconds": round(seconds, 3),
            "units": {
                "path_delay_s": "s", "path_zod_rad": "rad, zenith of departure (scene frame)",
                "path_aod_rad": "rad, azimuth of departure (scene frame)",
                "path_zoa_rad": "rad, zenith of arrival", "path_aoa_rad": "rad, azimuth of arrival",
                "path_gain": "Sionna Paths.a at BS element 0 (no carrier phase)",
                "path_interactions": "Sionna InteractionType per bounce: 0 none, 1 specular, 2 diffuse,"
                                     " 4 refraction, 8 diffraction",
                "position": "m (area-local)", "origin_m": "m (scene frame)",
                "beam_power": "sum over subcarriers of |w_b^H h_k|^2",
            },
        },
    )
    if is_default:
        shutil.rmtree(folder, ignore_errors=True)
    return data


def _solve_batch(tracer: _Tracer, ue_xyz: np.ndarray) -> dict:
    """Solve one batch of UE positions (scene metres); a seam the tests interrupt."""
    return tracer.solve(np.asarray(ue_xyz, dtype=np.float64))
