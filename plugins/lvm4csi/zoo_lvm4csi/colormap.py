"""The `jet` colour map as a 256-entry lookup table in torch (no matplotlib at run time).

The table is built from jet's segment data exactly as matplotlib's
LinearSegmentedColormap does (N = 256, gamma 1), and indexed the way
`Colormap.__call__` indexes it (floor(x·N), x = 1 → N−1, out of range → clipped), so
`jet(x)` equals `matplotlib.colormaps["jet"](x)[..., :3]` on the same float input. The
paper converts |Ỹ| with MATLAB's `jet`; matplotlib's is the same piecewise-linear map,
and a colour map is a 256-entry table by definition: indexing the table (`lookup`) is
exact, not an approximation of a per-pixel interpolation.
"""

from __future__ import annotations

import functools

import torch

N = 256

# matplotlib/_cm.py `_jet_data`: (x, y_left, y_right) breakpoints per channel.
_JET = {
    "red": ((0.0, 0, 0), (0.35, 0, 0), (0.66, 1, 1), (0.89, 1, 1), (1, 0.5, 0.5)),
    "green": ((0.0, 0, 0), (0.125, 0, 0), (0.375, 1, 1), (0.64, 1, 1), (0.91, 0, 0), (1, 0, 0)),
    "blue": ((0.0, 0.5, 0.5), (0.11, 1, 1), (0.34, 1, 1), (0.65, 0, 0), (1, 0, 0)),
}


def _channel_table(points, n: int) -> torch.Tensor:
    """matplotlib.colors._create_lookup_table for one channel (gamma = 1)."""
    pts = torch.tensor(points, dtype=torch.float64)
    x, y0, y1 = pts[:, 0], pts[:, 1], pts[:, 2]
    xind = torch.linspace(0, 1, n, dtype=torch.float64) * (n - 1)
    xs = x * (n - 1)
    ind = torch.searchsorted(xs, xind[1:-1], right=True)  # np.searchsorted(x, xind)[1:-1]
    distance = (xind[1:-1] - xs[ind - 1]) / (xs[ind] - xs[ind - 1])
    inner = distance * (y0[ind] - y1[ind - 1]) + y1[ind - 1]
    out = torch.cat([y1[:1], inner, y0[-1:]])
    return out.clamp(0.0, 1.0)


@functools.cache
def _lut64() -> torch.Tensor:
    return torch.stack([_channel_table(_JET[c], N) for c in ("red", "green", "blue")], dim=1)


def _ramp(points) -> tuple[float, float, float, float]:
    """A channel that rises to 1, stays and falls, as (a, b, a', b'): its value at table level
    L is min(max(min(a·L + b, a'·L + b'), 0), 1)."""
    segments = list(zip(points, points[1:]))
    rise = [(p, q) for p, q in segments if p[2] < 1 and q[1] == 1]
    fall = [(p, q) for p, q in segments if p[2] == 1 and q[1] < 1]
    if len(rise) != 1 or len(fall) != 1:
        raise ValueError(f"not a rise-and-fall channel: {points}")

    def line(p, q):
        slope = (q[1] - p[2]) / ((q[0] - p[0]) * (N - 1))
        return slope, p[2] - slope * p[0] * (N - 1)

    return (*line(*rise[0]), *line(*fall[0]))


@functools.cache
def _ramps():
    return torch.tensor([_ramp(_JET[c]) for c in ("red", "green", "blue")], dtype=torch.float32)


def jet_ramps() -> torch.Tensor:
    """jet's channels as lines in the table level, (3, 4) float32 (see `_ramp`): the CPU kernels
    compute the colour of a level instead of gathering it from the table. In float32 it is
    within 5e-7 of the table, at every one of the 256 levels (tested)."""
    return _ramps()


def jet_lut(dtype=torch.float32, device=None) -> torch.Tensor:
    """The (256, 3) RGB table of `jet`."""
    return _lut64().to(dtype=dtype, device=device)


@functools.cache
def _channel_table_257(device) -> torch.Tensor:
    # (3, N + 1) float32, channel-first: entry N repeats N − 1, so floor(x·N) of x = 1 needs no
    # clamp (matplotlib maps x = 1 to N − 1)
    lut = _lut64().to(torch.float32)
    return torch.cat([lut, lut[-1:]]).t().contiguous().to(device)


