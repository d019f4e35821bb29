"""CSI → image transforms of LVM4CSI, batched torch (no per-sample Python loops over pixels).

- `AngularDelayJet`: |F_aᵀ Y F_d| normalised to [0, 1] per sample, jet RGB (channel
  estimation, Fig. 5).
- `RealImagZero`: real, imaginary and an all-zero channel, normalised per sample; the
  channel power, which the normalisation removes, is the batch field `power_db` that the
  localization head reads (Fig. 7).
- `HARImage`: |CSI| of T × M × N reshaped to T × MN, normalised, jet RGB, resized to the
  backbone's input size (Fig. 6).

All accept complex CSI either as (B, M, N) / (B, T, M, N) or in the `WirelessData` layout
(B, rx, tx, subcarrier, symbol); sizes travel in the JSON config.

How they run (issue 14, `benchmarks/bench_lvm4csi_transforms.py` measures it). The batch is
processed in chunks of a few samples whose intermediates are reused from chunk to chunk, so no
full-batch complex tensor is ever materialised. On the CPU (`FUSED_ON_CPU`):

    torch's FFT of a reused zero-padded buffer → one numba kernel (`spectra.py`) per chunk:
    per sample |z|², max |z|, byte levels floor(|z| / max · 256) and their jet colours straight
    into the output planes (or the scaled real and imaginary planes) → OpenCV's bilinear
    resize where the size changes without antialiasing. The HAR image's range, levels, colour
    lookup and resize are OpenCV's (`kernels.py`; no JIT to start).

On other devices (and with `FUSED_ON_CPU = False`, which the tests use to check it) the same
arithmetic in torch ops:

    FFT of a reused zero-padded buffer → |·|² in place → re² + im² → sqrt → per-sample max
    → divide by max/256 (normalisation and the colour-table index in one pass) → int32
    → one `index_select` of the (3, 257) jet table per sample, straight into the output.

The resize is separable: the rows with a K-tap gather, the columns with torch's linear
kernel (or a small matrix product when antialiasing); the per-axis weights are read off
torch's own `interpolate` (applied to an identity), so the result equals
`F.interpolate(..., mode="bilinear", align_corners=False)` up to float rounding.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from zoo_core.interfaces import Transform
from zoo_core.validation import Size

from .colormap import N as _LEVELS
from .colormap import channel_table, jet_ramps, lookup
from .errors import TransformInputError

#: bytes of per-chunk intermediates (and the chunk's output): a few samples, so a chunk's passes
#: stay in cache while each torch call still covers enough pixels to amortise its overhead
#: (8 MiB was the fastest of 1-16 MiB for all three transforms on the 2-core dev machine)
WORKSPACE_BYTES = 8 << 20
_TINY = 1e-30


_HUGE = 2 << 20
_MADV_HUGEPAGE = 14


@functools.cache
def _madvise():
    """libc's madvise on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def new_output(*shape: int, device=None) -> torch.Tensor:
    """torch.empty(shape, float32), advised to use transparent huge pages where it is large.

    A fresh multi-megabyte output is mmap-ed and page-faulted on first write, one 4-KiB page
    at a time; the faults cost more than writing the images. madvise(MADV_HUGEPAGE) before the
    first touch (what torch's own THP_MEM_ALLOC_ENABLE does for every allocation) makes them
    2-MiB faults: about 2x faster to fill on this CPU. Only a hint: where the kernel or the
    platform says no, nothing changes."""
    out = torch.empty(shape, dtype=torch.float32, device=device)
    nbytes = out.numel() * 4
    madvise = _madvise() if out.device.type == "cpu" and nbytes >= 2 * _HUGE else None
    if madvise is not None:
        start = (out.data_ptr() + _HUGE - 1) & ~(_HUGE - 1)
        stop = (out.data_ptr() + nbytes) & ~(_HUGE - 1)
        if stop > start:
            madvise(start, stop - start, _MADV_HUGEPAGE)
    return out


