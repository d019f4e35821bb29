#!/usr/bin/env bash
# CI for the Sionna RT generator (wzoo[sionna-rt]): LLVM 19 for Dr.Jit, the extra, its tests, and
# a ray tracing of 64 UEs of Sionna's shipped etoile scene saved in the sample format.
set -euo pipefail
cd "$(dirname "$0")/.."

# Sionna RT on CPU runs on Dr.Jit's LLVM backend; the older libLLVM on these machines crashes it
if ! ldconfig -p | grep -q 'libLLVM.so.19.1'; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libllvm19
fi
export DRJIT_LIBLLVM_PATH=libLLVM.so.19.1

.venv/bin/python -m pip install --quiet -e ".[sionna-rt]"
.venv/bin/python -m pytest -q tests/test_sionna_rt.py

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
.venv/bin/python - "$out/etoile.h5" <<'PY'
import sys
import time

import numpy as np

from zoo_core.data.generators import sionna_rt
from zoo_core.data.sample import WirelessData

n = 64
t0 = time.perf_counter()
data = sionna_rt.generate(n, seed=0, progress=True, scene="etoile", batch_size=32)
seconds = time.perf_counter() - t0
data.save(sys.argv[1])
back = WirelessData.load(sys.argv[1])
assert len(back) == n and back.csi.shape == (n, 1, 32, 64, 1), back
assert np.array_equal(back.csi, data.csi) and back.env_map.any() and (back.extras["n_paths"] > 0).all()
print(f"etoile: {n} UEs in {seconds:.1f} s = {seconds / n:.3f} s per UE (32-ULA, depth 3, 1e6 samples,"
      f" batches of 32), LOS {back.los.mean():.2f}, mean paths {back.extras['n_paths'].mean():.1f},"
      f" map {back.env_map.shape[1:]} at {float(back.map_scale[0]):.2f} m/px; wrote {back!r}")
PY