def channel_table(device=None) -> torch.Tensor:
    """jet as a (3, 257) float32 table for `lookup`: column k is the colour of floor(x·256) = k
    (k = 256, i.e. x = 1, repeats the last colour)."""
    return _channel_table_257(torch.device(device) if device is not None else torch.device("cpu"))


def lookup(index: torch.Tensor, out: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
    """Colour lookup: `index` (B, ...) integer in [0, 256] → `out` (B, 3, ...) float32.

    One `index_select` per sample gathers all three channels straight into the channel-first
    output (no per-pixel interpolation, no (…, 3) intermediate to transpose)."""
    table = channel_table(index.device) if table is None else table
    for i in range(index.shape[0]):
        torch.index_select(table, 1, index[i].reshape(-1), out=out[i].view(3, -1))
    return out


def jet_index(x: torch.Tensor) -> torch.Tensor:
    """floor(x·256) clipped to [0, 256] as int32 (NaN → 0): the table column of each value."""
    xf = x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)
    scaled = torch.nan_to_num(xf * N, nan=0.0).clamp_(0, N)
    return scaled.to(torch.int32)


def jet(x: torch.Tensor, channel_dim: int = 1) -> torch.Tensor:
    """Values in [0, 1] → RGB in [0, 1], batched: (B, H, W) → (B, 3, H, W) by default.

    `channel_dim=-1` gives (..., 3) like matplotlib. NaN maps to index 0 (matplotlib
    would give the "bad" colour); inputs here are normalised moduli, never NaN. The result
    is float32 (float64 for float64 input) whatever the input's dtype."""
    if x.is_complex():
        raise TypeError("jet expects real values in [0, 1]; take abs() and normalise first")
    idx = jet_index(x)
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    rows = jet_lut(dtype, x.device)
    rows = torch.cat([rows, rows[-1:]])  # (257, 3): row 256 (x = 1) repeats row 255
    if channel_dim == -1:
        return rows[idx.to(torch.long)]
    dim = channel_dim % (x.ndim + 1)
    if dim == 1 and x.ndim >= 2 and dtype == torch.float32:
        out = torch.empty((x.shape[0], 3, *x.shape[1:]), dtype=dtype, device=x.device)
        return lookup(idx.reshape(x.shape[0], -1), out)
    return rows[idx.to(torch.long)].movedim(-1, dim).contiguous()


_BITS = 7  # per channel: consecutive table colours differ by >= 1/79 in some channel, > 1/127


def _keys(rgb: torch.Tensor) -> torch.Tensor:
    q = rgb.mul((1 << _BITS) - 1).round_().to(torch.int32)
    return (q[..., 0] << (2 * _BITS)) | (q[..., 1] << _BITS) | q[..., 2]


@functools.cache
def _inverse_table() -> torch.Tensor:
    """Quantised colour → table index (-1 where no table colour quantises to it).

    jet itself repeats one colour (entries 28-32: pure blue); such a run maps to its middle."""
    keys = _keys(_lut64().to(torch.float32)).to(torch.long)
    total = torch.zeros(1 << (3 * _BITS), dtype=torch.float64).index_add_(0, keys, torch.arange(N, dtype=torch.float64))
    count = torch.zeros(1 << (3 * _BITS), dtype=torch.float64).index_add_(0, keys, torch.ones(N, dtype=torch.float64))
    table = torch.full((1 << (3 * _BITS),), -1, dtype=torch.int16)
    table[keys] = (total[keys] / count[keys]).round().to(torch.int16)
    return table


def jet_inverse(rgb: torch.Tensor, channel_dim: int = 1, chunk: int = 1 << 16) -> torch.Tensor:
    """RGB → value in [0, 1] at the centre of its table bin.

    Colours that quantise (7 bits per channel) to a table colour (what `jet` produces) are
    read from a 2-MiB lookup table; any other colour goes to the nearest table colour.
    Detectors that only see the colour image use it to read the intensity back."""
    if channel_dim != -1:
        rgb = rgb.movedim(channel_dim, -1)
    flat = rgb.reshape(-1, 3).to(torch.float32).cpu().clamp(0, 1)
    out = _inverse_table()[_keys(flat).to(torch.long)].to(torch.long)
    miss = (out < 0).nonzero()[:, 0]
    if miss.numel():
        lut = jet_lut(torch.float32)
        for i in range(0, miss.numel(), chunk):
            sel = miss[i:i + chunk]
            out[sel] = torch.cdist(flat[sel], lut).argmin(-1)
    return ((out.to(torch.float32) + 0.5) / N).reshape(rgb.shape[:-1]).to(rgb.device)
