"""A built-in HAR stand-in: synthetic CSI amplitudes (T × M × N) with 7 activity classes.

Real HAR needs real measurements (the paper uses UT-HAR); this lets `wzoo run lvm4csi/har`
run on a fresh machine. Each class is a body-motion burst with its own Doppler rate,
duration and strength, at a random time and phase, over a static multipath profile that
differs per sample, plus measurement noise. Vectorised over samples (no Python loops).
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ("lie down", "fall", "walk", "pick up", "run", "sit down", "stand up")
# (Doppler cycles per window, burst length as a fraction of the window, strength)
_SIGNATURES = np.array([
    (2.0, 0.35, 0.6), (6.0, 0.12, 1.2), (10.0, 0.9, 0.5), (4.0, 0.25, 0.8),
    (20.0, 0.9, 0.9), (3.0, 0.3, 0.5), (5.0, 0.3, 0.7),
])


def synthetic_har(n: int, seed: int = 0, T: int = 250, M: int = 3, N: int = 30, noise: float = 0.15):
    """(amplitudes (n, T, M, N) float32, labels (n,) int64)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASS_NAMES), size=n)
    f, dur, amp = (_SIGNATURES[labels, i] * rng.uniform(0.85, 1.15, size=n) for i in range(3))
    t = np.arange(T)[None, :] / T
    start = rng.uniform(0, 1 - np.minimum(dur, 0.95), size=n)[:, None]
    env = np.clip(1 - np.abs((t - start - dur[:, None] / 2) / (dur[:, None] / 2)), 0, 1) ** 0.5
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, M, N))
    motion = (amp[:, None] * env)[:, :, None, None] * np.sin(2 * np.pi * f[:, None, None, None] * t[..., None, None] + phase)
    k = np.arange(N)[None, None, :]
    static = 1.0 + 0.4 * np.cos(2 * np.pi * k * rng.uniform(0.02, 0.1, size=(n, M, 1)) + rng.uniform(0, 6.3, size=(n, M, 1)))
    x = static[:, None] * (1.0 + 0.5 * motion) + noise * rng.standard_normal((n, T, M, N))
    return np.abs(x).astype(np.float32), labels.astype(np.int64)
