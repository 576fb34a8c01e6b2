#!/usr/bin/env bash
# hearth ocr on files that are not usable images: each gives exit status 1 and
# one line on stderr naming the file, and a good image still reads afterwards.
set -u
hearth=$1
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

convert -density 300 -units PixelsPerInch -background white -fill black -pointsize 14 -size 1600x \
  caption:"Hearth reads this line" -bordercolor white -border 60 "$tmp/good.png"
: > "$tmp/empty.png"
echo "just some text, not a picture" > "$tmp/text.png"
head -c 300 "$tmp/good.png" > "$tmp/truncated.png"
cp "$tmp/good.png" "$tmp/corrupt.png"
# Scribble over the compressed image data, keeping the PNG signature and header.
printf '\xde\xad\xbe\xef%.0s' $(seq 1 400) | dd of="$tmp/corrupt.png" bs=1 seek=80 conv=notrunc status=none
head -c 4096 /dev/urandom > "$tmp/random.jpg"

expect_one_line_error() {  # expect_one_line_error description file [args...]
  local what=$1 file=$2
  shift 2
  "$hearth" ocr "$file" "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$?
  if [[ $rc -eq 1 && $(wc -l < "$tmp/err") -eq 1 && ! -s "$tmp/out" ]] && grep -qF "$(basename "$file")" "$tmp/err"; then
    echo "ok   $what: $(cat "$tmp/err")"; passed=$((passed+1))
  else
    echo "FAIL $what (exit $rc)"; cat "$tmp/out" "$tmp/err"; failed=$((failed+1))
  fi
  # The next good call is unaffected.
  if [[ $("$hearth" ocr "$tmp/good.png" 2>&1) == "Hearth reads this line" ]]; then
    passed=$((passed+1))
  else
    echo "FAIL a good image after '$what'"; failed=$((failed+1))
  fi
}

expect_one_line_error "missing file" "$tmp/nowhere.png"
expect_one_line_error "empty file" "$tmp/empty.png"
expect_one_line_error "text file" "$tmp/text.png"
expect_one_line_error "truncated PNG" "$tmp/truncated.png"
expect_one_line_error "corrupt PNG" "$tmp/corrupt.png"
expect_one_line_error "random bytes as .jpg" "$tmp/random.jpg"
expect_one_line_error "a directory" "$tmp"

for bad in "--dpi 5" "--timeout 0" "--timeout -1"; do
  # shellcheck disable=SC2086
  "$hearth" ocr "$tmp/good.png" $bad > "$tmp/out" 2> "$tmp/err"
  rc=$?
  if [[ $rc -eq 1 && $(wc -l < "$tmp/err") -eq 1 ]]; then
    echo "ok   ocr $bad: $(cat "$tmp/err")"; passed=$((passed+1))
  else
    echo "FAIL ocr $bad (exit $rc)"; cat "$tmp/err"; failed=$((failed+1))
  fi
done
"$hearth" ocr "$tmp/good.png" --plugin-dir "$tmp/no-such-dir" > "$tmp/out" 2> "$tmp/err"
rc=$?
if [[ $rc -eq 1 ]] && grep -q "no-such-dir" "$tmp/err"; then
  echo "ok   a missing --plugin-dir is named"; passed=$((passed+1))
else
  echo "FAIL a missing --plugin-dir (exit $rc)"; cat "$tmp/err"; failed=$((failed+1))
fi
"$hearth" ocr "$tmp/good.png" --plugin word_count > "$tmp/out" 2> "$tmp/err"
rc=$?
if [[ $rc -eq 1 ]] && grep -q "has no ocr capability" "$tmp/err"; then
  echo "ok   a plugin without OCR is refused"; passed=$((passed+1))
else
  echo "FAIL --plugin word_count (exit $rc)"; cat "$tmp/err"; failed=$((failed+1))
fi
"$hearth" ocr "$tmp/good.png" --json > "$tmp/out" 2> "$tmp/err"
if python3 -c "import json,sys; j=json.load(open('$tmp/out')); w=j['words']; sys.exit(0 if [x['text'] for x in w]==['Hearth','reads','this','line'] and all(0<=x['confidence']<=100 for x in w) else 1)"; then
  echo "ok   --json has the words with confidences"; passed=$((passed+1))
else
  echo "FAIL --json words"; cat "$tmp/out" "$tmp/err"; failed=$((failed+1))
fi
echo "ocr_bad_input: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
