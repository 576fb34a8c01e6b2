#!/usr/bin/env bash
# read-and-summarize end to end on the default model: an image of a short
# notice rendered with ImageMagick goes through OCR and the LLM. The OCR text
# must carry every fact exactly; the summary (SmolLM2-135M, greedy) must repeat
# the facts a small model reliably keeps: the person's surname and the place.
# Then bad input: each case exits 1 with one line on stderr naming the problem.
set -u
hearth=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model="${HEARTH_HOME:-$HOME/.cache/hearth}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
[[ -f $model ]] || { echo "FAIL: default model missing ($model); run scripts/setup.sh"; exit 1; }
command -v convert > /dev/null || { echo "FAIL: ImageMagick's convert is not installed"; exit 1; }

passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed+1)); }
bad() { echo "FAIL $1"; failed=$((failed+1)); }

img="$tmp/notice.png"
convert -size 1400x420 xc:white -font Liberation-Sans -pointsize 40 -fill black \
  -annotate +50+90 "NOTICE" \
  -annotate +50+170 "Dr. Maria Fernandez will open the new Oakwood Library" \
  -annotate +50+250 "on Monday, June 12. The library holds 4500 books." \
  -annotate +50+330 "Everyone in Springfield is welcome." "$img" || { echo "FAIL: convert could not render the notice"; exit 1; }

start=$(date +%s%N)
timeout 240 "$hearth" pipeline run read-and-summarize --input "image=$img" --json > "$tmp/result.json" 2> "$tmp/err"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [[ $rc -ne 0 ]]; then
  bad "run exited $rc: $(cat "$tmp/err")"
else
  echo "     read-and-summarize took $ms ms (whole process)"
  python3 - "$tmp/result.json" > "$tmp/check" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ocr = r["outputs"]["text"]
summary = r["outputs"]["summary"]
steps = {s["id"]: s for s in r["steps"]}
print("OCR:", " ".join(ocr.split()))
print("SUMMARY:", " ".join(summary.split()))
print("STEP MS:", {k: round(v["ms"]) for k, v in steps.items()}, "total", round(r["total_ms"]))
problems = []
for fact in ["Maria Fernandez", "Oakwood Library", "Monday, June 12", "4500", "Springfield"]:
    if fact not in ocr:
        problems.append("OCR text lacks %r" % fact)
low = summary.lower()
for fact in ["fernandez", "oakwood"]:
    if fact not in low:
        problems.append("summary lacks %r" % fact)
if list(steps) != ["read", "summary"]:
    problems.append("steps ran as %s, want read then summary" % list(steps))
if steps.get("read", {}).get("plugin") != "ocr_tesseract":
    problems.append("the read step did not use ocr_tesseract")
if steps.get("summary", {}).get("output", {}).get("tokens", 0) < 1:
    problems.append("the summary step generated no tokens")
for p in problems:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
PY
  if [[ $? -eq 0 ]]; then ok "OCR text has every fact; summary names Fernandez and Oakwood"; else bad "result"; fi
  sed 's/^/     /' "$tmp/check"
fi

# Plain output: the outputs, each under its name.
timeout 240 "$hearth" pipeline run read-and-summarize --input "image=$img" > "$tmp/plain" 2> "$tmp/err"
if [[ $? -eq 0 ]] && grep -q '^\[text\]$' "$tmp/plain" && grep -q '^\[summary\]$' "$tmp/plain" && grep -q 'Oakwood Library' "$tmp/plain" \
   && grep -q 'read-and-summarize: read .* ms, summary .* ms; total' "$tmp/err"; then
  ok "plain output prints [text] and [summary], timings on stderr"
else
  bad "plain output: $(cat "$tmp/plain" "$tmp/err")"
fi

# The built-ins are listed and check clean, by name.
if "$hearth" pipeline list > "$tmp/list" 2>&1 && grep -q '^read-and-summarize ' "$tmp/list" \
   && grep -q '^transcribe-and-answer ' "$tmp/list" && grep -q 'inputs: image=image' "$tmp/list"; then
  ok "pipeline list shows both built-ins and their inputs"
else
  bad "pipeline list: $(cat "$tmp/list")"
fi
if "$hearth" pipeline check read-and-summarize --plugins > "$tmp/out" 2>&1 && grep -q ': ok (' "$tmp/out"; then
  ok "pipeline check read-and-summarize --plugins: $(cat "$tmp/out")"
else
  bad "pipeline check: $(cat "$tmp/out")"
fi

expect() {  # expect "description" "pattern the one error line must match" args...
  local what=$1 pattern=$2; shift 2
  timeout 60 "$hearth" "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$? lines
  lines=$(wc -l < "$tmp/err")
  if [[ $rc -ne 1 ]]; then bad "$what: exit status $rc (want 1): $(cat "$tmp/err")"; return; fi
  if [[ $lines -ne 1 ]]; then bad "$what: $lines lines on stderr (want 1): $(cat "$tmp/err")"; return; fi
  if ! grep -qE -- "$pattern" "$tmp/err"; then bad "$what: '$(cat "$tmp/err")' does not match /$pattern/"; return; fi
  ok "$what (exit 1): $(cat "$tmp/err")"
}

printf '{"name": "broken", "steps": [' > "$tmp/malformed.json"
cat > "$tmp/cycle.json" <<'JSON'
{"name": "loop", "steps": [
  {"id": "a", "kind": "template", "text": "{{steps.b.text}}"},
  {"id": "b", "kind": "template", "text": "{{steps.a.text}}"}],
 "outputs": {"x": "{{steps.a.text}}"}}
JSON
cat > "$tmp/huge.json" <<'JSON'
{"name": "huge", "steps": [{"id": "a", "kind": "llm", "prompt": "hi", "max_tokens": 1000000}],
 "outputs": {"x": "{{steps.a.text}}"}}
JSON
expect "missing input" "needs input 'image'" pipeline run read-and-summarize
expect "missing image file" "input 'image': $tmp/nowhere.png: no such image file" \
  pipeline run read-and-summarize --input "image=$tmp/nowhere.png"
expect "malformed pipeline file" "malformed.json: not valid JSON" pipeline run "$tmp/malformed.json" --input "image=$img"
expect "malformed pipeline file (check)" "malformed.json: not valid JSON" pipeline check "$tmp/malformed.json"
expect "cycle (check)" "cycle.json: steps: the steps form a cycle: a -> b -> a" pipeline check "$tmp/cycle.json"
expect "absurd max_tokens (check)" "huge.json: steps\[0\]\.max_tokens: must be within 1..4096" pipeline check "$tmp/huge.json"
expect "unknown input name" "has no input 'picture'" pipeline run read-and-summarize --input "picture=$img"
expect "input without =" "--input 'image' must be KEY=VALUE" pipeline run read-and-summarize --input image
expect "unknown pipeline" "no pipeline named 'read-and-summarise'" pipeline run read-and-summarise --input "image=$img"
echo "not an image" > "$tmp/text.png"
expect "image that is not an image" "step 'read' \(plugin ocr_tesseract/ocr\) failed: " \
  pipeline run read-and-summarize --input "image=$tmp/text.png"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
