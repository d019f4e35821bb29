"""The paper's figures from a pre-trained model on held-out areas: Fig. 3 (2-D maps of both
modalities' embeddings with a line between the two members of each pair, by t-SNE, UMAP and
PCA from scikit-learn and umap-learn), Fig. 5 (one area's similarity matrix) and Fig. 6 (the
histogram of per-area matching accuracy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REDUCERS = ("tsne", "umap", "pca")


def reduce_2d(points: np.ndarray, method: str, seed: int = 0, umap_worker=None) -> np.ndarray:
    """(n, d) → (n, 2) by a library reducer: `tsne` (sklearn TSNE), `umap` (umap-learn UMAP) or
    `pca` (sklearn PCA). On one BLAS/OpenMP thread: a few hundred points gain nothing from
    threads, and on a busy 2-core machine t-SNE took 73-128 s with them, 9-10 s without
    (same output; measured for issue 14). `umap_worker` (`umap_worker.UmapWorker`): UMAP runs
    there, already compiled."""
    from threadpoolctl import threadpool_limits

    if method == "umap" and umap_worker is not None:
        return umap_worker.reduce(points, seed)
    with threadpool_limits(1):
        return _reduce_2d(points, method, seed)


def _reduce_2d(points: np.ndarray, method: str, seed: int) -> np.ndarray:
    from .errors import TwotowerError

    n = len(points)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(points)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=float(min(30, max(2, (n - 1) // 3))), init="pca",
                    random_state=seed).fit_transform(points)
    if method == "umap":
        import umap

        return umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed,
                         n_jobs=1).fit_transform(points)
    raise TwotowerError(f"method must be one of {', '.join(REDUCERS)}, got {method!r}")


def pair_maps(csi_emb: np.ndarray, env_emb: np.ndarray, seed: int = 0,
              umap_worker=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Fig. 3's coordinates: both modalities' (n, d) embeddings reduced together (one map, so
    a pair's two points can be joined), split back into (csi (n, 2), env (n, 2)) per method."""
    both = np.concatenate([csi_emb, env_emb]).astype(np.float64)
    n = len(csi_emb)
    return {m: (xy[:n], xy[n:]) for m in REDUCERS for xy in [reduce_2d(both, m, seed, umap_worker)]}


def embedding_maps(plots: Path, model, data, indices, seed: int = 0, umap_worker=None) -> dict[str, float]:
    """Fig. 3 into plots/embeddings-{tsne,umap,pca}.png; returns, per method, the share of
    CSI points whose nearest environment point on the 2-D map is their own pair."""
    import matplotlib.pyplot as plt

    from .data import embed_csi, embed_env

    idx = np.asarray(indices)
    c, e = embed_csi(model, data, idx).numpy(), embed_env(model, data, idx).numpy()
    out = {}
    for method, (a, b) in pair_maps(c, e, seed, umap_worker).items():
        nearest = np.linalg.norm(a[:, None] - b[None], axis=-1).argmin(1)
        out[f"fig3_{method}_nearest_is_pair"] = float((nearest == np.arange(len(a))).mean())
        fig, ax = plt.subplots(figsize=(5, 5))
        for (x0, y0), (x1, y1) in zip(a, b):
            ax.plot([x0, x1], [y0, y1], color="0.7", lw=0.5, zorder=1)
        ax.scatter(*a.T, s=10, c="tab:orange", label="channel (CFENN)", zorder=2)
        ax.scatter(*b.T, s=10, c="tab:green", label="environment (EPNN)", zorder=2)
        ax.set(title=f"{method.upper()} of {len(a)} held-out pairs", xticks=[], yticks=[])
        ax.legend(loc="best", fontsize=8)
        fig.savefig(plots / f"embeddings-{method}.png", dpi=120, bbox_inches="tight")
        plt.close(fig)
    return out


def similarity_and_histogram(plots: Path, model, data, test_idx, per_area) -> None:
    """Fig. 5 (one held-out area's similarity matrix) and Fig. 6 (per-area matching histogram)."""
    import matplotlib.pyplot as plt

    from .zeroshot import similarity_matrix

    idx = np.asarray(test_idx)
    first = idx[data.scene_id[idx] == data.scene_id[idx[0]]]
    s = similarity_matrix(model, data, first)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    im = ax.imshow(s, cmap="viridis")
    fig.colorbar(im, ax=ax)
    ax.set(title=f"held-out area {int(data.scene_id[first[0]])}: CSI vs environment", xlabel="environment",
           ylabel="CSI")
    fig.savefig(plots / "similarity-matrix.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(list(per_area.values()), bins=np.linspace(0, 1, 11), edgecolor="black")
    ax.set(title="matching accuracy per held-out area", xlabel="accuracy", ylabel="areas")
    fig.savefig(plots / "matching-per-area.png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def write_all(out_dir: Path, model, data, test_idx, per_area, fig3_pairs: int = 150, seed: int = 0,
              umap_worker=None) -> dict:
    """Every figure into out_dir/plots/; Fig. 3 on the first `fig3_pairs` held-out pairs."""
    import matplotlib

    matplotlib.use("Agg")
    plots = Path(out_dir) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    similarity_and_histogram(plots, model, data, test_idx, per_area)
    if fig3_pairs < 8:
        return {}
    return embedding_maps(plots, model, data, np.asarray(test_idx)[:fig3_pairs], seed, umap_worker)
