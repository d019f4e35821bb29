"""MIMO-OFDM pilot grids for uplink channel estimation (the WavesFM task).

Setup from the WavesFM paper (Sec. III, "MIMO-OFDM Channel Estimation"): single-antenna UE,
16-antenna BS, 14 OFDM symbols per transmission, pilots on symbols 2 and 11 (0-based
indices, as in Sionna's `pilot_ofdm_symbol_indices=[2, 11]`), 3.5 GHz carrier, 30 kHz
subcarrier spacing, 3 m/s user speed, SNR drawn per sample. The paper does not state the
number of subcarriers; we default to 72 (6 resource blocks) — pass `n_sc` to change it.

Pilots are QPSK symbols (+-1 +-j)/sqrt(2) on every subcarrier of the pilot symbols. The
received pilots are Y_p = H_p X_p + W with E|H|^2 = 1 and noise variance 10^(-SNR/10);
csi holds the true channel over the full grid (N, rx=n_rx, tx=1, n_sc, 14).

Channel models
--------------
"tdl" (default, built in): tapped delay line with taps at tau_l = l * tap_spacing_s and an
exponential power-delay profile p_l ~ exp(-tau_l / delay_spread_s) (sum p_l = 1),
independent across BS antennas and taps. Each tap is a complex Gaussian process with the
Jakes (Clarke) autocorrelation J0(2 pi f_D dt), f_D = v f_c / c, imposed exactly by
colouring white Gaussian noise with a square root of the 14 x 14 time covariance. So the
channel covariance per antenna is exactly R = R_t (x) R_f (`covariance`), which the LMMSE
baseline uses:
    [R_f]_{kk'} = sum_l p_l e^{-j2pi (k-k') Delta_f tau_l}
    [R_t]_{ss'} = J0(2 pi f_D (s-s') T_sym),  T_sym = (1 + cp_fraction) / Delta_f.

"sionna-umi" (optional): 3GPP TR 38.901 UMi through Sionna's PyTorch API
(`pip install "wzoo[sionna]"`, i.e. `sionna-no-rt`; without it this model raises
OptionalDependencyError). One single-sector UMi drop per sample
(`sionna.phy.channel.gen_single_sector_topology`, 3GPP default distances, heights, indoor
probability and random LoS; UT speed fixed at speed_mps with a random direction), uplink
with a 1 x n_rx V-polarised ULA (`tr38901.PanelArray`, 38.901 element pattern) at the BS and
one omni element at the UE. `tr38901.UMi` gives the CIR sampled once per OFDM symbol
(sampling frequency 1 / T_sym) and `cir_to_ofdm_channel(..., normalize=True)` evaluates it on
the n_sc subcarriers (`subcarrier_frequencies`: baseband, centred on DC) -- so each sample
has mean |H|^2 = 1 over its (antenna, subcarrier, symbol) grid exactly, and pathloss and
shadow fading are off (they would be normalised away). Seeded through
`sionna.phy.config.seed = seed` (torch's global RNG state is restored afterwards), run on
the CPU. delay_spread_s, tap_spacing_s and n_taps do not apply (the 3GPP tables set the
delay profile); shared "tap_delays_s"/"tap_powers" still describe the "tdl" profile of the
parameters, for an identical layout. Its covariance is not known in closed form: the LMMSE
baseline then uses the sample covariance of the true channels (separable R_t (x) R_f fit).

extras: "pilots_tx" (n, n_sc, P) complex64, "pilots_rx" (n, n_rx, n_sc, P) complex64,
"snr_db" (n,), "noise_var" (n,). shared: "pilot_symbols" (P,), "tap_delays_s",
"tap_powers".
"""

from __future__ import annotations

import numpy as np

from zoo_core.data.blas import single_blas_thread
from zoo_core.data.errors import GeneratorParameterError, OptionalDependencyError

SPEED_OF_LIGHT = 299_792_458.0
DEFAULTS = dict(
    n_rx=16, n_sc=72, n_sym=14, pilot_symbols=(2, 11), carrier_hz=3.5e9,
    subcarrier_spacing_hz=30e3, speed_mps=3.0, snr_db=(-10.0, 20.0),
    delay_spread_s=100e-9, tap_spacing_s=50e-9, n_taps=16, cp_fraction=144 / 2048,
    channel_model="tdl",
)
_ELEMENTS_PER_CHUNK = 1_000_000
_SIONNA_ELEMENTS_PER_CHUNK = 4_000_000  # grid elements per Sionna call: bounds its memory (~1.7 GB peak RSS)


