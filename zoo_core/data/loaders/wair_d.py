"""WAIR-D (Huangfu et al. 2022; the data of the two-tower multimodal model).

Layout: `scenario_1/<env>/` with numeric environment folders, each holding

- `Info.npy`: a float array [width, height, then (bs_x, bs_y, ue_x, ue_y) per link], metres;
  links are listed BS-major (5 BS x 30 UE in scenario 1). BS / UE indices come from the
  distinct positions in order of first appearance; heights are 6 m (BS) and 1.5 m (UE).
- the per-link paths, keyed `bs{i}_ue{j}`, with delay (`taud`), departure angles (`dod`,
  (L, 2) with the azimuth in column 1, or (L,)) and power (`pow` / `power`). WAIR-D ships
  them as `Path.npy`, a *pickled* dict. wzoo never unpickles, so it reads them from
  `Path.npz` instead, the same arrays stored flat as `bs{i}_ue{j}/{field}`. If you trust
  your copy of WAIR-D, convert each environment once (see `CONVERT_HINT`).
- a top-view map image (`environment.png`, or the only image in the folder, or an
  `environment.npy` array); non-zero / bright pixels are buildings, row 0 is the northern
  (top) edge of the area.

The CSI follows the two-tower paper (Table I, eqs. 1-3): a 32-port ULA at the BS, one UE
antenna, 64 subcarriers over 46.08 MHz at 28 GHz:

    csi[n, 0, t, k, 0] = sum_l sqrt(P_l) exp(-j 2 pi f_k tau_l) exp(-j pi t cos(phi_l))
    f_k = f_c + (k - K/2) * bandwidth / K,   phi_l = departure azimuth, half-wavelength ULA

so rx has size 1, tx = BS ports, subcarrier = K, symbol = 1. Delays in seconds or
nanoseconds and angles in radians or degrees are detected from their range (override with
`delay_unit` / `angle_unit`); power is taken as dB (`power_unit="db"`, or "dbm", "linear").

Other fields: `bs_pos`, `ue_pos` (m, with the heights), `labels["position"]` = ue_pos,
`los` = the shortest path's length matches the direct BS-UE distance within
`los_tolerance_m`, `scene_id` = environment, and when every environment has a map:
`env_map` (S, map_size, map_size) uint8 occupancy, padded to a square at the far (north /
east) edges so that positions need no shift, flipped so row 0 is y = 0, nearest-neighbour
resized; `map_scale` = max(width, height) / map_size metres per pixel.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from zoo_core.data.errors import DataFormatError

from . import PICKLE_REFUSAL, existing, load_npy, shape_error

LIGHTSPEED = 299_792_458.0
CONVERT_HINT = (
    "python -c \"import numpy as np, sys; d = np.load(sys.argv[1], allow_pickle=True, encoding='latin1')"
    ".item(); np.savez(sys.argv[2], **{f'{k}/{f}': np.asarray(v) for k, p in d.items() for f, v in p.items()})\""
    " Path.npy Path.npz"
)
_DELAY_KEYS = ("taud", "delay", "tau", "toa")
_ANGLE_KEYS = ("dod", "aod")
_POWER_KEYS = ("pow", "power", "p", "gain")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def _environments(root: Path, environments) -> list[Path]:
    if (root / "Info.npy").is_file():
        return [root]
    found = sorted(p for p in root.iterdir() if p.is_dir() and (p / "Info.npy").is_file())
    if not found:
        raise DataFormatError(f"{root}: no environment folders with Info.npy (expected scenario_1/<env>/Info.npy)")
    if environments is None:
        return found
    if isinstance(environments, (int,)) and not isinstance(environments, bool):
        return found[: max(int(environments), 1)]
    if isinstance(environments, str):
        environments = [e for e in re.split(r"[,\s]+", environments.strip()) if e]
    by_name = {p.name: p for p in found}
    missing = [str(e) for e in environments if str(e) not in by_name]
    if missing:
        raise DataFormatError(f"{root}: no environment folder(s) {missing}")
    return [by_name[str(e)] for e in environments]


def _info(env: Path):
    import numpy as np

    path = env / "Info.npy"
    info = np.asarray(load_npy(path)).ravel()
    if info.dtype.kind not in "iuf" or info.size < 6 or (info.size - 2) % 4:
        raise shape_error(path, "Info", info, "a float array [width, height, (bs_x, bs_y, ue_x, ue_y) per link]")
    info = info.astype(np.float64)
    if not np.isfinite(info).all() or info[0] <= 0 or info[1] <= 0:
        raise DataFormatError(f"{path}: width/height must be positive and every value finite")
    return float(info[0]), float(info[1]), info[2:].reshape(-1, 4)


def _indices(points):
    """Index of each row among the distinct rows, in order of first appearance."""
    import numpy as np

    _, first, inverse = np.unique(points, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse.reshape(-1)]


def _paths(env: Path):
    npz = env / "Path.npz"
    if not npz.is_file():
        if (env / "Path.npy").is_file():
            raise DataFormatError(
                f"{env / 'Path.npy'}: {PICKLE_REFUSAL}. If you trust this copy of WAIR-D, convert it once "
                f"to a pickle-free Path.npz in {env}: {CONVERT_HINT}"
            )
        raise DataFormatError(f"{env}: no Path.npz (per-link paths as bs<i>_ue<j>/<field> arrays)")
    archive = load_npy(npz)
    if not hasattr(archive, "files"):
        raise DataFormatError(f"{npz}: expected an .npz archive of bs<i>_ue<j>/<field> arrays")
    return archive


def _field(archive, npz: Path, link: str, keys: tuple[str, ...]):
    import numpy as np

    for key in keys:
        name = f"{link}/{key}"
        if name in archive.files:
            try:
                arr = np.asarray(archive[name])
            except ValueError:
                raise DataFormatError(f"{npz}: {name!r}: {PICKLE_REFUSAL}") from None
            if arr.dtype.kind not in "iuf":
                raise shape_error(npz, name, arr, "real numbers")
            return arr.astype(np.float64)
    present = sorted({f.split("/", 1)[1] for f in archive.files if f.startswith(link + "/")})
    if not present:
        raise DataFormatError(f"{npz}: no arrays for link {link!r} (expected keys like '{link}/{keys[0]}')")
    raise DataFormatError(f"{npz}: link {link!r} has no field among {list(keys)}; it has {present}")


def _map(env: Path, map_size: int):
    """(map_size, map_size) uint8 occupancy, or None when the environment has no map."""
    import numpy as np

    arr = None
    npy = env / "environment.npy"
    if npy.is_file():
        arr = np.asarray(load_npy(npy), dtype=np.float64)
    else:
        images = sorted(p for p in env.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        preferred = [p for p in images if p.stem == "environment"]
        pick = preferred[0] if preferred else (images[0] if len(images) == 1 else None)
        if pick is None:
            return None
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - Pillow comes with matplotlib
            raise DataFormatError(f"{pick}: reading map images needs Pillow (pip install pillow)") from None
        try:
            with Image.open(pick) as img:
                arr = np.asarray(img.convert("L"), dtype=np.float64)
        except OSError as exc:
            raise DataFormatError(f"{pick}: not a readable image ({exc})") from None
    if arr.ndim == 3:
        arr = arr.mean(axis=-1)
    if arr.ndim != 2 or 0 in arr.shape:
        raise shape_error(env, "environment map", arr, "a 2-D image")
    occupancy = np.flipud(arr > (arr.max() / 2 if arr.max() > 0 else 0.5))
    h, w = occupancy.shape
    side = max(h, w)
    square = np.zeros((side, side), dtype=bool)
    square[:h, :w] = occupancy  # pad at the far edges: coordinates stay put
    pick_rows = np.minimum(((np.arange(map_size) + 0.5) * side / map_size).astype(int), side - 1)
    return square[np.ix_(pick_rows, pick_rows)].astype(np.uint8)


def _unit_scale(values, unit: str, name: str, auto_rule) -> float:
    units = {"s": 1.0, "ns": 1e-9, "rad": 1.0, "deg": math.pi / 180}
    if unit == "auto":
        unit = auto_rule(values)
    if unit not in units:
        raise DataFormatError(f"{name} must be 'auto' or one of {sorted(units)}, got {unit!r}")
    return units[unit]


def _amplitude(power, unit: str):
    import numpy as np

    if unit == "linear":
        return np.sqrt(np.maximum(power, 0.0))
    return np.sqrt(10.0 ** (power / 10.0) * (1e-3 if unit == "dbm" else 1.0))


def load_wair_d(
    root,
    environments=None,
    n_tx: int = 32,
    n_subcarriers: int = 64,
    carrier_ghz: float = 28.0,
    bandwidth_mhz: float = 46.08,
    bs_height: float = 6.0,
    ue_height: float = 1.5,
    delay_unit: str = "auto",
    angle_unit: str = "auto",
    power_unit: str = "db",
    los_tolerance_m: float = 0.5,
    map_size: int = 128,
):
    """Read WAIR-D environments (a scenario folder of `<env>/` folders, or one environment
    folder) into one `WirelessData` with one sample per BS-UE link. `environments`: None
    (all), an int (the first k) or a list of folder names."""
    import numpy as np

    from zoo_core.data.sample import WirelessData

    root = existing(root)
    if not root.is_dir():
        raise DataFormatError(f"{root}: WAIR-D is read from a scenario or environment folder, not a file")
    if power_unit not in ("db", "dbm", "linear"):
        raise DataFormatError(f"power_unit must be 'db', 'dbm' or 'linear', got {power_unit!r}")
    n_tx, n_subcarriers, map_size = int(n_tx), int(n_subcarriers), int(map_size)
    if min(n_tx, n_subcarriers, map_size) < 1:
        raise DataFormatError("n_tx, n_subcarriers and map_size must be positive")
    envs = _environments(root, environments)

    fc = float(carrier_ghz) * 1e9
    freqs = fc + (np.arange(n_subcarriers) - n_subcarriers / 2) * float(bandwidth_mhz) * 1e6 / n_subcarriers
    ports = np.arange(n_tx)

    csi, bs_pos, ue_pos, los, scene, maps, scales = [], [], [], [], [], [], []
    for s, env in enumerate(envs):
        width, height, links = _info(env)
        bs_idx, ue_idx = _indices(links[:, :2]), _indices(links[:, 2:])
        archive = _paths(env)
        npz = env / "Path.npz"
        with archive:
            fields = []
            for b, u in zip(bs_idx, ue_idx):
                link = f"bs{b}_ue{u}"
                delay = _field(archive, npz, link, _DELAY_KEYS).ravel()
                angle = _field(archive, npz, link, _ANGLE_KEYS)
                power = _field(archive, npz, link, _POWER_KEYS).ravel()
                azimuth = angle[:, 1] if angle.ndim == 2 and angle.shape[1] >= 2 else angle.ravel()
                if not (delay.size == azimuth.size == power.size):
                    raise DataFormatError(
                        f"{npz}: link {link!r} has {delay.size} delays, {azimuth.size} angles and "
                        f"{power.size} powers; expected one of each per path"
                    )
                fields.append((delay, azimuth, power))
        n_links = len(fields)
        n_paths = max(max(f[0].size for f in fields), 1)
        tau = np.zeros((n_links, n_paths))
        phi = np.zeros((n_links, n_paths))
        amp = np.zeros((n_links, n_paths))
        valid = np.zeros((n_links, n_paths), dtype=bool)
        for i, (d, a, p) in enumerate(fields):
            tau[i, : d.size], phi[i, : a.size], valid[i, : d.size] = d, a, True
            amp[i, : p.size] = _amplitude(p, power_unit)
        if not np.isfinite(tau).all() or not np.isfinite(phi).all() or not np.isfinite(amp).all():
            raise DataFormatError(f"{npz}: NaN or inf in delays, angles or powers")
        tau = tau * _unit_scale(tau[valid], delay_unit, "delay_unit",
                                lambda v: "ns" if v.size and np.abs(v).max() > 1e-3 else "s")
        phi = phi * _unit_scale(phi[valid], angle_unit, "angle_unit",
                                lambda v: "deg" if v.size and np.abs(v).max() > 2 * np.pi + 1e-6 else "rad")
        amp = np.where(valid, amp, 0.0)

        # (links, paths, K) * (links, paths, T) -> (links, T, K)
        delay_term = np.exp(-2j * np.pi * freqs[None, None, :] * tau[..., None]) * amp[..., None]
        steering = np.exp(-1j * np.pi * ports[None, None, :] * np.cos(phi)[..., None])
        h = np.einsum("lpk,lpt->ltk", delay_term, steering, optimize=True)
        csi.append(h[:, None, :, :, None].astype(np.complex64))

        b3 = np.column_stack([links[:, :2], np.full(n_links, float(bs_height))])
        u3 = np.column_stack([links[:, 2:], np.full(n_links, float(ue_height))])
        direct = np.linalg.norm(b3 - u3, axis=1)
        shortest = np.where(valid, tau, np.inf).min(axis=1) * LIGHTSPEED
        los.append(np.abs(shortest - direct) <= float(los_tolerance_m))
        bs_pos.append(b3)
        ue_pos.append(u3)
        scene.append(np.full(n_links, s, dtype=np.int64))
        maps.append(_map(env, map_size))
        scales.append(max(width, height) / map_size)

    have_maps = all(m is not None for m in maps)
    ue = np.concatenate(ue_pos).astype(np.float32)
    return WirelessData(
        csi=np.concatenate(csi),
        bs_pos=np.concatenate(bs_pos).astype(np.float32),
        ue_pos=ue,
        los=np.concatenate(los),
        scene_id=np.concatenate(scene),
        env_map=np.stack(maps) if have_maps else None,
        map_scale=np.asarray(scales, dtype=np.float32),
        labels={"position": ue},
        shared={"subcarrier_freqs_hz": freqs},
        meta={
            "source": "WAIR-D", "loader": "wair-d", "root": str(root),
            "environments": [e.name for e in envs],
            "params": {"n_tx": n_tx, "n_subcarriers": n_subcarriers, "carrier_ghz": float(carrier_ghz),
                       "bandwidth_mhz": float(bandwidth_mhz), "bs_height": float(bs_height),
                       "ue_height": float(ue_height), "power_unit": power_unit, "map_size": map_size},
            "maps": "present" if have_maps else "absent (some environment has no map image)",
            "axis_mapping": "csi[n, 0, bs_port, subcarrier, 0]: ULA (BS) x OFDM, single UE antenna",
        },
    )
