"""numba kernels for the spectrum images (angular-delay jet, real / imaginary planes) on the CPU.

Why (issue 14): in eager torch each step (|z|², +, sqrt, max, ÷, cast, lookup) is a pass over
memory of its own. Here, per sample, in loops the compiler vectorises: re² + im² into a buffer
that stays in cache, its maximum (as an unsigned-integer maximum over the bits: a float one
that respects NaN does not vectorise), then the byte levels and their colours, or the scaled
planes. OpenCV has no kernel for the modulus of an interleaved complex array, and its split +
magnitude + minMaxLoc + convertScaleAbs chain per sample measured no faster than the torch ops.
The price: numba compiles them once per machine (about 5 s, cached on disk) and starts its JIT
once per process (about 0.5 s, at the first spectrum transform on the CPU).

The arithmetic is the transforms' own, in the input's precision and order: |z| = sqrt(re² +
im²), level = floor(|z| / (max |z| / 256)), level 256 (x = 1) coloured as 255 the way matplotlib
colours it; the colour of a level is computed from the colour map's lines (`colormap.jet_ramps`,
within 5e-7 of its table). The tests compare the images with numpy + matplotlib and with the
torch path. A sample with NaN or inf (or squares that overflow) is level 0, or NaN planes,
throughout, as on the torch path, whose maximum is then NaN.

Arrays are numpy views of the transforms' torch buffers; the kernels release the GIL.
"""

from __future__ import annotations

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


def scratch(n: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """One sample's |z|² buffer (`n` values of the spectrum's real `dtype`) and its view as
    unsigned integers of the same width, for the kernels below (reused from sample to sample)."""
    power = np.empty(n, dtype)
    return power, power.view(np.uint32 if power.itemsize == 4 else np.uint64)


@_jit
def _power(ri, power):
    """power[i] = re² + im² of one sample's interleaved (re, im) values."""
    for i in range(power.shape[0]):
        re = ri[2 * i]
        im = ri[2 * i + 1]
        power[i] = re * re + im * im


@_jit
def _largest_bits(bits):
    m = bits.dtype.type(0)
    for i in range(bits.shape[0]):
        b = bits[i]
        m = b if b > m else m
    return m


@_jit
def _peak_power(power, bits):
    """(max power, whether every power is finite). Taken over the bits as unsigned integers:
    a power is never negative (re² + im² >= +0), so their order is the floats' order, with inf
    above every finite value and NaN (either sign) above inf, and an integer maximum
    vectorises where a float one (NaN-aware) cannot."""
    cell = np.empty(2, power.dtype)
    cell[0] = np.inf
    cell_bits = cell.view(bits.dtype)
    cell_bits[1] = _largest_bits(bits)
    return cell[1], cell_bits[1] < cell_bits[0]


@_jit
def _peak(ri, power, bits, tiny):
    """The sample's max |z| (at least `tiny`), and whether all its values are finite; leaves
    re² + im² in `power`."""
    _power(ri, power)
    peak_power, finite = _peak_power(power, bits)
    peak = np.sqrt(peak_power)
    return (peak if peak > tiny else power.dtype.type(tiny)), finite


@_jit
def _levels(power, scale, levels):
    """levels[i] = min(floor(sqrt(power[i]) / scale), 255) as bytes."""
    top = power.dtype.type(255.0)
    for i in range(levels.shape[0]):
        v = np.sqrt(power[i]) / scale
        v = v if v < top else top
        levels[i] = np.uint8(v)


@_jit
def _sample_levels(ri, power, bits, levels, tiny):
    peak, finite = _peak(ri, power, bits, tiny)
    if finite:
        _levels(power, peak / power.dtype.type(256.0), levels)
    else:
        levels[:] = 0


@_jit
def _ramp_colours(levels, ramps, out):
    """out[c, i] = min(max(min(a·L + b, a'·L + b'), 0), 1) with L = levels[i] and (a, b, a',
    b') = ramps[c]: the colour map's rise and fall per channel, in float32 arithmetic the
    compiler vectorises (a table gather per pixel measured 30 us a sample slower)."""
    zero = out.dtype.type(0.0)
    one = out.dtype.type(1.0)
    for c in range(out.shape[0]):
        plane = out[c]
        rise, rise0, fall, fall0 = ramps[c, 0], ramps[c, 1], ramps[c, 2], ramps[c, 3]
        for i in range(plane.shape[0]):
            level = out.dtype.type(levels[i])
            up = rise * level + rise0
            down = fall * level + fall0
            v = up if up < down else down
            v = v if v < one else one
            plane[i] = v if v > zero else zero


@_jit
def spectrum_colours(ri, ramps, power, bits, levels, out, tiny):
    """Colour-table levels of |z| / max |z| into `levels` (k, P) uint8, then those levels
    coloured by `ramps` (`colormap.jet_ramps()`) into `out` (k, C, P) float32, sample by sample
    while its levels are still in cache. `ri` (k, 2·P) interleaved spectra; `power` and `bits`
    from `scratch(P, ...)`. A sample with NaN or inf (or squares that overflow) is level 0."""
    for s in range(ri.shape[0]):
        _sample_levels(ri[s], power, bits, levels[s], tiny)
        _ramp_colours(levels[s], ramps, out[s])


@_jit
def spectrum_planes(ri, power, bits, out, tiny):
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
        peak, finite = _peak(x, power, bits, tiny)
        if not finite:
            re_out[:] = np.nan
            im_out[:] = np.nan
        else:
            for i in range(re_out.shape[0]):
                re_out[i] = x[2 * i] / peak
                im_out[i] = x[2 * i + 1] / peak
            if peak < 1e-18:
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
