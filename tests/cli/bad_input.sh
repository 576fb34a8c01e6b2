#!/usr/bin/env bash
# Each bad invocation must exit with status 1 or 2, print exactly one line on
# stderr that names the problem, and never crash or hang.
set -u
hearth=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model="${HEARTH_HOME:-$HOME/.cache/hearth}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
[[ -f $model ]] || { echo "FAIL: default model missing ($model); run scripts/setup.sh"; exit 1; }

head -c 1000000 "$model" > "$tmp/truncated.gguf"
echo "this is not a model" > "$tmp/not-a-model.gguf"
: > "$tmp/empty.gguf"

passed=0 failed=0
expect() {  # expect "description" "pattern the error line must match" args...
  local what=$1 pattern=$2; shift 2
  timeout 60 "$hearth" "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$? lines
  lines=$(wc -l < "$tmp/err")
  if [[ $rc -ne 1 && $rc -ne 2 ]]; then
    echo "FAIL $what: exit status $rc (want 1 or 2)"; cat "$tmp/err"; failed=$((failed+1)); return
  fi
  if [[ $lines -ne 1 ]]; then
    echo "FAIL $what: $lines lines on stderr (want 1)"; cat "$tmp/err"; failed=$((failed+1)); return
  fi
  if ! grep -qiE -- "$pattern" "$tmp/err"; then
    echo "FAIL $what: '$(cat "$tmp/err")' does not match /$pattern/"; failed=$((failed+1)); return
  fi
  echo "ok   $what (exit $rc): $(cat "$tmp/err")"; passed=$((passed+1))
}

expect "truncated GGUF" "truncated\.gguf.*(truncat|end of|past|left in the file)" run -m "$tmp/truncated.gguf" -p hi -n 1
expect "not a GGUF file" "not-a-model\.gguf.*(magic|not a GGUF)" run -m "$tmp/not-a-model.gguf" -p hi -n 1
expect "empty file" "empty\.gguf" info "$tmp/empty.gguf"
expect "missing file" "no-such-model\.gguf" run -m "$tmp/no-such-model.gguf" -p hi
expect "negative token count" "n-predict|-n" run -p hi -n -5
expect "non-numeric temperature" "temp.*abc|abc.*temp" run -p hi --temp abc
expect "temperature out of range" "temperature" run -p hi --temp 1e9
expect "top-p out of range" "top-p" run -p hi --top-p 7
expect "absurd context" "context" run -p hi -c 100000000000
expect "unknown flag" "--frobnicate" run -p hi --frobnicate
expect "missing prompt" "prompt" run
expect "directory as model" "directory" run -m "$tmp" -p hi
expect "memory budget below the weights" "budget of 10.0 MiB.*weights alone do not fit" run -p hi --max-memory 10M
expect "memory budget below the context" "-c [0-9]+" run -p hi -c 4096 --max-memory 200M
expect "unparsable memory budget" "invalid size 'lots'" run -p hi --max-memory lots
expect "unknown KV type" "KV cache type 'q4_0'|unknown KV cache type" run -p hi --kv-type q4_0
expect "heap copy over the budget" "no-mmap|budget" run -p hi --no-mmap --max-memory 50M
expect "quantize: missing input" "no-such-model\.gguf" quantize "$tmp/no-such-model.gguf" "$tmp/q.gguf" q8_0
expect "quantize: corrupt input" "truncated\.gguf" quantize "$tmp/truncated.gguf" "$tmp/q.gguf" q8_0
expect "quantize: unknown type" "q9_z.*accepted" quantize "$model" "$tmp/q.gguf" q9_z
expect "quantize: output is the input" "input" quantize "$model" "$model" q8_0
expect "quantize: no output directory" "no-such-dir" quantize "$model" "$tmp/no-such-dir/q.gguf" q8_0
expect "quantize: missing type" "type" quantize "$model" "$tmp/q.gguf"
dev() {  # a device file: the seed's example with one field replaced
  printf '{"device_name": "d", "cpu_cores": %s, "memory_size": %s, "gpu_available": %s, "npu_performance": 1}' "$1" "$2" "$3" > "$tmp/dev.json"
}
dev '"eight"' 16 true; expect "device file: wrong type" '"cpu_cores" must be a whole number' device check "$tmp/dev.json"
dev -4 16 true; expect "device file: negative core count" '"cpu_cores" must be within' plan --device "$tmp/dev.json"
dev 8 '"16 parsecs"' true; expect "device file: unknown unit" '"memory_size" has an unknown unit' device check "$tmp/dev.json"
dev 8 16 1; expect "device file: number for a boolean" '"gpu_available" must be true or false' device check "$tmp/dev.json"
echo '{"device_name": ' > "$tmp/dev.json"; expect "device file: malformed JSON" 'dev\.json: not valid JSON' device check "$tmp/dev.json"
expect "device file: missing" 'no-such-device\.json' plan --device "$tmp/no-such-device.json"
dev 8 16 true; expect "run: bad --offload" "--offload must be auto or all" run -p hi -n 1 --device "$tmp/dev.json" --offload sometimes
expect "run: --offload without --device" "need --device FILE" run -p hi -n 1 --offload all
dev 8 16 true; expect "run: --offload all with no OpenCL accelerator" "names no accelerator with an OpenCL backend" run -p hi -n 1 --device "$tmp/dev.json" --offload all
expect "run: missing device file" "no-such-device\.json" run -p hi -n 1 --device "$tmp/no-such-device.json"
if [[ -n $(find "$tmp" -name 'q.gguf*') ]]; then echo "FAIL quantize left a file behind"; failed=$((failed+1)); fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