def tap_profile(delay_spread_s: float, tap_spacing_s: float, n_taps: int):
    """Tap delays (s) and powers (sum 1) of the exponential power-delay profile."""
    delays = np.arange(n_taps) * tap_spacing_s
    powers = np.exp(-delays / delay_spread_s)
    return delays, powers / powers.sum()


def doppler_hz(speed_mps: float, carrier_hz: float) -> float:
    return speed_mps * carrier_hz / SPEED_OF_LIGHT


def symbol_duration_s(subcarrier_spacing_hz: float, cp_fraction: float) -> float:
    return (1.0 + cp_fraction) / subcarrier_spacing_hz


def covariance(params: dict | None = None, **overrides) -> tuple[np.ndarray, np.ndarray]:
    """True per-antenna channel covariance of the "tdl" model as factors (R_f, R_t).

    `params` is `data.meta["params"]` (or any subset of DEFAULTS). The covariance of the
    (n_sc x n_sym) grid G of one antenna is E[vec(G) vec(G)^H] = R_t (x) R_f (column-major
    vec), i.e. the operator vec(X) -> vec(R_f X R_t^T). Antennas are independent.
    """
    from scipy.special import j0

    p = {**DEFAULTS, **(params or {}), **overrides}
    delays, powers = tap_profile(p["delay_spread_s"], p["tap_spacing_s"], p["n_taps"])
    dk = np.arange(p["n_sc"])[:, None] - np.arange(p["n_sc"])[None, :]
    r_f = np.einsum("l,kjl->kj", powers,
                    np.exp(-2j * np.pi * dk[..., None] * p["subcarrier_spacing_hz"] * delays))
    ds = np.arange(p["n_sym"])[:, None] - np.arange(p["n_sym"])[None, :]
    f_d = doppler_hz(p["speed_mps"], p["carrier_hz"])
    t_sym = symbol_duration_s(p["subcarrier_spacing_hz"], p["cp_fraction"])
    r_t = j0(2 * np.pi * f_d * ds * t_sym).astype(np.complex128)
    return r_f, r_t


def _psd_sqrt(r: np.ndarray) -> np.ndarray:
    """C with C C^H = r for a Hermitian PSD r (robust to rank deficiency)."""
    lam, vec = np.linalg.eigh(r)
    return vec * np.sqrt(np.clip(lam, 0.0, None))


def _per_sample(rng, value, n: int, name: str) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(n, float(value))
    if len(value) != 2 or value[0] > value[1]:
        raise GeneratorParameterError(f"{name} must be a number or a (low, high) pair, got {value!r}")
    return rng.uniform(float(value[0]), float(value[1]), size=n)


@single_blas_thread
def _tdl_channels(rng, n: int, p: dict, progress: bool) -> np.ndarray:
    """(n, n_rx, n_sc, n_sym) complex64 channel grids of the "tdl" model."""
    delays, powers = tap_profile(p["delay_spread_s"], p["tap_spacing_s"], p["n_taps"])
    _, r_t = covariance(p)
    c_t = _psd_sqrt(r_t)                                               # (S, S)
    k = np.arange(p["n_sc"])
    # Frequency response of each tap, with the tap power folded in: (K, L)
    f = np.exp(-2j * np.pi * k[:, None] * p["subcarrier_spacing_hz"] * delays[None, :])
    f = (f * np.sqrt(powers)[None, :]).astype(np.complex64)
    c_t = c_t.astype(np.complex64)
    n_rx, n_taps, n_sym = p["n_rx"], p["n_taps"], p["n_sym"]
    out = np.empty((n, n_rx, p["n_sc"], n_sym), dtype=np.complex64)
    chunk = max(1, _ELEMENTS_PER_CHUNK // (n_rx * max(n_taps, p["n_sc"]) * n_sym))
    starts = range(0, n, chunk)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="ofdm", unit="chunk")
    for s in starts:
        e = min(s + chunk, n)
        z = rng.standard_normal((e - s, n_rx, n_taps, n_sym, 2), dtype=np.float32)
        z = z.view(np.complex64)[..., 0] * np.float32(np.sqrt(0.5))  # CN(0, 1) white
        # colour over time (cov of each tap's 14 samples = R_t), then taps -> subcarriers,
        # each as one flat GEMM (stacked small matmuls are slow in numpy)
        taps = (z.reshape(-1, n_sym) @ c_t.T).reshape(e - s, n_rx, n_taps, n_sym)
        grid = np.tensordot(f, taps, axes=([1], [2]))      # (K, c, R, S)
        out[s:e] = grid.transpose(1, 2, 0, 3)
    return out


