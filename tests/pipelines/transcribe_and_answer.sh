#!/usr/bin/env bash
# transcribe-and-answer end to end on the default model: espeak-ng speaks a
# question whose answer is a fact a 135M model knows ("What is the capital of
# France?"); the answer must contain "Paris", and the transcript "capital" and
# "France". Exits 77 (SKIPPED) when no plugin with a capability of kind asr is
# found, saying so: the ASR plugin lives on another branch until it is merged.
set -u
hearth=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model="${HEARTH_HOME:-$HOME/.cache/hearth}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
[[ -f $model ]] || { echo "FAIL: default model missing ($model); run scripts/setup.sh"; exit 1; }

# Which plugins are there: `hearth plugins list --json` lists each one's capabilities with their kinds.
"$hearth" plugins list --json > "$tmp/plugins.json" 2> /dev/null
asr=$(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
for p in d.get("plugins", []):
    for c in p.get("capabilities", []) if p.get("ok") else []:
        if c.get("kind") == "asr":
            print(p["name"]); sys.exit(0)
' "$tmp/plugins.json")
if [[ -z $asr ]]; then
  echo "SKIPPED: no ASR plugin found (no plugin with a capability of kind asr in \`hearth plugins list\`)"
  exit 77
fi
echo "     ASR plugin: $asr"
command -v espeak-ng > /dev/null || { echo "FAIL: espeak-ng is not installed"; exit 1; }

wav="$tmp/question.wav"
espeak-ng -w "$wav" "What is the capital of France?" || { echo "FAIL: espeak-ng could not write $wav"; exit 1; }
start=$(date +%s%N)
timeout 240 "$hearth" pipeline run transcribe-and-answer --input "audio=$wav" --json > "$tmp/result.json" 2> "$tmp/err"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[[ $rc -eq 0 ]] || { echo "FAIL: run exited $rc: $(cat "$tmp/err")"; exit 1; }
echo "     transcribe-and-answer took $ms ms (whole process)"
python3 - "$tmp/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
transcript, answer = r["outputs"]["transcript"], r["outputs"]["answer"]
print("     TRANSCRIPT:", " ".join(transcript.split()))
print("     ANSWER:", " ".join(answer.split()))
print("     STEP MS:", {s["id"]: round(s["ms"]) for s in r["steps"]}, "total", round(r["total_ms"]))
problems = [w for w in ("capital", "france") if w not in transcript.lower()]
problems = ["transcript lacks %r" % w for w in problems]
if "paris" not in answer.lower():
    problems.append("answer lacks 'Paris'")
for p in problems:
    print("FAIL", p)
sys.exit(1 if problems else 0)
PY
rc=$?
[[ $rc -eq 0 ]] && echo "ok   transcript has the question, answer says Paris"

# No audio: one line naming the input.
timeout 60 "$hearth" pipeline run transcribe-and-answer --input "audio=$tmp/none.wav" > /dev/null 2> "$tmp/err"
if [[ $? -eq 1 && $(wc -l < "$tmp/err") -eq 1 ]] && grep -q "input 'audio': .*none.wav: no such audio file" "$tmp/err"; then
  echo "ok   missing audio file: $(cat "$tmp/err")"
else
  echo "FAIL missing audio file: $(cat "$tmp/err")"; rc=1
fi
exit $rc
