#!/usr/bin/env bash
# Builds the GGUF fuzz target with clang (libFuzzer, ASan, UBSan), writes its seed
# corpus and fuzzes for a bounded time. Fails on any crash, leak, timeout or OOM.
#   tests/fuzz/run_fuzz.sh OUT_DIR [SECONDS]     (SECONDS defaults to 60)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: run_fuzz.sh OUT_DIR [SECONDS]" >&2
  exit 2
fi
out=$1
seconds=${2:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "run_fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

cxx=""
for c in clang++-14 clang++; do
  if command -v "$c" >/dev/null 2>&1; then cxx=$c; break; fi
done
if [[ -z $cxx ]]; then
  echo "run_fuzz.sh: clang++ not found: install the Debian package 'clang' (scripts/setup.sh does)" >&2
  exit 1
fi
runtime_dir=$("$cxx" -print-runtime-dir 2>/dev/null || true)
if ! ls "$runtime_dir"/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
  echo "run_fuzz.sh: libFuzzer runtime not found in '$runtime_dir': install the Debian package" \
       "'libclang-rt-14-dev' (scripts/setup.sh does)" >&2
  exit 1
fi

mkdir -p "$out/obj" "$out/corpus" "$out/seeds" "$out/artifacts"
out=$(cd "$out" && pwd)
sanitizers=address,undefined
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all -pthread
       -I "$root/src" -I "$root/include" -Wno-unused-command-line-argument)

# Library sources go into an archive so that the linker pulls in only what the
# target uses; object files are rebuilt when their source or any header is newer.
sources=("$root"/src/core/*.cpp "$root"/src/formats/*.cpp)
compile() {  # compile SOURCE OBJECT SANITIZE_FLAG
  local src=$1 obj=$2
  if [[ -f $obj && ! $src -nt $obj ]] &&
     [[ -z $(find "$root/src" "$root/include" -name '*.h' -newer "$obj" -print -quit 2>/dev/null) ]]; then
    return 0
  fi
  "$cxx" "${flags[@]}" "$3" -c "$src" -o "$obj"
}
echo "run_fuzz.sh: compiling with $cxx into $out" >&2
objects=()
pids=()
for src in "${sources[@]}"; do
  name=$(basename "$(dirname "$src")")_$(basename "${src%.cpp}").o
  objects+=("$out/obj/$name")
  compile "$src" "$out/obj/$name" "-fsanitize=fuzzer-no-link,$sanitizers" &
  pids+=($!)
  if ((${#pids[@]} >= 2)); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done
rm -f "$out/libhearth_fuzz.a"
ar rcs "$out/libhearth_fuzz.a" "${objects[@]}"
"$cxx" "${flags[@]}" "-fsanitize=fuzzer,$sanitizers" "$root/tests/fuzz/gguf_fuzz.cpp" \
  "$out/libhearth_fuzz.a" -o "$out/gguf_fuzz"

# Seeds come from the target itself, written with GgufWriter.
rm -f "$out"/seeds/*
HEARTH_FUZZ_WRITE_SEEDS="$out/seeds" "$out/gguf_fuzz"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log="$out/fuzz.log"
echo "run_fuzz.sh: fuzzing for ${seconds}s (log: $log)" >&2
set +e
(cd "$out/artifacts" && "$out/gguf_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
  "$out/corpus" "$out/seeds") >"$log" 2>&1
rc=$?
set -e

execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
corpus_files=$(find "$out/corpus" -type f | wc -l)
if ((rc != 0)); then
  tail -n 80 "$log" >&2
  echo "run_fuzz.sh: FAILED (exit $rc) after ${execs:-?} executions; reproducer(s) in $out/artifacts:" >&2
  ls -1 "$out/artifacts" >&2 || true
  exit 1
fi
echo "run_fuzz.sh: ok: ${execs:-?} executions in ${seconds}s, corpus of $corpus_files inputs, no crash, leak or timeout"