def _import_sionna():
    """Sionna's PyTorch API (`sionna-no-rt` >= 1.0), or OptionalDependencyError."""
    try:
        import sionna.phy
        import torch
        from sionna.phy.channel import (
            cir_to_ofdm_channel,
            gen_single_sector_topology,
            subcarrier_frequencies,
        )
        from sionna.phy.channel.tr38901 import PanelArray, UMi
    except ImportError:
        raise OptionalDependencyError("Sionna (for channel_model='sionna-umi')", "sionna") from None
    return torch, sionna.phy.config, {
        "cir_to_ofdm_channel": cir_to_ofdm_channel, "subcarrier_frequencies": subcarrier_frequencies,
        "gen_single_sector_topology": gen_single_sector_topology, "UMi": UMi, "PanelArray": PanelArray,
    }


def _sionna_umi_channels(n: int, seed: int, p: dict, progress: bool) -> np.ndarray:
    """(n, n_rx, n_sc, n_sym) complex64 channel grids of 3GPP TR 38.901 UMi through Sionna.

    One single-sector UMi drop per sample (`gen_single_sector_topology`, one UT, UT speed
    fixed at speed_mps, 3GPP defaults for distances, heights, indoor probability and LoS),
    uplink, BS = 1 x n_rx V-polarised ULA with the 38.901 element pattern, UT = one omni
    element. The CIR is sampled at the OFDM symbol rate and taken to the subcarriers with
    `cir_to_ofdm_channel(..., normalize=True)`: each sample has unit mean |H|^2 over its
    (antenna, subcarrier, symbol) grid, so pathloss and shadow fading are switched off.
    Runs on the CPU with `sionna.phy.config.seed = seed` (reproducible for a given seed,
    Sionna version and CPU); torch's global RNG state, which that seeding resets, is
    restored afterwards. Batched in chunks of samples (one drop per sample per chunk).
    """
    torch, config, sn = _import_sionna()
    dev = "cpu"
    fc = p["carrier_hz"]
    n_rx, n_sc, n_sym = p["n_rx"], p["n_sc"], p["n_sym"]
    saved_cpu = torch.random.get_rng_state()
    saved_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        config.seed = int(seed)
        ut = sn["PanelArray"](num_rows_per_panel=1, num_cols_per_panel=1, polarization="single",
                              polarization_type="V", antenna_pattern="omni", carrier_frequency=fc,
                              device=dev)
        bs = sn["PanelArray"](num_rows_per_panel=1, num_cols_per_panel=n_rx, polarization="single",
                              polarization_type="V", antenna_pattern="38.901", carrier_frequency=fc,
                              device=dev)
        model = sn["UMi"](carrier_frequency=fc, o2i_model="low", ut_array=ut, bs_array=bs,
                          direction="uplink", enable_pathloss=False, enable_shadow_fading=False,
                          device=dev)
        freqs = sn["subcarrier_frequencies"](n_sc, p["subcarrier_spacing_hz"], device=dev)
        fs = 1.0 / symbol_duration_s(p["subcarrier_spacing_hz"], p["cp_fraction"])
        out = np.empty((n, n_rx, n_sc, n_sym), dtype=np.complex64)
        chunk = max(1, _SIONNA_ELEMENTS_PER_CHUNK // (n_rx * n_sc * n_sym))
        starts = range(0, n, chunk)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="ofdm (sionna-umi)", unit="chunk")
        with torch.no_grad():
            for s in starts:
                e = min(s + chunk, n)
                if s > 0 and e - s != chunk:  # last, smaller chunk: new topology shapes
                    model.reset_topology()
                model.set_topology(*sn["gen_single_sector_topology"](
                    e - s, 1, "umi", min_ut_velocity=p["speed_mps"], max_ut_velocity=p["speed_mps"],
                    device=dev))
                # a: (c, rx=1 BS, n_rx, tx=1 UT, 1, paths, n_sym); tau: (c, 1, 1, paths)
                a, tau = model(n_sym, fs)
                h = sn["cir_to_ofdm_channel"](freqs, a, tau, normalize=True)  # (c,1,R,1,1,S,K)
                out[s:e] = h[:, 0, :, 0, 0].transpose(-1, -2).to(torch.complex64).cpu().numpy()
    finally:
        torch.random.set_rng_state(saved_cpu)
        if saved_cuda is not None:
            torch.cuda.set_rng_state_all(saved_cuda)
    return out


