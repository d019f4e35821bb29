"""Zero-shot uses of the frozen towers (Sec. III-B1): no parameter is trained.

Each compares one CSI embedding with the embeddings of several environment options and
returns the (n, options) cosine similarities; the prediction is the row's argmax (eq. 13).
"""

from __future__ import annotations

import numpy as np
import torch

from .data import csi_tensor, embed_csi, embed_env

SCALE_FACTORS = (0.8, 1.0, 1.2)


def los_scores(model, data, indices) -> np.ndarray:
    """(n, 2) similarities of each CSI to its environment with the LOS flag 0 (column 0, NLOS)
    and 1 (column 1, LOS): the same map and positions, only the flag differs (eq. 13)."""
    c = embed_csi(model, data, indices)
    options = [embed_env(model, data, indices, los=flag) for flag in (0.0, 1.0)]
    return torch.stack([(c * e).sum(1) for e in options], dim=1).numpy()


def similarity_matrix(model, data, indices) -> np.ndarray:
    """(n, n) cosine similarities: row i = CSI of sample i, column j = environment of sample j."""
    return (embed_csi(model, data, indices) @ embed_env(model, data, indices).T).numpy()


def option_scores(model, data, indices, options: list[dict]) -> np.ndarray:
    """(n, K) similarities of each CSI to K environment options; `options[k]` holds per-sample
    arrays (n,) or scalars for `env_arrays` (los, scale_factor, edges...)."""
    c = embed_csi(model, data, indices)
    return torch.stack([(c * embed_env(model, data, indices, **o)).sum(1) for o in options], dim=1).numpy()


def per_area_matching(model, data, indices) -> dict[int, float]:
    """Fig. 6: within each area, the share of CSIs whose best environment is their own."""
    idx = np.asarray(indices)
    c, e = embed_csi(model, data, idx), embed_env(model, data, idx)
    out = {}
    for area in np.unique(data.scene_id[idx]):
        m = np.flatnonzero(data.scene_id[idx] == area)
        if len(m) > 1:
            out[int(area)] = float(((c[m] @ e[m].T).argmax(1).numpy() == np.arange(len(m))).mean())
    return out


@torch.no_grad()
def reconstruct(model, data, indices, batch_size: int = 256) -> np.ndarray:
    """CSI feedback through the frozen CFENN and CRNN (the 128-dim embedding is the feedback),
    rescaled by each sample's RMS (and common phase, where the transform removes it: both
    sent alongside), in the antenna-frequency domain whatever the tower's; the data's layout."""
    from .errors import TwotowerError
    from .transforms import csi_rms, real_to_csi

    if "csi-feedback" not in model.heads:
        raise TwotowerError("this model has no CRNN (variant two-tower): it cannot reconstruct CSI; "
                            "zoo_twotower.recipes.fit_crnn_after fits one on its frozen CSI tower")
    idx = np.asarray(indices)
    model.eval()
    out = []
    for i in range(0, len(idx), batch_size):
        csi = csi_tensor(data, idx[i:i + batch_size])
        x = model.heads["csi-feedback"](model.encode({"csi": csi}, "csi"))
        transform = model.encoders["csi"].transform
        if hasattr(transform, "to_antenna_frequency"):  # the layout and side information of twotower/csi
            x, side = transform.to_antenna_frequency(x), transform.side_information(csi)
        else:
            side = csi_rms(csi)
        out.append((real_to_csi(x, tuple(csi.shape[1:])) * side[:, None, None, None, None]).numpy())
    return np.concatenate(out).astype(np.complex64)
