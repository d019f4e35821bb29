"""DeepMIMO v4 scenario folders (the `deepmimo` python package, 4.x) into OFDM channels.

Layout read (as `deepmimo`'s converters write it; `dm.load` reads the same)
--------------------------------------------------------------------------
`params.json` with `rt_params.frequency` (Hz), `rt_params.raytracer_name`, `scene.num_scenes`
and `txrx_sets`: `txrx_set_{id}` = {id, name, is_tx, is_rx, num_points, ...}. Next to it one
file per quantity and TX/RX pair, `{quantity}_t{tx_set:03}_tx{tx_index:03}_r{rx_set:03}.npz`
(an .npz holding one array named after the quantity; `.mat` is read too):

    power   (n_rx, P)  received path power in dB (dBW; linear power = 10^(power/10))
    phase   (n_rx, P)  path phase in degrees
    delay   (n_rx, P)  propagation delay in seconds
    aoa_az, aod_az (n_rx, P)  azimuth of arrival / departure in degrees
    aoa_el, aod_el (n_rx, P)  ZENITH angle of arrival / departure in degrees (0 = straight
                              up, 90 = horizon), despite the name
    inter   (n_rx, P)  interaction code per path, one digit per bounce read from the TX end
                       (0 = line of sight, 1 reflection, 2 diffraction, 3 scattering,
                       4 transmission; 12 = reflection then diffraction)
    rx_pos  (n_rx, 3), tx_pos (1, 3)  positions in metres
    (inter_pos (n_rx, P, max_inter, 3) is not read.)

Paths missing for a receiver are NaN-padded. A dynamic scenario (`scene.num_scenes` > 1)
keeps one such folder per snapshot in sorted sub-folders: pick one with `snapshot`.

Channel model, equal to `deepmimo` 4.0.5's `Dataset.compute_channels` with isotropic antennas,
no array rotation, no receive filter and no Doppler (tests/test_deepmimo_v4.py compares the
two within 1e-4 relative)
----------------------------------------------------------------------------------------------
Its conventions, learned from its source:

- **Paths kept: the first `max_paths` (default 25) by stored index**, not the strongest:
  `dm.load(max_paths=25)` and `compute_channels(num_paths=25)` both slice `[:, :25]`. (The
  converters store each receiver's paths strongest-first, the Sionna one among the first 25
  paths Sionna returned, so on converted scenes this is usually, not always, the strongest.)
- **Paths later than the OFDM symbol are dropped**: delay d_l = delay_l * bandwidth in
  samples; a path with d_l >= K (total subcarriers) contributes nothing.
- **Power** P_l = 10^(power_l / 10) (the dB value read as dBW), amplitude sqrt(P_l / K).
- **Arrays referenced to element 0**: the response of element m is
  exp(j 2 pi spacing (y_m sin(theta) sin(phi) + z_m cos(theta))) with element 0 at the origin
  (phase 0), not at the array centre; panel `shape` = (Ny, Nz), element m = z_m * Ny + y_m
  (y fastest), the array along y (a ULA is (N, 1)), theta the zenith angle.
- **Carrier phase**: the stored phase is used as is. Scenes converted from Sionna RT take the
  phase of Sionna's path coefficient `a`, which by design excludes each path's propagation
  (carrier) phase e^{-j 2 pi f_c tau}; DeepMIMO does not add it back, so two paths of one
  receiver keep the wrong relative phase and the channel is not the physical one.
  `carrier_phase=True` multiplies each path by e^{-j 2 pi f_c tau_l} (f_c =
  `rt_params.frequency`, or `carrier_freq_hz`); the default (False) equals DeepMIMO.

    H[r, t, k] = sum_l a_ue[r](aoa_l) a_bs[t](aod_l) sqrt(P_l / K)
                 exp(j (phase_l - 2 pi k d_l / K)) [exp(-j 2 pi f_c tau_l)]

for subcarriers k in `selected_subcarriers` (default all K) over `bandwidth_hz` (Hz, as v4
takes it; v3 took GHz).

Into `WirelessData`: csi[n, r, t, k, 0] = H (r: UE antenna, t: BS antenna; downlink, BS = the
TX set), `ue_pos` = labels["position"] = rx_pos, `bs_pos` = tx_pos, `los` = one of the kept
paths has no interaction (code 0), labels["los"] = the same as 0/1, extras["los_status"] =
DeepMIMO's own `los` (-1 no path, 1 when the FIRST kept path is line of sight, else 0),
extras["n_paths"], extras["user_id"] (row in the RX set). When the BS array is a ULA
(bs_shape (N, 1) or (1, N)), labels["beam"] = argmax_b sum_{r,k} |w_b^H h_{r,k}|^2 over an
`n_beams` DFT codebook (default N; the city generator's codebook, kept in
shared["codebook"]), extras["beam_power"]; -1 for users with no path. Receivers with no
path are dropped unless `keep_no_path=True`.

A DeepMIMO v3 folder given here raises `DeepMIMOVersionError` (one line naming both formats
and the command to use).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from zoo_core.data.errors import DataFormatError

from . import existing, load_mat_v5, load_npy, shape_error
from .deepmimo import _array_response, _antenna_indices, _select, _shape, looks_like_v3, v3_not_v4

QUANTITIES = ("power", "phase", "delay", "aoa_az", "aoa_el", "aod_az", "aod_el")
OPTIONAL = ("inter",)
POSITIONS = ("rx_pos", "tx_pos")
MAX_PATHS = 25  # deepmimo.consts.MAX_PATHS


# ---------------------------------------------------------------------- entry point
def load_deepmimo_v4(
    path,
    tx_set: int | None = None,
    tx_index: int = 0,
    rx_set: int | None = None,
    snapshot: int | None = None,
    users=None,
    max_paths: int = MAX_PATHS,
    bs_shape=(32, 1),
    ue_shape=(1, 1),
    spacing: float = 0.5,
    n_subcarriers: int = 32,
    selected_subcarriers=None,
    bandwidth_hz: float = 50e6,
    carrier_phase: bool = False,
    carrier_freq_hz: float | None = None,
    n_beams: int | None = None,
    keep_no_path: bool = False,
    chunk: int = 512,
):
    """Read a DeepMIMO v4 scenario folder and build OFDM channels as DeepMIMO v4 does.

    `tx_set`/`rx_set`: TX/RX set ids (default: the first TX set, the first RX-only set);
    `tx_index`: the transmitter inside the TX set; `users`: None (all), an int (the first k)
    or a list of receiver rows. See the module docstring for the model and the labels."""
    import numpy as np

    folder = existing(path)
    if folder.is_file():
        folder = folder.parent
    params = _read_params(folder)
    folder = _snapshot_folder(folder, params, snapshot)
    bs_shape, ue_shape = _shape(bs_shape, "bs_shape"), _shape(ue_shape, "ue_shape")
    max_paths, n_subcarriers, chunk = int(max_paths), int(n_subcarriers), int(chunk)
    spacing, bandwidth_hz = float(spacing), float(bandwidth_hz)
    if max_paths < 1 or n_subcarriers < 1 or bandwidth_hz <= 0 or spacing <= 0 or chunk < 1:
        raise DataFormatError("max_paths, n_subcarriers, bandwidth_hz, spacing and chunk must be positive")
    if bandwidth_hz < 1e3:
        raise DataFormatError(f"bandwidth_hz={bandwidth_hz:g}: DeepMIMO v4 takes the bandwidth in Hz (v3 took GHz)")
    subcarriers = _subcarriers(selected_subcarriers, n_subcarriers)

    tx_set, rx_set = _pick_sets(folder, params, tx_set, rx_set)
    arrays = _read_pair(folder, int(tx_set), int(tx_index), int(rx_set))
    n_rx = arrays["power"].shape[0]
    chosen = _select(users, n_rx)

    table = {q: arrays[q][chosen, :max_paths] for q in QUANTITIES}
    valid = np.ones(table["power"].shape, dtype=bool)
    for q in QUANTITIES:
        valid &= np.isfinite(table[q])
    table = {q: np.where(valid, v, 0.0) for q, v in table.items()}
    n_paths = valid.sum(axis=1)

    inter = None
    if "inter" in arrays:
        inter = arrays["inter"][chosen, :max_paths]
    los, los_status = _los(inter, valid, n_paths)

    keep = np.ones(len(chosen), dtype=bool) if keep_no_path else n_paths > 0
    if not keep.any():
        raise DataFormatError(f"{folder}: none of the {len(chosen)} selected receivers has a propagation path")

    fc = float(carrier_freq_hz) if carrier_freq_hz is not None else params["frequency"]
    if carrier_phase and not (fc > 0):
        raise DataFormatError(f"{folder}: carrier_phase needs the carrier frequency: params.json has none, "
                              "pass carrier_freq_hz")
    idx = np.flatnonzero(keep)
    parts = []
    for start in range(0, idx.size, chunk):
        sel = idx[start:start + chunk]
        parts.append(_channels({q: v[sel] for q, v in table.items()}, valid[sel], bs_shape, ue_shape, spacing,
                               n_subcarriers, subcarriers, bandwidth_hz, fc if carrier_phase else None))
    csi = np.concatenate(parts)

    rx_pos = arrays["rx_pos"][chosen][keep].astype(np.float32)
    tx_pos = arrays["tx_pos"].astype(np.float32)
    labels = {"position": rx_pos}
    extras = {"n_paths": n_paths[keep].astype(np.int64), "user_id": chosen[keep].astype(np.int64)}
    shared = {"subcarriers": subcarriers.astype(np.int64)}
    if los is not None:
        labels["los"] = los[keep].astype(np.int64)
        extras["los_status"] = los_status[keep]
    beam_note = _beams(csi, bs_shape, spacing, n_beams, n_paths[keep], labels, extras, shared)

    return _wireless_data(
        csi=csi[..., None],
        bs_pos=np.tile(tx_pos, (idx.size, 1)),
        ue_pos=rx_pos,
        los=None if los is None else los[keep],
        labels=labels, extras=extras, shared=shared,
        meta={
            "source": "DeepMIMO v4", "loader": "deepmimo-v4", "scenario": folder.name, "path": str(path),
            "tx_set": int(tx_set), "tx_index": int(tx_index), "rx_set": int(rx_set), "snapshot": snapshot,
            "raytracer": params["raytracer"], "carrier_freq_hz": fc,
            "params": {"max_paths": max_paths, "bs_shape": list(bs_shape), "ue_shape": list(ue_shape),
                       "spacing": spacing, "n_subcarriers": n_subcarriers, "bandwidth_hz": bandwidth_hz,
                       "carrier_phase": bool(carrier_phase)},
            "beam": beam_note,
            "n_dropped_no_path": int((~keep).sum()),
            "axis_mapping": "csi[n, ue_antenna, bs_antenna, subcarrier, 0] = DeepMIMO v4 channel[n, rx, tx, k]",
        },
    )


def _wireless_data(**kwargs):
    from zoo_core.data.sample import WirelessData

    return WirelessData(**kwargs)


# ---------------------------------------------------------------------- folder and files
def _read_params(folder: Path) -> dict:
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: not a folder; a DeepMIMO v4 scenario is a folder with params.json")
    params_path = folder / "params.json"
    if not params_path.is_file():
        if looks_like_v3(folder):
            raise v3_not_v4(folder)
        raise DataFormatError(
            f"{folder}: no params.json; a DeepMIMO v4 scenario folder holds params.json and one "
            "{quantity}_tNNN_txNNN_rNNN.npz file per quantity")
    try:
        raw = json.loads(params_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{params_path}: not readable JSON ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("txrx_sets"), dict) or not raw["txrx_sets"]:
        raise DataFormatError(f"{params_path}: no 'txrx_sets' object; not a DeepMIMO v4 params.json")
    rt = raw.get("rt_params") if isinstance(raw.get("rt_params"), dict) else {}
    scene = raw.get("scene") if isinstance(raw.get("scene"), dict) else {}
    try:
        frequency = float(rt.get("frequency", 0.0) or 0.0)
        n_scenes = int(scene.get("num_scenes", 1) or 1)
    except (TypeError, ValueError):
        raise DataFormatError(f"{params_path}: rt_params.frequency or scene.num_scenes is not a number") from None
    sets = {}
    for key, value in raw["txrx_sets"].items():
        if not isinstance(value, dict) or "id" not in value:
            raise DataFormatError(f"{params_path}: txrx_sets[{key!r}] has no 'id'")
        sets[int(value["id"])] = value
    return {"frequency": frequency, "n_scenes": n_scenes, "sets": sets,
            "raytracer": str(rt.get("raytracer_name", "")), "path": params_path}


def _snapshot_folder(folder: Path, params: dict, snapshot) -> Path:
    if params["n_scenes"] <= 1:
        if snapshot not in (None, 0):
            raise DataFormatError(f"{folder}: a static scenario (one scene); snapshot={snapshot} does not exist")
        return folder
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir())
    if snapshot is None:
        raise DataFormatError(f"{folder}: a dynamic scenario with {params['n_scenes']} scenes; pick one with "
                              f"snapshot=0..{len(subdirs) - 1}")
    if not 0 <= int(snapshot) < len(subdirs):
        raise DataFormatError(f"{folder}: snapshot must lie in [0, {len(subdirs)}), got {snapshot}")
    return subdirs[int(snapshot)]


def _pick_sets(folder: Path, params: dict, tx_set, rx_set) -> tuple[int, int]:
    sets = params["sets"]
    tx_ids = sorted(i for i, s in sets.items() if s.get("is_tx"))
    rx_ids = sorted(i for i, s in sets.items() if s.get("is_rx"))
    rx_only = [i for i in rx_ids if not sets[i].get("is_tx")]
    if tx_set is None:
        if not tx_ids:
            raise DataFormatError(f"{params['path']}: no TX set (is_tx) in txrx_sets")
        tx_set = tx_ids[0]
    if rx_set is None:
        if not rx_ids:
            raise DataFormatError(f"{params['path']}: no RX set (is_rx) in txrx_sets")
        rx_set = (rx_only or rx_ids)[0]
    if int(tx_set) not in tx_ids:
        raise DataFormatError(f"{folder}: tx_set {tx_set} is not a TX set; TX sets: {tx_ids}")
    if int(rx_set) not in rx_ids:
        raise DataFormatError(f"{folder}: rx_set {rx_set} is not an RX set; RX sets: {rx_ids}")
    return int(tx_set), int(rx_set)


def _find(folder: Path, quantity: str, tx_set: int, tx_index: int, rx_set: int) -> Path | None:
    stem = f"{quantity}_t{tx_set:03}_tx{tx_index:03}_r{rx_set:03}"
    for ext in (".npz", ".mat"):
        if (folder / (stem + ext)).is_file():
            return folder / (stem + ext)
    return None


def _read_one(file: Path, quantity: str):
    import numpy as np

    if file.suffix == ".npz":
        archive = load_npy(file)
        if not hasattr(archive, "files"):
            raise DataFormatError(f"{file}: expected an .npz archive holding {quantity!r}")
        with archive:
            if quantity not in archive.files:
                raise DataFormatError(f"{file}: missing key {quantity!r}; found keys {archive.files}")
            try:
                arr = archive[quantity]
            except ValueError as exc:
                raise DataFormatError(f"{file}: key {quantity!r}: {exc}") from None
    else:
        mat = load_mat_v5(file)
        if quantity not in mat:
            raise DataFormatError(f"{file}: missing key {quantity!r}; found keys "
                                  f"{sorted(k for k in mat if not k.startswith('__'))}")
        arr = mat[quantity]
    arr = np.asarray(arr)
    if arr.dtype.kind not in "iuf":
        raise shape_error(file, quantity, arr, "a real array")
    return arr.astype(np.float64)


def _read_pair(folder: Path, tx_set: int, tx_index: int, rx_set: int) -> dict:
    import numpy as np

    out = {}
    for quantity in QUANTITIES + POSITIONS + OPTIONAL:
        file = _find(folder, quantity, tx_set, tx_index, rx_set)
        if file is None:
            if quantity in OPTIONAL:
                continue
            present = sorted({m.group(1) for p in folder.iterdir()
                              if (m := re.match(r"^[a-z_]+_(t\d{3}_tx\d{3}_r\d{3})\.", p.name))})
            raise DataFormatError(
                f"{folder}: no {quantity}_t{tx_set:03}_tx{tx_index:03}_r{rx_set:03}.npz for TX set {tx_set}, "
                f"transmitter {tx_index}, RX set {rx_set}; pairs present: {present}")
        out[quantity] = _read_one(file, quantity)
    shape = out["power"].shape
    if len(shape) != 2 or 0 in shape:
        raise shape_error(folder / f"power_t{tx_set:03}_tx{tx_index:03}_r{rx_set:03}.npz", "power", out["power"],
                          "(n_rx, n_paths)")
    for quantity in QUANTITIES[1:] + OPTIONAL:
        if quantity in out and out[quantity].shape != shape:
            raise DataFormatError(f"{folder}: {quantity!r} has shape {out[quantity].shape}, 'power' has {shape}; "
                                  "every path quantity must be (n_rx, n_paths)")
    if out["rx_pos"].shape != (shape[0], 3):
        raise DataFormatError(f"{folder}: 'rx_pos' has shape {out['rx_pos'].shape}; expected ({shape[0]}, 3)")
    tx = out["tx_pos"].reshape(-1, 3) if out["tx_pos"].size % 3 == 0 and out["tx_pos"].size else None
    if tx is None or tx.shape[0] != 1:
        raise DataFormatError(f"{folder}: 'tx_pos' has shape {out['tx_pos'].shape}; expected (1, 3)")
    out["tx_pos"] = tx[0]
    for key in POSITIONS:
        if not np.isfinite(out[key]).all():
            raise DataFormatError(f"{folder}: {key!r} contains NaN or inf")
    return out


def _subcarriers(selected, n_subcarriers: int):
    import numpy as np

    if selected is None:
        return np.arange(n_subcarriers)
    if isinstance(selected, str):
        selected = [int(s) for s in re.split(r"[,\s]+", selected.strip()) if s]
    sc = np.asarray(selected).ravel()
    if sc.size == 0 or sc.dtype.kind not in "iu" or sc.min() < 0 or sc.max() >= n_subcarriers:
        raise DataFormatError(f"selected_subcarriers must be integers in [0, {n_subcarriers}), got {selected!r}")
    return sc.astype(np.int64)


# ---------------------------------------------------------------------- model
def _los(inter, valid, n_paths):
    """(los, los_status): any kept path with no interaction; DeepMIMO's -1/0/1 on the first path."""
    import numpy as np

    if inter is None:
        return None, None
    direct = valid & (np.nan_to_num(inter, nan=-1.0) == 0)
    los = direct.any(axis=1)
    status = np.where(n_paths == 0, -1, np.where(direct[:, 0], 1, 0)).astype(np.int8)
    return los, status


