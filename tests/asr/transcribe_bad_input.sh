#!/usr/bin/env bash
# hearth transcribe on bad audio files: exit status 1 and one line on stderr
# naming the file and the problem, for each; a good file still transcribes
# after every one. Also: a bad --format or --language is refused in one line,
# a missing model, Python or faster-whisper says to run scripts/setup.sh --asr,
# and a helper that misbehaves gives one clear line (exit status 3).
# Usage: transcribe_bad_input.sh HEARTH_BINARY PYTHON
set -uo pipefail
hearth=$1
python=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

espeak-ng -v en-us -s 160 -w "$tmp/good.wav" "Please call Stella and ask her to bring these things."  || { echo "espeak-ng failed"; exit 1; }

# A WAV file from the good one's header with chosen changes, written by Python
# (offsets: 20 format tag, 22 channels, 24 sample rate, 40 data size).
patch_wav() {  # patch_wav OUT OFFSET FORMAT VALUE [TRUNCATE_TO]
  "$python" - "$tmp/good.wav" "$@" <<'PY'
import struct, sys
src, out, offset, fmt, value = sys.argv[1:6]
data = bytearray(open(src, "rb").read())
struct.pack_into(fmt, data, int(offset), int(value, 0))
if len(sys.argv) > 6:
    data = data[: int(sys.argv[6])]
open(out, "wb").write(data)
PY
}

: > "$tmp/empty.wav"
printf 'This is a text file, not audio.\n' > "$tmp/notes.wav"
head -c 30 "$tmp/good.wav" > "$tmp/short_header.wav"
head -c 2000 "$tmp/good.wav" > "$tmp/truncated.wav"
patch_wav "$tmp/mp3.wav" 20 '<H' 0x55
patch_wav "$tmp/adpcm.wav" 20 '<H' 0x02
patch_wav "$tmp/no_channels.wav" 22 '<H' 0
patch_wav "$tmp/absurd_rate.wav" 24 '<I' 5
patch_wav "$tmp/no_samples.wav" 40 '<I' 0 44

# file | what the message must say | expected exit status
cases=(
  "empty.wav|the file is empty"
  "notes.wav|not a RIFF/WAVE file"
  "short_header.wav|truncated header"
  "truncated.wav|data chunk shorter than declared"
  "mp3.wav|format tag 0x0055 (MPEG Layer 3 (MP3))"
  "adpcm.wav|Microsoft ADPCM"
  "no_channels.wav|zero channels"
  "absurd_rate.wav|absurd sample rate 5 Hz"
  "no_samples.wav|zero-length audio"
  "missing.wav|no such audio file"
)

good_check() {
  local out
  out=$("$hearth" transcribe "$tmp/good.wav" -t 2 2>/dev/null) || { fail "good file failed after $1"; return; }
  grep -qi "bring these things" <<<"$out" || fail "good file after $1 gave '$out'"
}

