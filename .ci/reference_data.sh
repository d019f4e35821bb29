#!/usr/bin/env bash
# Reference tools for the DeepMIMO comparison tests (tests/test_deepmimo_v3_reference.py,
# tests/test_deepmimo_v4.py), which skip without them. Called from .ci/run with the venv at .venv.
# These are the `reference` extra of pyproject.toml, installed so that the venv's numpy stays
# as it is: deepmimo 4.0.5 declares numpy<2.3 (a plain `pip install 'wzoo[reference]'` downgrades
# numpy), yet the parts the tests use run on the project's numpy, so it goes in without its
# dependencies and its one missing runtime dependency (requests) is added by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m pip install --quiet "deepmimov3==0.2.9" requests
"$PY" -m pip install --quiet --no-deps "deepmimo==4.0.5"
"$PY" -c "import deepmimo, DeepMIMOv3" >/dev/null