def _channels(t, valid, bs_shape, ue_shape, spacing, n_subcarriers, subcarriers, bandwidth_hz, fc):
    """(n, M_ue, M_bs, len(subcarriers)) complex64 channels of a chunk of receivers."""
    import numpy as np

    delay = t["delay"] * bandwidth_hz                      # in samples
    inside = valid & (delay < n_subcarriers)               # later than the OFDM symbol: dropped
    amplitude = np.where(inside, np.sqrt(10.0 ** (t["power"] / 10.0) / n_subcarriers), 0.0)
    phase = np.deg2rad(t["phase"])
    if fc is not None:
        phase = phase - 2 * np.pi * np.mod(fc * t["delay"], 1.0)  # the carrier phase, reduced mod 2 pi
    k = np.asarray(subcarriers, dtype=np.float64)
    gain = (amplitude * np.exp(1j * phase))[..., None] * np.exp(
        -2j * np.pi / n_subcarriers * np.where(inside, delay, 0.0)[..., None] * k)  # (n, L, K)
    a_bs = _array_response(_antenna_indices(bs_shape), np.deg2rad(t["aod_el"]), np.deg2rad(t["aod_az"]), spacing)
    a_ue = _array_response(_antenna_indices(ue_shape), np.deg2rad(t["aoa_el"]), np.deg2rad(t["aoa_az"]), spacing)
    return np.einsum("nrl,ntl,nlk->nrtk", a_ue, a_bs, gain, optimize=True).astype(np.complex64)


