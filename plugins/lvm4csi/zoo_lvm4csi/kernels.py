"""OpenCV's SIMD kernels for the transforms' per-pixel work on the CPU, one sample at a time.

Why (issue 14): torch's gather and 1-D interpolation kernels are slow for these shapes (the HAR
image's resize took 0.3 ms a sample, its colour lookup a pass per channel). Here OpenCV does the
HAR image's range, levels and colour lookup (`minMaxLoc`, `convertScaleAbs`, `cv2.LUT` of byte
levels) and every transform's resize (`cv2.resize` INTER_LINEAR: torch's half-pixel bilinear map
without antialiasing) on one sample's planes at a time, so that they stay in cache. No JIT:
importing it costs a few milliseconds. (The spectrum images' levels and colours are numba's, in
`spectra.py`.)

Levels: floor(x · 256) by `convertScaleAbs` as round(x · 256 − 0.5), which differs from the
floor only where x · 256 is an exact integer; level 256 (x = 1) is coloured as 255, the way
matplotlib colours it. A sample with NaN or inf is colour 0 throughout, as on the torch path.

Arrays are numpy views of the transforms' torch buffers: every `dst=` is written in place.
"""

from __future__ import annotations

import cv2
import numpy as np


def set_threads(n: int) -> None:
    """OpenCV's own thread pool, sized like torch's (the benchmarks run at one thread)."""
    cv2.setNumThreads(int(n))


def colour(levels: np.ndarray, luts: list[np.ndarray], out: np.ndarray) -> None:
    """out[s, c] = luts[c][levels[s]]: `levels` (k, H, W) uint8, `out` (k, 3, H, W) float32."""
    for s in range(levels.shape[0]):
        for c, lut in enumerate(luts):
            cv2.LUT(levels[s], lut, dst=out[s, c])


def range_levels(amp: np.ndarray, levels: np.ndarray, eps: float) -> None:
    """Byte levels of (a − min) / (max − min) per sample: `amp` (k, H, W) float32, `levels`
    (k, H, W) uint8; the range is at least `eps`."""
    for s in range(amp.shape[0]):
        if not cv2.checkRange(amp[s])[0]:  # (ok, position of the first NaN or inf)
            levels[s].fill(0)
            continue
        lo, hi = cv2.minMaxLoc(amp[s])[:2]
        alpha = 256.0 / max(hi - lo, eps)
        cv2.convertScaleAbs(amp[s], dst=levels[s], alpha=alpha, beta=-lo * alpha - 0.5)


def resize_bilinear(src: np.ndarray, out: np.ndarray) -> None:
    """Half-pixel bilinear resize (no antialiasing) of `src` (k, C, H, W) into `out` (k, C, S, T),
    plane by plane."""
    size = (out.shape[3], out.shape[2])
    for s in range(src.shape[0]):
        for c in range(src.shape[1]):
            cv2.resize(src[s, c], size, dst=out[s, c], interpolation=cv2.INTER_LINEAR)
