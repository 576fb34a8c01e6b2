#!/usr/bin/env bash
# Runs the whole test suite: unit tests, fuzzing (bounded), and parity with llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HEARTH_HOME=${HEARTH_HOME:-$HOME/.cache/hearth}
cd build
ctest --output-on-failure -j2 --timeout 900