for entry in "${cases[@]}"; do
  name=${entry%%|*}
  want=${entry#*|}
  "$hearth" transcribe "$tmp/$name" >"$tmp/out" 2>"$tmp/err"
  status=$?
  lines=$(wc -l <"$tmp/err")
  msg=$(cat "$tmp/err")
  [[ $status -eq 1 ]] || fail "$name: exit status $status, expected 1 ($msg)"
  [[ $lines -eq 1 ]] || fail "$name: $lines lines on stderr, expected 1: $msg"
  [[ $msg == *"$name"* ]] || fail "$name: the message does not name the file: $msg"
  [[ $msg == *"$want"* ]] || fail "$name: the message lacks '$want': $msg"
  [[ -s $tmp/out ]] && fail "$name: something on stdout: $(head -c 200 "$tmp/out")"
  echo "$name -> $msg"
  good_check "$name"
done

"$hearth" transcribe "$tmp/good.wav" --format mp4 >/dev/null 2>"$tmp/err"
status=$?
[[ $status -eq 1 || $status -eq 2 ]] || fail "--format mp4: exit status $status"
grep -q "unknown transcription format 'mp4'" "$tmp/err" || fail "--format mp4: $(cat "$tmp/err")"

"$hearth" transcribe "$tmp/good.wav" --language xx >/dev/null 2>"$tmp/err"
status=$?
[[ $status -eq 1 && $(wc -l <"$tmp/err") -eq 1 ]] || fail "--language xx: exit status $status: $(cat "$tmp/err")"
grep -q "unsupported language: 'xx' is not a valid language code" "$tmp/err" || fail "--language xx: $(cat "$tmp/err")"

# The engine missing: a model directory without a model, then no Python.
mkdir -p "$tmp/no_model"
HEARTH_WHISPER_MODEL="$tmp/no_model" "$hearth" transcribe "$tmp/good.wav" >/dev/null 2>"$tmp/err"
status=$?
[[ $status -eq 1 ]] || fail "missing model: exit status $status"
grep -q "scripts/setup.sh --asr" "$tmp/err" || fail "missing model: no setup hint: $(cat "$tmp/err")"
echo "missing model -> $(cat "$tmp/err")"
HEARTH_WHISPER_PYTHON="$tmp/no_python" "$hearth" transcribe "$tmp/good.wav" >/dev/null 2>"$tmp/err"
status=$?
[[ $status -eq 1 ]] || fail "missing Python: exit status $status"
grep -q "scripts/setup.sh --asr" "$tmp/err" || fail "missing Python: no setup hint: $(cat "$tmp/err")"
echo "missing Python -> $(cat "$tmp/err")"
# A Python without faster-whisper (the system one, outside the venv).
if ! /usr/bin/python3 -c "import faster_whisper" 2>/dev/null; then
  HEARTH_WHISPER_PYTHON=/usr/bin/python3 "$hearth" transcribe "$tmp/good.wav" >/dev/null 2>"$tmp/err"
  status=$?
  [[ $status -eq 1 ]] || fail "Python without faster-whisper: exit status $status"
  grep -q "faster-whisper is not installed" "$tmp/err" || fail "Python without faster-whisper: $(cat "$tmp/err")"
  echo "no faster-whisper -> $(cat "$tmp/err")"
fi

# A helper that misbehaves (a stand-in for the Python interpreter): garbage on
# stdout, a crash, a failure with a traceback; and one that is noisy on stderr
# but answers properly, whose noise must not reach the output.
fake_helper() {  # fake_helper NAME BODY
  printf '#!/bin/sh\ncat >/dev/null\n%s\n' "$2" > "$tmp/$1"
  chmod +x "$tmp/$1"
}
fake_helper garbage "echo 'this is not JSON'"
fake_helper crash "echo 'about to crash' >&2; kill -SEGV \$\$"
fake_helper traceback "printf 'Traceback (most recent call last):\\n  File x\\nRuntimeError: boom\\n' >&2; exit 1"
fake_helper noisy "echo 'a warning on stderr' >&2; echo '{\"text\": \"fine\", \"language\": \"en\", \"segments\": []}'"
helper_cases=(
  "garbage|printed something that is not JSON"
  "crash|killed by signal 11 (about to crash)"
  "traceback|exit status 1): RuntimeError: boom"
)
for entry in "${helper_cases[@]}"; do
  name=${entry%%|*}
  want=${entry#*|}
  HEARTH_WHISPER_PYTHON="$tmp/$name" "$hearth" transcribe "$tmp/good.wav" >"$tmp/out" 2>"$tmp/err"
  status=$?
  msg=$(cat "$tmp/err")
  # The engine failing is Hearth's internal error (exit status 3), not the user's.
  [[ $status -eq 3 ]] || fail "helper $name: exit status $status, expected 3 ($msg)"
  [[ $(wc -l <"$tmp/err") -eq 1 ]] || fail "helper $name: not one line on stderr: $msg"
  [[ $msg == *"$want"* ]] || fail "helper $name: the message lacks '$want': $msg"
  echo "helper $name -> $msg"
done
out=$(HEARTH_WHISPER_PYTHON="$tmp/noisy" "$hearth" transcribe "$tmp/good.wav" --format json 2>"$tmp/err")
[[ $out == '{"text":"fine"}' ]] || fail "noisy helper: output '$out' (stderr: $(cat "$tmp/err"))"
good_check "the engine checks"

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all bad-input checks passed"
