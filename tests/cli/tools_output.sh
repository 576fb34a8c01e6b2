#!/usr/bin/env bash
# The benchmarking tools chained as bench/compare chains them: hearth synth
# writes a model of a real shape, hearth quantize converts it, hearth bench
# measures it; each --json carries the fields scripts read. No speed is
# asserted (speed is measured by bench/compare, never tested).
set -u
hearth=$1
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # check "description" file python-condition-on-j
  if python3 -c "import json,sys; j=json.load(open('$2')); sys.exit(0 if ($3) else 1)" 2>/dev/null; then
    echo "ok   $1"; passed=$((passed+1))
  else
    echo "FAIL $1"; cat "$2"; failed=$((failed+1))
  fi
}

"$hearth" synth --preset 135m --layers 2 --type q8_0 -o "$tmp/s.gguf" --json > "$tmp/synth.json" || failed=$((failed+1))
check "synth writes the 135m shape with the real vocabulary" "$tmp/synth.json" \
  "j['hparams']['n_vocab'] == 49152 and j['hparams']['n_embd'] == 576 and j['hparams']['n_layer'] == 2"
"$hearth" quantize "$tmp/s.gguf" "$tmp/q.gguf" q4_1 --json > "$tmp/quant.json" || failed=$((failed+1))
check "quantize reports its conversions" "$tmp/quant.json" "j['bytes_out'] < j['bytes_in']"
"$hearth" bench -m "$tmp/q.gguf" -p 32 -n 8 -r 2 -t 2 --json --memory > "$tmp/bench.json" || failed=$((failed+1))
check "bench --json has medians, spreads, model, type, threads" "$tmp/bench.json" \
  "all(k in j for k in ('pp_tps','tg_tps','pp_spread','tg_spread','model','type','threads')) and j['type'] == 'q4_1' and j['threads'] == 2"
check "bench ran every repetition and measured the bandwidth bound" "$tmp/bench.json" \
  "len(j['pp']['runs']) == 2 and len(j['tg']['runs']) == 2 and j['pp_tps'] > 0 and j['tg_tps'] > 0 and j['read_bandwidth_gbs'] > 0 and j['tg_bound_tps'] > 0"
check "bench measures the bandwidth before each tg run and sets each run against it" "$tmp/bench.json" \
  "len(j['read_bandwidth_runs_gbs']) == 2 and len(j['tg_fraction_runs']) == 2 and all(abs(f - t * j['bytes_read_per_token'] / (b * 1e9)) < 1e-6 * f for f, t, b in zip(j['tg_fraction_runs'], j['tg']['runs'], j['read_bandwidth_runs_gbs'])) and min(j['tg_fraction_runs']) <= j['tg_fraction_of_bound'] <= max(j['tg_fraction_runs'])"
check "bench --memory reports the arena beside the naive figure and the KV pool" "$tmp/bench.json" \
  "j['memory']['arena'] < j['memory']['arena_naive'] and j['memory']['kv_pool'] > 0 and j['memory']['peak_rss'] > 0"
"$hearth" bench -m "$tmp/q.gguf" -p 0 -n 4 -r 1 --no-bandwidth > "$tmp/bench.txt" 2>&1 || failed=$((failed+1))
if grep -q "^tg4 " "$tmp/bench.txt" && ! grep -q "^pp" "$tmp/bench.txt"; then
  echo "ok   bench -p 0 runs only the generation test"; passed=$((passed+1))
else
  echo "FAIL bench -p 0"; cat "$tmp/bench.txt"; failed=$((failed+1))
fi
for bad in "-r 0" "-p -5" "-b 0" "-t -1"; do
  "$hearth" bench -m "$tmp/q.gguf" $bad --no-bandwidth > "$tmp/out" 2> "$tmp/err"
  rc=$?
  if [[ $rc -eq 1 && $(wc -l < "$tmp/err") -eq 1 ]]; then
    echo "ok   bench $bad: exit 1, one line: $(cat "$tmp/err")"; passed=$((passed+1))
  else
    echo "FAIL bench $bad: exit $rc"; cat "$tmp/err"; failed=$((failed+1))
  fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
