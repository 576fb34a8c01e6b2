#!/usr/bin/env python3
"""OCR accuracy of `hearth ocr` (the ocr_tesseract plugin) on images this test
renders itself from known text with ImageMagick: five fonts, sizes from 10 to
24 pt at 300 dpi, and noisy, blurred and rotated variants in three of them. Prints the character
error rate (CER: edit distance over reference length, whitespace collapsed)
for every image and asserts CER < 3% on each clean image of 12 pt and more,
and looser bounds on the degraded ones (so a broken pipeline still fails)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "asr"))
from wer import edit_distance  # noqa: E402  (Levenshtein over any sequences: characters here)

HEARTH = sys.argv[1]

# Text with digits, capitals and punctuation, as a letter or invoice has it.
PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog. Invoice 4711 is due on 12 March 2025.",
    "Please send the signed contract to Maria Lopez, 18 Harbour Street, Bristol BS1 4QA.",
    "Our meeting moved from Tuesday to Thursday at 3:45 pm; bring the budget for 2026.",
]

FONT_FILES = {
    "DejaVu Sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "DejaVu Serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "Liberation Sans": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "Liberation Serif": "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "Liberation Mono": "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
}

# (label, ImageMagick options applied after rendering, CER bound or None for report-only)
DEGRADATIONS = {
    "clean": ([], 0.03),
    "noise": (["-attenuate", "1.5", "+noise", "Gaussian", "-colorspace", "Gray"], 0.06),
    "blur": (["-blur", "0x1.2"], 0.06),
    "rotated 2 deg": (["-background", "white", "-rotate", "2"], 0.06),
    "rotated -4 deg": (["-background", "white", "-rotate", "-4"], 0.10),
}


def collapse(text):
    return " ".join(text.split())


def render(path, text, font_file, points, extra):
    cmd = ["convert", "-density", "300", "-units", "PixelsPerInch", "-background", "white", "-fill", "black",
           "-font", font_file, "-pointsize", str(points), "-size", "2400x", "caption:" + text,
           "-bordercolor", "white", "-border", "80"] + extra + [path]
    subprocess.run(cmd, check=True, capture_output=True)


def main():
    missing = [f for f in FONT_FILES.values() if not os.path.exists(f)]
    if missing:
        sys.exit("ocr_accuracy: fonts missing (scripts/setup.sh installs fonts-dejavu-core and fonts-liberation): "
                 + ", ".join(missing))
    cases = []  # (font, points, degradation)
    for font in FONT_FILES:
        for points in (10, 12, 16, 24):
            cases.append((font, points, "clean"))
    for font in ("DejaVu Sans", "Liberation Serif", "Liberation Mono"):
        for degradation in ("noise", "blur", "rotated 2 deg", "rotated -4 deg"):
            cases.append((font, 14, degradation))
    text = "\n".join(PARAGRAPHS)
    reference = collapse(text)
    failures = []
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'font':18} {'pt':>3} {'variant':15} {'CER':>7}")
        for n, (font, points, degradation) in enumerate(cases):
            extra, bound = DEGRADATIONS[degradation]
            image = os.path.join(tmp, f"case{n}.png")
            render(image, text, FONT_FILES[font], points, extra)
            run = subprocess.run([HEARTH, "ocr", image], capture_output=True, text=True, timeout=120)
            if run.returncode != 0:
                failures.append(f"{font} {points}pt {degradation}: hearth ocr failed: {run.stderr.strip()}")
                continue
            got = collapse(run.stdout)
            cer = edit_distance(reference, got) / len(reference)
            print(f"{font:18} {points:>3} {degradation:15} {cer * 100:6.2f}%")
            key = degradation if degradation != "clean" else ("clean 12pt+" if points >= 12 else "clean 10pt")
            totals.setdefault(key, []).append(cer)
            limit = bound if (degradation != "clean" or points >= 12) else None
            if limit is not None and cer >= limit:
                failures.append(f"{font} {points}pt {degradation}: CER {cer * 100:.2f}% >= {limit * 100:.0f}%\n"
                                f"    expected: {reference}\n    got:      {got}")
    print()
    for key, values in totals.items():
        print(f"mean CER {key:15} {sum(values) / len(values) * 100:6.2f}% over {len(values)} images")
    if failures:
        print("\nFAILED:\n" + "\n".join(failures))
        sys.exit(1)
    print(f"ok: {len(cases)} images, every clean 12pt+ image under 3% CER")


if __name__ == "__main__":
    main()
