"""Fused CPU kernels for the CSI → image transforms: numba for the per-pixel arithmetic,
OpenCV for the colour lookup and the bilinear resize.

Why (issue 14): in eager torch each step of a transform (|z|², +, sqrt, max, ÷, cast, lookup,
each resize tap) is a pass over memory of its own, and torch's gather and 1-D interpolation
kernels are slow for these shapes; at one thread the jet image ran at under a quarter of the
speed of merely writing its output. Here the spectrum is read twice per sample (for its
maximum, then for the colour-table levels), the levels are one byte per pixel, and OpenCV's
SIMD code does the table lookup (`cv2.LUT`) and the resize (`cv2.resize`, INTER_LINEAR: the
same half-pixel bilinear map as torch's `interpolate(..., align_corners=False)` without
antialiasing).

Why numba for the levels rather than OpenCV alone: OpenCV has no kernel for the modulus of an
interleaved complex array, and its split + magnitude + minMaxLoc + convertScaleAbs chain per
sample was no faster than the torch ops (measured 1.00x, against 1.3-1.4x for these kernels).
The price: numba compiles these kernels once per machine (about 5 s, cached on disk) and starts
its JIT from that cache once per process (about 0.5 s, on the first transform call).

The arithmetic is the transforms' own, in the input's precision and order (|z| = sqrt(re² +
im²), level = floor(|z| / (max |z| / 256)), level 256 = x = 1 coloured as 255, the way
matplotlib colours it), so the images equal `matplotlib.colormaps["jet"]` of the normalised
modulus; the tests compare them with numpy + matplotlib. The kernels see only finite samples:
the transforms check each sample first and give a sample with NaN or inf colour 0 throughout,
as the torch path does (its maximum is NaN).

All arrays are numpy views of the transforms' torch buffers (no copies). One thread; the
kernels release the GIL.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

def _jit(fn):
    """numba's compiled function, cached on disk (in-tree, or the user's cache folder) where
    some location is writable; where none is, compiled afresh in each process instead of
    failing at import."""
    try:
        return njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(nogil=True, error_model="numpy")(fn)


_LANES = 16  # independent maxima: lets the compiler keep a reduction in flight per lane


@_jit
def _peak_power(ri):
    """max(re² + im²) over one sample's interleaved (re, im) values. NaN-blind: the passes
    after it flag samples with NaN or inf (in a loop that vectorises; this one cannot)."""
    n = ri.shape[0] // 2
    acc = np.zeros(_LANES, ri.dtype)
    blocks = n // _LANES
    for b in range(blocks):
        base = 2 * _LANES * b
        for lane in range(_LANES):
            re = ri[base + 2 * lane]
            im = ri[base + 2 * lane + 1]
            p = re * re + im * im
            acc[lane] = p if p > acc[lane] else acc[lane]
    best = acc[0]
    for lane in range(1, _LANES):
        best = acc[lane] if acc[lane] > best else best
    for i in range(blocks * _LANES, n):
        p = ri[2 * i] * ri[2 * i] + ri[2 * i + 1] * ri[2 * i + 1]
        best = p if p > best else best
    return best


@_jit
def _modulus_levels(ri, scale, levels):
    """levels[i] = min(floor(|z_i| / scale), 255) as bytes; True where some re² + im² is NaN
    or infinite."""
    top = ri.dtype.type(255.0)
    bad = False
    for i in range(levels.shape[0]):
        re = ri[2 * i]
        im = ri[2 * i + 1]
        p = re * re + im * im
        bad |= (p - p) != 0
        v = np.sqrt(p) / scale
        v = v if v < top else top
        levels[i] = np.uint8(v)
    return bad


@_jit
def spectrum_levels(ri, levels, tiny):
    """Colour-table levels of |z| / max |z| per sample: `ri` (k, 2·P) interleaved spectra,
    `levels` (k, P) uint8. A sample with NaN or inf (or squares that overflow) is level 0."""
    for s in range(ri.shape[0]):
        peak = np.sqrt(_peak_power(ri[s]))
        peak = peak if peak > tiny else ri.dtype.type(tiny)
        if _modulus_levels(ri[s], peak / ri.dtype.type(256.0), levels[s]):
            levels[s, :] = 0


@_jit
def spectrum_planes(ri, out, tiny):
    """Per sample, re / max |z| into out[:, 0], im / max |z| into out[:, 1] and zeros into the
    planes after them: `ri` (k, 2·P) interleaved spectra, `out` (k, C >= 2, P) C-contiguous,
    written one sample after the other so that a fresh output is touched in address order.

    Clipped to [-1, 1] only where the maximum is below 1e-18: there the squares can underflow
    and a quotient leave [-1, 1]; elsewhere |re| <= sqrt(re² + im²) holds exactly. A sample
    with NaN or inf is NaN throughout, as after torch's division by a NaN maximum."""
    for s in range(ri.shape[0]):
        x = ri[s]
        re_out = out[s, 0]
        im_out = out[s, 1]
        peak = np.sqrt(_peak_power(x))
        peak = peak if peak > tiny else ri.dtype.type(tiny)
        bad = False
        for i in range(re_out.shape[0]):
            a = x[2 * i]
            b = x[2 * i + 1]
            bad |= (a * a + b * b) - (a * a + b * b) != 0
            re_out[i] = a / peak
            im_out[i] = b / peak
        if bad:
            re_out[:] = np.nan
            im_out[:] = np.nan
        elif peak < 1e-18:
            _clip_unit(re_out)
            _clip_unit(im_out)
        for c in range(2, out.shape[1]):
            out[s, c, :] = 0