def generate(n: int, seed: int = 0, progress: bool = False, **params):
    """Make n pilot grids: true channel in csi, QPSK pilots and received pilots in extras.

    Parameters (defaults in DEFAULTS): n_rx, n_sc, n_sym, pilot_symbols, carrier_hz,
    subcarrier_spacing_hz, speed_mps, snr_db (number or (low, high) per sample),
    delay_spread_s, tap_spacing_s, n_taps, cp_fraction, channel_model ("tdl" | "sionna-umi").
    """
    from zoo_core.data.sample import WirelessData

    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise GeneratorParameterError(f"unknown ofdm parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    p["pilot_symbols"] = [int(s) for s in p["pilot_symbols"]]
    if n <= 0 or min(p["n_rx"], p["n_sc"], p["n_sym"], p["n_taps"]) <= 0:
        raise GeneratorParameterError("n, n_rx, n_sc, n_sym and n_taps must be positive")
    pil = np.asarray(p["pilot_symbols"], dtype=np.int64)
    if pil.size == 0 or pil.min() < 0 or pil.max() >= p["n_sym"] or len(set(pil.tolist())) != pil.size:
        raise GeneratorParameterError(f"pilot_symbols {p['pilot_symbols']} must be distinct indices in [0, {p['n_sym']})")
    if p["channel_model"] not in ("tdl", "sionna-umi"):
        raise GeneratorParameterError(f"channel_model must be 'tdl' or 'sionna-umi', got {p['channel_model']!r}")

    rng = np.random.default_rng(seed)
    snr = _per_sample(rng, p["snr_db"], n, "snr_db")
    noise_var = 10.0 ** (-snr / 10.0)
    # QPSK pilots: (+-1 +-j)/sqrt(2)
    bits = rng.integers(0, 2, size=(n, p["n_sc"], pil.size, 2))
    x = ((1 - 2 * bits[..., 0]) + 1j * (1 - 2 * bits[..., 1])) / np.sqrt(2.0)
    if p["channel_model"] == "tdl":
        h = _tdl_channels(rng, n, p, progress)
    else:
        h = _sionna_umi_channels(n, seed, p, progress)
    w = rng.standard_normal((n, p["n_rx"], p["n_sc"], pil.size, 2), dtype=np.float32)
    w = w.view(np.complex64)[..., 0] * np.sqrt(noise_var / 2.0).astype(np.float32)[:, None, None, None]
    y = h[..., pil] * x.astype(np.complex64)[:, None] + w

    delays, powers = tap_profile(p["delay_spread_s"], p["tap_spacing_s"], p["n_taps"])
    meta_params = {k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in p.items()}
    meta_params["snr_db"] = (float(p["snr_db"]) if np.ndim(p["snr_db"]) == 0
                             else [float(v) for v in p["snr_db"]])
    return WirelessData(
        csi=h[:, :, None],
        extras={
            "pilots_tx": x.astype(np.complex64),
            "pilots_rx": y.astype(np.complex64),
            "snr_db": snr.astype(np.float32),
            "noise_var": noise_var.astype(np.float32),
        },
        shared={"pilot_symbols": pil, "tap_delays_s": delays, "tap_powers": powers},
        meta={
            "generator": "ofdm-pilots",
            "seed": int(seed),
            "params": meta_params,
            "paper": "WavesFM, MIMO-OFDM channel estimation",
            "layout": "uplink: rx = BS antennas, tx = single-antenna UE, subcarrier, symbol (14);"
                      " csi = true channel on the full grid",
            "doppler_hz": doppler_hz(p["speed_mps"], p["carrier_hz"]),
            "symbol_duration_s": symbol_duration_s(p["subcarrier_spacing_hz"], p["cp_fraction"]),
            "units": {
                "snr_db": "dB, E|H|^2 / sigma^2 per resource element (unit-energy pilots)",
                "noise_var": "linear, relative to E|H|^2 = 1",
                "pilots_tx": "unit-energy QPSK symbols",
            },
        },
    )
