#!/usr/bin/env bash
# hearth run --json carries what scripts need, the same seed gives the same
# tokens, greedy is deterministic, and hearth chat answers every piped line.
set -u
hearth=$1
passed=0 failed=0
check() {  # check "description" python-condition-on-a-and-b
  if python3 -c "import json,sys; a=json.load(open('$tmp/a')); b=json.load(open('$tmp/b')); m=b.get('memory', {}); sys.exit(0 if ($2) else 1)"; then
    echo "ok   $1"; passed=$((passed+1))
  else
    echo "FAIL $1"; cat "$tmp/a" "$tmp/b"; failed=$((failed+1))
  fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$hearth" run -p "Once upon a time" -n 24 --temp 1.2 --seed 7 --json > "$tmp/a" || failed=$((failed+1))
"$hearth" run -p "Once upon a time" -n 24 --temp 1.2 --seed 7 --json > "$tmp/b" || failed=$((failed+1))
check "JSON has ids, text, timings" "all(k in a for k in ('prompt_tokens','tokens','text','timings','seed','finish_reason')) and all(k in a['timings'] for k in ('load_ms','prompt_tokens_per_s','generate_tokens_per_s'))"
check "same seed, same tokens" "a['tokens'] == b['tokens'] and a['seed'] == 7 and len(a['tokens']) > 0"
"$hearth" run -p "Once upon a time" -n 24 --temp 1.2 --seed 8 --json > "$tmp/b" || failed=$((failed+1))
check "another seed, other tokens" "a['tokens'] != b['tokens']"
"$hearth" run -p "The capital of France is" -n 16 --temp 0 --json > "$tmp/a" || failed=$((failed+1))
"$hearth" run -p "The capital of France is" -n 16 --temp 0 --json -t 1 > "$tmp/b" || failed=$((failed+1))
check "greedy is the same on 1 and 2 threads" "a['tokens'] == b['tokens'] and len(a['tokens']) == 16"
check "the text decodes the tokens" "len(a['text']) > 0 and a['finish_reason'] == 'length'"
# The stop string is three characters from the middle of the free run's text:
# the run with it must end right before their first appearance.
python3 -c "
import json, sys
t = json.load(open('$tmp/a'))['text']
for i in range(8, len(t) - 3):
    if all(c.isalnum() or c in ' ,.' for c in t[i:i + 3]):
        open('$tmp/stop', 'w').write(t[i:i + 3]); break
"
"$hearth" run -p "The capital of France is" -n 16 --temp 0 --json --stop "$(cat "$tmp/stop")" > "$tmp/b" || failed=$((failed+1))
check "a stop string ends the text before it ('$(cat "$tmp/stop")')" "(lambda s: s and b['text'] == a['text'][:a['text'].find(s)] and b['finish_reason'] == 'stop' and len(b['tokens']) < len(a['tokens']))(open('$tmp/stop').read())"

"$hearth" run -p "The capital of France is" -n 16 --temp 0 --json --no-mmap --mlock --kv-type f16 --memory-report > "$tmp/b" 2>/dev/null || failed=$((failed+1))
check "--no-mmap and --mlock change nothing in the output" "a['tokens'] == b['tokens']"
check "--memory-report: heap weights, planned arena far below naive, KV in use, peak RSS" \
  "m['weights_heap'] > 90e6 and m['weights_mapped'] == 0 and m['arena'] < 0.3 * m['arena_naive'] and 0 < m['kv_in_use'] <= m['kv_pool'] and m['peak_rss'] >= m['weights_heap']"
"$hearth" run -p "The capital of France is" -n 16 --temp 0 --json --kv-type q8_0 --memory-report > "$tmp/b" || failed=$((failed+1))
check "--kv-type q8_0 halves the pool and still answers" \
  "len(b['tokens']) == 16 and m['kv_pool'] < 0.6 * 90 * 2**20 and m['weights_mapped'] > 90e6 and a['timings']['time_to_first_token_ms'] > 0"

printf 'Hello!\nWhat is the capital of France?\n' | timeout 120 "$hearth" chat -n 24 --temp 0 > "$tmp/chat" 2> "$tmp/chat.err"
rc=$?
if [[ $rc -eq 0 && $(grep -c . "$tmp/chat") -ge 2 ]]; then
  echo "ok   chat answers two piped lines"; passed=$((passed+1))
else
  echo "FAIL chat (exit $rc)"; cat "$tmp/chat" "$tmp/chat.err"; failed=$((failed+1))
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