@_jit
def _clip_unit(x):
    one = x.dtype.type(1.0)
    for i in range(x.shape[0]):
        v = x[i]
        x[i] = -one if v < -one else (one if v > one else v)


@_jit
def range_levels(amp, levels, eps):
    """Colour-table levels of (a − min) / (max − min) per sample: `amp` (k, P) amplitudes,
    `levels` (k, P) uint8; the range is at least `eps`. A sample with NaN or inf is level 0."""
    top = amp.dtype.type(255.0)
    for s in range(amp.shape[0]):
        x = amp[s]
        n = x.shape[0]
        lo_acc = np.full(_LANES, x[0])
        hi_acc = np.full(_LANES, x[0])
        blocks = n // _LANES
        for b in range(blocks):
            for lane in range(_LANES):
                v = x[_LANES * b + lane]
                lo_acc[lane] = v if v < lo_acc[lane] else lo_acc[lane]
                hi_acc[lane] = v if v > hi_acc[lane] else hi_acc[lane]
        lo = lo_acc.min()
        hi = hi_acc.max()
        for i in range(blocks * _LANES, n):
            lo = x[i] if x[i] < lo else lo
            hi = x[i] if x[i] > hi else hi
        den = hi - lo
        den = den if den > eps else amp.dtype.type(eps)
        scale = den / amp.dtype.type(256.0)
        bad = False
        for i in range(n):
            v = x[i]
            bad |= (v - v) != 0
            v = (v - lo) / scale
            v = v if v < top else top
            levels[s, i] = np.uint8(v)
        if bad:
            levels[s, :] = 0


def colour(levels: np.ndarray, luts: list[np.ndarray], out: np.ndarray) -> None:
    """out[s, c] = luts[c][levels[s]]: `levels` (k, H, W) uint8, `out` (k, 3, H, W) float32."""
    for s in range(levels.shape[0]):
        for c, lut in enumerate(luts):
            cv2.LUT(levels[s], lut, dst=out[s, c])


def resize_bilinear(src: np.ndarray, out: np.ndarray, lo: float | None = None, hi: float | None = None) -> None:
    """Half-pixel bilinear resize (no antialiasing) of `src` (k, C, H, W) into `out` (k, C, S, T),
    plane by plane, then clipped to [lo, hi]."""
    size = (out.shape[3], out.shape[2])
    for s in range(src.shape[0]):
        for c in range(src.shape[1]):
            cv2.resize(src[s, c], size, dst=out[s, c], interpolation=cv2.INTER_LINEAR)
    if lo is not None:
        clip(out, out.dtype.type(lo), out.dtype.type(hi))


@_jit
def clip(x, lo, hi):
    """x = min(max(x, lo), hi) in place over (k, C, H, W); NaN passes, as in torch's clamp.
    (OpenCV's min and max with a scalar cost 3x more.)"""
    for s in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(x.shape[2]):
                for j in range(x.shape[3]):
                    v = x[s, c, i, j]
                    v = lo if v < lo else v
                    x[s, c, i, j] = hi if v > hi else v


def set_threads(n: int) -> None:
    """OpenCV's own thread pool, sized like torch's (the benchmarks run at one thread)."""
    cv2.setNumThreads(int(n))