def _chunk(per_sample_bytes: int, batch: int) -> int:
    return max(1, min(batch, WORKSPACE_BYTES // max(1, per_sample_bytes)))


#: CPU tensors go through OpenCV (`kernels.py`) and numba (`spectra.py`); other devices through
#: torch ops.
#: Tests set it False to check the torch path on CPU too.
FUSED_ON_CPU = True


def _fused(t: torch.Tensor):
    """The OpenCV kernels module where `t` is on the CPU (and fusion is on), else None."""
    if not FUSED_ON_CPU or t.device.type != "cpu":
        return None
    from . import kernels

    kernels.set_threads(torch.get_num_threads())
    return kernels


#: numba starts in about 0.5 s per process, which its spectrum kernels win back only after a few
#: thousand samples (3,000-4,000 for the jet and real/imaginary images, from
#: `bench_lvm4csi_transforms.py`'s rates). Until this many samples have gone through the spectrum
#: transforms in this process, they take the torch path on the CPU as well (a run of a few
#: hundred samples never starts numba); from then on, or at once where numba is already running,
#: the numba kernels. The two paths agree to float rounding: the real / imaginary planes bit for
#: bit, the jet colours within 5e-7 (tested). 0: numba from the first call.
NUMBA_AFTER_SAMPLES = 4096
_spectrum_samples = 0


def _spectra(t: torch.Tensor):
    """The numba kernels module for a spectrum transform of batch `t`, or None for the torch
    path (not on the CPU, fusion off, or numba not yet worth starting)."""
    global _spectrum_samples
    if _fused(t) is None:
        return None
    if "zoo_lvm4csi.spectra" not in sys.modules and _spectrum_samples < NUMBA_AFTER_SAMPLES:
        _spectrum_samples += t.shape[0]
        return None
    from . import spectra

    return spectra


def _np(t: torch.Tensor):
    """A numpy view of a CPU tensor (no copy for the transforms' own buffers)."""
    return t.detach().resolve_conj().resolve_neg().numpy()


@functools.cache
def _luts() -> list:
    """jet as three (1, 256) float32 tables for `cv2.LUT` (level 256, x = 1, is coloured 255)."""
    table = channel_table().numpy()
    return [table[c, :256].reshape(1, 256).copy() for c in range(3)]


def as_matrix(csi: torch.Tensor) -> torch.Tensor:
    """(B, M, N) complex, from (B, M, N) or (B, rx, tx, sc, 1) with one antenna side of size 1."""
    if csi.ndim == 3:
        return csi
    if csi.ndim == 5 and csi.shape[-1] == 1 and 1 in csi.shape[1:3]:
        b, rx, tx, sc, _ = csi.shape
        return csi.reshape(b, rx * tx, sc)
    raise TransformInputError(
        f"expected CSI of shape (batch, M, N) or (batch, rx, tx, subcarrier, 1) with a single "
        f"antenna on one side, got {tuple(csi.shape)}")


def normalise01(x: torch.Tensor, dims=(-2, -1), eps: float = 1e-12) -> torch.Tensor:
    """Per-sample min-max to [0, 1] over `dims`."""
    lo = x.amin(dim=dims, keepdim=True)
    hi = x.amax(dim=dims, keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(eps)


# ------------------------------------------------------------------------------ resize
def _antialias(h: int, w: int, size: int) -> bool:
    """Antialiased only where an axis shrinks by more than 4/3 (e.g. 256 → 224 or 250 → 224
    need none, and torch's antialiased path costs 2x)."""
    return max(h / size, w / size) > 4 / 3


@functools.cache
def _axis(n_in: int, n_out: int, antialias: bool, device: torch.device):
    """One axis of torch's bilinear resize (align_corners=False) as a band of K taps.

    Returns (index (n_out, K) long, weight (n_out, K) float32, plain, dense (n_in, n_out)):
    `plain` when the weights are those of the non-antialiased linear kernel."""
    eye = torch.eye(n_in, dtype=torch.float64).view(n_in, 1, 1, n_in)

    def weights(aa):
        return F.interpolate(eye, size=(1, n_out), mode="bilinear", align_corners=False,
                             antialias=aa)[:, 0, 0, :].t().contiguous()  # (n_out, n_in)

    r = weights(antialias)
    plain = not antialias or torch.allclose(r, weights(False), rtol=0, atol=1e-12)
    nz = r != 0
    first = nz.to(torch.int8).argmax(1)
    last = n_in - 1 - nz.flip(1).to(torch.int8).argmax(1)
    k = int((last - first).max()) + 1
    index = first[:, None] + torch.arange(k)
    valid = index < n_in
    index = index.clamp_max(n_in - 1)
    weight = torch.where(valid, r.gather(1, index), torch.zeros((), dtype=r.dtype))
    return (index.to(device), weight.to(torch.float32).to(device), plain,
            r.t().to(torch.float32).contiguous().to(device))


def _resize_rows(img: torch.Tensor, size: int, antialias: bool) -> torch.Tensor:
    """(k, C, H, W) → (k, C, size, W): each output row a K-tap sum of whole input rows."""
    index, weight, _, _ = _axis(img.shape[-2], size, antialias, img.device)
    out = torch.mul(img.index_select(-2, index[:, 0]), weight[:, 0:1])
    for j in range(1, index.shape[1]):
        out.addcmul_(img.index_select(-2, index[:, j]), weight[:, j:j + 1])
    return out


def resize_into(img: torch.Tensor, out: torch.Tensor, antialias: bool | None = None,
                clamp: tuple[float, float] | None = None) -> torch.Tensor:
    """Bilinear (align_corners=False) resize of (k, C, H, W) into `out` (k, C, S, S), where each
    `out[i]` is contiguous (e.g. the first planes of a larger output). `antialias` None: as
    `resize` decides.

    `clamp` (lo, hi): bounds that `img` lies within and the result must keep. torch's kernels
    can round past them, so their result is clipped sample by sample while it is still in
    cache. OpenCV's needs no pass: its weights are 1 − f and f in float32, each product and sum
    rounds to at most the bound, so the result stays within the source's range (checked in
    `test_lvm4csi_kernels.py`); a clip there cost 15 % of the HAR image."""
    size = out.shape[-1]
    h, w = img.shape[-2:]
    if antialias is None:
        antialias = _antialias(h, w, size)
    kernels = _fused(img) if img.dtype == out.dtype == torch.float32 and not antialias else None
    if kernels is not None:  # CPU: OpenCV's bilinear resize, plane by plane
        kernels.resize_bilinear(_np(img), _np(out))
        return out
    rows = img if h == size else _resize_rows(img, size, antialias)
    if w == size:
        out.copy_(rows)
        return out if clamp is None else out.clamp_(*clamp)
    _, _, plain, dense = _axis(w, size, antialias, img.device)
    c = rows.shape[1]
    for i in range(rows.shape[0]):
        if plain:  # torch's linear kernel writes straight into the output
            torch.ops.aten.upsample_linear1d.out(rows[i].reshape(c * size, 1, w), [size], False, None,
                                                 out=out[i].view(c * size, 1, size))
        else:
            torch.matmul(rows[i], dense, out=out[i])
        if clamp is not None:
            out[i].clamp_(*clamp)
    return out


def resize(img: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinear to (size, size); antialiased only where an axis shrinks by more than 4/3."""
    if size is None or tuple(img.shape[-2:]) == (size, size):
        return img
    out = torch.empty((*img.shape[:-2], size, size), dtype=torch.float32, device=img.device)
    src = img.to(torch.float32).reshape(-1, 1, *img.shape[-2:])
    resize_into(src, out.view(-1, 1, size, size))
    return out


# ------------------------------------------------------------------------------ kernels
def _complex_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.complex128 if x.dtype == torch.complex128 else torch.complex64


#: the real dtype of a complex one, in torch and in numpy
_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}
_NUMPY = {torch.float32: np.float32, torch.float64: np.float64}


class _AngularDelayFFT:
    """Ỹᵀ = (F_aᵀ Y F_d)ᵀ of CSI chunks, (k, M, N) → (k, γN, βM): the 2-D FFT of Y zero-padded to
    (βM, γN) (`dft.angular_delay`), transposed so that delay runs down the image.

    Two batched 1-D FFTs, each along contiguous rows: first over the subcarriers of Y's M rows
    (zero-padded to γN), then, transposed into a zero-padded (γN, βM) buffer, over the
    antennas. Only M of the βM rows go through the first step; the rest are zeros. At the
    sizes used this measured 1.1-1.4x as fast as one zero-padded 2-D FFT (issue 14;
    `bench_lvm4csi_transforms.py` prints it).

    The padded buffers are reused from chunk to chunk: only their first columns are rewritten,
    the zeros stay. The results are new tensors: torch's CPU FFT computes into a new tensor
    and copies it into an `out=` one, which cost 35-60 % more (measured); the allocator hands
    the freed blocks back on the next chunk."""

    def __init__(self, chunk: int, m: int, n: int, beta: int, gamma: int, dtype: torch.dtype, device=None):
        self.rows = torch.zeros(chunk, m, gamma * n, dtype=dtype, device=device)
        self.cols = torch.zeros(chunk, gamma * n, beta * m, dtype=dtype, device=device)

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        k, m, n = h.shape
        rows, cols = self.rows[:k], self.cols[:k]
        rows[:, :, :n].copy_(h)
        cols[:, :, :m].copy_(torch.fft.fft(rows, dim=-1).transpose(-1, -2))
        return torch.fft.fft(cols, dim=-1)


def _modulus_chunk(spectrum: torch.Tensor, mag: torch.Tensor) -> torch.Tensor:
    """|·| of a chunk's complex `spectrum` into `mag`; returns the per-sample max (k, 1, 1).

    |z| as sqrt(re² + im²) with the squares taken in place in the FFT's buffer: complex abs()
    (hypot) is 5x slower on CPU."""
    ri = torch.view_as_real(spectrum)
    ri.mul_(ri)
    torch.add(ri[..., 0], ri[..., 1], out=mag)
    mag.sqrt_()
    return mag.amax(dim=(-2, -1), keepdim=True)


def _levels_(x: torch.Tensor, scale: torch.Tensor, top: float = _LEVELS) -> torch.Tensor:
    """x / scale in place, values in [0, top]; made finite and clipped only where some sample
    is not finite (NaN or inf in the CSI), so the integer cast after it stays defined."""
    x.div_(scale)
    if not bool(torch.isfinite(scale).all()):
        x.nan_to_num_(0.0, float(top), 0.0).clamp_(0, top)
    return x


def modulus_image(csi: torch.Tensor, beta: int = 4, gamma: int = 4) -> torch.Tensor:
    """|Ỹ|ᵀ / max |Ỹ| ∈ [0, 1]: (B, γN, βM), angle along the width, delay along the height."""
    h = as_matrix(csi)
    b, m, n = h.shape
    ct = _complex_dtype(h)
    out = torch.empty(b, gamma * n, beta * m, dtype=_REAL[ct], device=h.device)
    c = _chunk(out[0].numel() * out.element_size() * 5, b)
    fft = _AngularDelayFFT(c, m, n, beta, gamma, ct, h.device)
    with torch.no_grad():
        for i0 in range(0, b, c):
            k = min(c, b - i0)
            mag = out[i0:i0 + k]
            peak = _modulus_chunk(fft(h[i0:i0 + k]), mag)
            _levels_(mag, peak.clamp_min(_TINY), 1.0)
    return out


class AngularDelayJet(Transform):
    """Complex CSI (B, M, N) → jet RGB (B, 3, γN, βM) of the normalised angular-delay modulus.

    Equals `jet(modulus_image(x))` (the fused path divides by max/256, which is the same
    float as dividing by the max and scaling by 256), float32."""

    def __init__(self, beta: Size = 4, gamma: Size = 4, size: Size | None = None):
        if int(beta) < 1 or int(gamma) < 1:
            raise TransformInputError(f"oversampling factors must be >= 1, got beta={beta}, gamma={gamma}")
        super().__init__(beta=int(beta), gamma=int(gamma), size=size)

    @torch.no_grad()
    def forward(self, x):
        if not torch.is_complex(x):
            raise TransformInputError("angular-delay-jet expects complex CSI (complex64)")
        beta, gamma, size = self.config["beta"], self.config["gamma"], self.config["size"]
        h = as_matrix(x)
        b, m, n = h.shape
        hh, ww = gamma * n, beta * m
        resized = size is not None and (hh, ww) != (size, size)
        out = new_output(b, 3, *((size, size) if resized else (hh, ww)), device=h.device)
        ct = _complex_dtype(h)
        fsize = 8 if ct == torch.complex128 else 4
        spectra = _spectra(h)
        if spectra is not None:
            return self._fused(spectra, h, out, ct, fsize, hh, ww, resized)
        per = hh * ww * (6 * fsize + 4 + (12 if resized else 0)) + 12 * out[0, 0].numel()
        c = _chunk(per, b)
        fft = _AngularDelayFFT(c, m, n, beta, gamma, ct, h.device)
        mag = torch.empty(c, hh, ww, dtype=_REAL[ct], device=h.device)
        index = torch.empty(c, hh, ww, dtype=torch.int32, device=h.device)
        rgb = torch.empty(c, 3, hh, ww, dtype=torch.float32, device=h.device) if resized else None
        table = channel_table(h.device)
        for i0 in range(0, b, c):
            k = min(c, b - i0)
            peak = _modulus_chunk(fft(h[i0:i0 + k]), mag[:k])
            # normalisation and the table index in one pass: floor(|z| / max · 256)
            index[:k].copy_(_levels_(mag[:k], peak.clamp_min(_TINY) / _LEVELS))
            if resized:
                lookup(index[:k], rgb[:k], table)
                resize_into(rgb[:k], out[i0:i0 + k], clamp=(0.0, 1.0))
            else:
                lookup(index[:k], out[i0:i0 + k], table)
        return out

    def _fused(self, spectra, h, out, ct, fsize, hh, ww, resized):
        """CPU: the FFT by torch, then levels and colours by one numba kernel per chunk."""
        b = h.shape[0]
        c = _chunk(hh * ww * (5 * fsize + 1 + (12 if resized else 0)) + 12 * out[0, 0].numel(), b)
        fft = _AngularDelayFFT(c, *h.shape[1:], self.config["beta"], self.config["gamma"], ct)
        levels = np.empty((c, hh * ww), np.uint8)
        power, bits = spectra.scratch(hh * ww, _NUMPY[_REAL[ct]])
        rgb = torch.empty(c, 3, hh, ww, dtype=torch.float32) if resized else None
        colours = _np(rgb if resized else out).reshape(-1, 3, hh * ww)
        ramps = _np(jet_ramps())
        for i0 in range(0, b, c):
            k = min(c, b - i0)
            spec = _np(torch.view_as_real(fft(h[i0:i0 + k]))).reshape(k, -1)
            dst = colours[:k] if resized else colours[i0:i0 + k]
            spectra.spectrum_colours(spec, ramps, power, bits, levels[:k], dst, _TINY)
            if resized:
                resize_into(rgb[:k], out[i0:i0 + k], clamp=(0.0, 1.0))
        return out


class RealImagZero(Transform):
    """Complex CSI → (B, 3, S, S): real, imaginary, zeros (each / max |·| per sample).

    `angular_delay=True` (the paper's localization input) first maps the CSI by eq. 12;
    the image is then resized to `size`. The per-sample normalisation removes the channel
    power; the localization head reads it as the batch field `power_db` instead.

    `power_plane=True` is the format-1 layout, kept so that saved models load unchanged: a
    fourth plane holds the standardised power p = (10·log10(mean |H|²) − power_offset_db) /
    power_scale_db everywhere, for `FrozenLVM(power_input=True)` to strip and append."""

    def __init__(self, size: Size | None = 224, angular_delay: bool = True, beta: Size = 4, gamma: Size = 4,
                 power_offset_db: float = 0.0, power_scale_db: float = 10.0, power_plane: bool = True):
        if power_scale_db <= 0:
            raise TransformInputError("power_scale_db must be > 0")
        super().__init__(size=size, angular_delay=bool(angular_delay), beta=int(beta), gamma=int(gamma),
                         power_offset_db=float(power_offset_db), power_scale_db=float(power_scale_db),
                         power_plane=bool(power_plane))

    @staticmethod
    def power_db(x: torch.Tensor) -> torch.Tensor:
        h = as_matrix(x)
        ri = torch.view_as_real(h)
        return 10.0 * torch.log10(ri.square().sum(-1).mean(dim=(-2, -1)).clamp_min(_TINY))

    def image(self, x: torch.Tensor, planes: int = 3) -> torch.Tensor:
        """(B, planes, S, S): real and imaginary planes, zeros in the rest."""
        cfg = self.config
        h = as_matrix(x)
        b = h.shape[0]
        ct = _complex_dtype(h)
        if cfg["angular_delay"]:  # Ỹᵀ, as in modulus_image
            hh, ww = cfg["gamma"] * h.shape[-1], cfg["beta"] * h.shape[-2]
        else:
            hh, ww = h.shape[-2:]
        size = cfg["size"]
        resized = size is not None and (hh, ww) != (size, size)
        oh, ow = (size, size) if resized else (hh, ww)
        out = new_output(b, planes, oh, ow, device=h.device)
        c = _chunk(hh * ww * (8 + 8 + 8 + 4 + (8 if resized else 0)) + 8 * oh * ow, b)
        fft = (_AngularDelayFFT(c, *h.shape[1:], cfg["beta"], cfg["gamma"], ct, h.device)
               if cfg["angular_delay"] else None)
        rt = _REAL[ct]
        ri_img = torch.empty(c, 2, hh, ww, dtype=torch.float32, device=h.device) if resized else None
        spectra = _spectra(h)
        if spectra is not None:
            scratch = spectra.scratch(hh * ww, _NUMPY[rt])
        else:
            squares = torch.empty(c, hh, ww, 2, dtype=rt, device=h.device)
            power = torch.empty(c, hh, ww, dtype=rt, device=h.device)
        for i0 in range(0, b, c):
            k = min(c, b - i0)
            z = fft(h[i0:i0 + k]) if fft is not None else h[i0:i0 + k]
            if spectra is not None:  # CPU: maximum, both planes and the zero planes in one numba kernel
                ri = _np(torch.view_as_real(z.resolve_conj())).reshape(k, -1)
                if resized:
                    spectra.spectrum_planes(ri, *scratch, _np(ri_img[:k].view(k, 2, -1)), _TINY)
                    out[i0:i0 + k, 2:].zero_()
                    resize_into(ri_img[:k], out[i0:i0 + k, :2], clamp=(-1.0, 1.0))
                else:
                    spectra.spectrum_planes(ri, *scratch, _np(out[i0:i0 + k].view(k, planes, -1)), _TINY)
                continue
            out[i0:i0 + k, 2:].zero_()
            zr = torch.view_as_real(z)
            torch.mul(zr, zr, out=squares[:k])
            torch.add(squares[:k, ..., 0], squares[:k, ..., 1], out=power[:k])
            peak = power[:k].amax(dim=(-2, -1), keepdim=True).sqrt_().clamp_min_(_TINY)
            dst = ri_img[:k] if resized else out[i0:i0 + k, :2]
            torch.div(z.real, peak, out=dst[:, 0])
            torch.div(z.imag, peak, out=dst[:, 1])
            if resized:
                resize_into(dst, out[i0:i0 + k, :2], clamp=(-1.0, 1.0))
            elif bool((peak < 1e-18).any()):
                # |re| / sqrt(re² + im²) <= 1 exactly in float32 (sqrt(fl(x²)) = |x|), unless
                # the squares underflow (|h| < 1e-19): only then can a value leave [-1, 1]
                dst.clamp_(-1.0, 1.0)
        return out

    @torch.no_grad()
    def forward(self, x):
        if not torch.is_complex(x):
            raise TransformInputError("real-imag-zero expects complex CSI (complex64)")
        if not self.config.get("power_plane", True):
            return self.image(x)
        img = self.image(x, planes=4)
        p = (self.power_db(x) - self.config["power_offset_db"]) / self.config["power_scale_db"]
        img[:, 3] = p.to(img.dtype)[:, None, None]
        return img


class HARImage(Transform):
    """CSI (B, T, M, N) (complex or amplitude) → |·| as T × MN → [0, 1] → jet → (B, 3, S, S)."""

    def __init__(self, size: Size | None = 224, colormap: Literal["jet", "gray"] = "jet"):
        if colormap not in ("jet", "gray"):
            raise TransformInputError(f"colormap must be 'jet' or 'gray', got {colormap!r}")
        super().__init__(size=size, colormap=colormap)

    @torch.no_grad()
    def forward(self, x):
        if x.ndim not in (3, 4):
            raise TransformInputError(f"har-image expects (batch, T, M, N) or (batch, T, M*N), got {tuple(x.shape)}")
        b, t = x.shape[:2]
        w = x[0, 0].numel() if b else 0
        size = self.config["size"]
        resized = size is not None and (t, w) != (size, size)
        out = new_output(b, 3, *((size, size) if resized else (t, w)), device=x.device)
        jet = self.config["colormap"] == "jet"
        per = t * w * (4 + 4 + 12) + (3 * size * w * 4 if resized else 0) + 12 * out[0, 0].numel()
        c = _chunk(per, b)
        index = torch.empty(c, t, w, dtype=torch.int32, device=x.device)
        rgb = torch.empty(c, 3, t, w, dtype=torch.float32, device=x.device) if resized else None
        table = channel_table(x.device)
        kernels = _fused(x)
        levels = np.empty((c, t, w), np.uint8) if kernels is not None else None
        for i0 in range(0, b, c):
            k = min(c, b - i0)
            amp = x[i0:i0 + k].reshape(k, t, w).abs().to(torch.float32).contiguous()
            dst = rgb[:k] if resized else out[i0:i0 + k]
            if jet and kernels is not None:  # CPU: range, byte levels and lookup by OpenCV
                kernels.range_levels(_np(amp), levels[:k], 1e-12)
                kernels.colour(levels[:k], _luts(), _np(dst))
            else:
                lo = amp.amin(dim=(-2, -1), keepdim=True)  # (aminmax along a dim is 8x slower)
                den = (amp.amax(dim=(-2, -1), keepdim=True) - lo).clamp_min(1e-12)
                if jet:  # (|x| − min) / ((max − min) / 256): normalisation and table index in one pass
                    index[:k].copy_(_levels_(amp.sub_(lo), den / _LEVELS))
                    lookup(index[:k], dst, table)
                else:
                    dst.copy_(amp.sub_(lo).div_(den)[:, None])
                if not resized:
                    dst.clamp_(0.0, 1.0)
            if resized:
                resize_into(dst, out[i0:i0 + k], clamp=(0.0, 1.0))
        return out
