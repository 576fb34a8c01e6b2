#!/usr/bin/env bash
# Runs the whole test suite: unit tests, fuzzing (bounded) and parity with
# llama.cpp natively, then the unit tests again built for aarch64 and run under
# qemu-aarch64 (NEON kernels against their scalar references).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HEARTH_HOME=${HEARTH_HOME:-$HOME/.cache/hearth}
status=0
echo "== native ($(uname -m)) =="
(cd build && ctest --output-on-failure -j2 --timeout 900) || status=1
echo "== aarch64 under qemu-aarch64 =="
if bash scripts/setup.sh --test --aarch64; then
  (cd build-aarch64 && ctest --output-on-failure -j2 --timeout 900) || status=1
else
  echo "test.sh: the aarch64 cross toolchain could not be set up (see above): aarch64 tests not run" >&2
  status=1
fi
exit $status
