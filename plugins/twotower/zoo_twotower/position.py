"""The environment tower's inputs from the sample format: the 8-dim position vector
[BS x, y, z, UE x, y, z, LOS, metres per pixel] with x, y in map pixels (metres / map_scale,
the map's row 0 at y = 0 and column 0 at x = 0), z in metres, LOS 1 for line of sight (the
sample format's convention; the paper writes 0 for LOS), and the per-sample edge maps."""

from __future__ import annotations

import numpy as np

from .errors import DataError


def position_vector(bs_pos, ue_pos, los, map_scale) -> np.ndarray:
    """(N, 8) float32 from raw metre positions (N, 3), LOS (N,) and metres per pixel (N,)."""
    bs, ue = np.asarray(bs_pos, np.float64), np.asarray(ue_pos, np.float64)
    s = np.broadcast_to(np.asarray(map_scale, np.float64), (len(bs),))
    if bs.shape != ue.shape or bs.ndim != 2 or bs.shape[1] != 3:
        raise DataError(f"bs_pos and ue_pos must both be (N, 3) metres, got {bs.shape} and {ue.shape}")
    if not (s > 0).all():
        raise DataError("map_scale (metres per pixel) must be positive")
    out = np.empty((len(bs), 8))
    out[:, 0:2], out[:, 2] = bs[:, :2] / s[:, None], bs[:, 2]
    out[:, 3:5], out[:, 5] = ue[:, :2] / s[:, None], ue[:, 2]
    out[:, 6] = np.asarray(los, np.float64).reshape(-1)
    out[:, 7] = s
    return out.astype(np.float32)


ENVIRONMENT_FIELDS = ("bs_pos", "ue_pos", "los", "env_edges", "map_scale", "scene_id")


def missing_environment(data) -> list[str]:
    """The fields of the environment input that `data` lacks."""
    return [f for f in ENVIRONMENT_FIELDS if getattr(data, f, None) is None]


def csi_shape_reason(data) -> str | None:
    """Why the CSI tower (CFENN) cannot read this data's CSI, or None when it can."""
    if data.csi is None or data.csi.ndim != 5 or data.n_rx * data.n_tx != 32 or data.n_sc * data.n_sym != 64:
        return "needs 32 antennas x 64 subcarriers of CSI (the CFENN's input)"
    return None


def require_environment(data) -> None:
    missing = missing_environment(data)
    if missing:
        raise DataError(f"the two-tower environment input needs {', '.join(missing)} in the data; "
                        "use data with maps (the built-in city generator, or Sionna RT scenes with a map)")


def env_arrays(data, indices, los=None, scale_factor=1.0, edges=None) -> dict[str, np.ndarray]:
    """{"env_edges": (n, H, W) float32, "position_vector": (n, 8)} for samples `indices`;
    `los` replaces the LOS flags (a zero-shot option), `scale_factor` multiplies the metres
    per pixel entry only (map and pixel positions stay as they are), `edges` replaces maps."""
    require_environment(data)
    idx = np.asarray(indices)
    flag = data.los[idx] if los is None else np.broadcast_to(np.asarray(los), idx.shape)
    scale = np.asarray(data.field("map_scale", idx), np.float64)
    vec = position_vector(data.bs_pos[idx], data.ue_pos[idx], flag, scale)
    vec[:, 7] = scale * scale_factor
    maps = data.field("env_edges", idx) if edges is None else edges
    return {"env_edges": np.asarray(maps, np.float32), "position_vector": vec}