def _beams(csi, bs_shape, spacing, n_beams, n_paths, labels, extras, shared) -> str:
    """Best DFT beam of a ULA BS into labels/extras/shared; a note for meta."""
    import numpy as np

    from zoo_core.data.generators.city import codebook_power, dft_codebook

    if n_beams is not None and int(n_beams) == 0:
        return "not computed (n_beams=0)"
    if min(bs_shape) != 1:
        return f"not computed: the BS array {bs_shape[0]}x{bs_shape[1]} is not a ULA"
    n_ant = bs_shape[0] * bs_shape[1]
    n_beams = n_ant if n_beams is None else int(n_beams)
    if n_beams < 1:
        raise DataFormatError(f"n_beams must be >= 0, got {n_beams}")
    codebook = dft_codebook(n_ant, n_beams, spacing)
    n, m_ue, m_bs, k = csi.shape
    h = csi.transpose(0, 2, 1, 3).reshape(n, m_bs, m_ue * k)  # UE antennas count like subcarriers
    power = codebook_power(h, codebook)
    beam = np.argmax(power, axis=1).astype(np.int64)
    beam[n_paths == 0] = -1
    labels["beam"] = beam
    extras["beam_power"] = power.astype(np.float32)
    shared["codebook"] = codebook.astype(np.complex64)
    return (f"labels['beam'] = argmax over {n_beams} DFT beams w_b[m] = exp(-j 2 pi {spacing:g} m u_b)/sqrt(N), "
            "u_b = -1 + 2b/n_beams, of the power summed over UE antennas and subcarriers")
