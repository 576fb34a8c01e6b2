#!/usr/bin/env python3
"""Word error rate of the speech engines available here, on the same audio:
`hearth transcribe` (the asr_whisper plugin: faster-whisper, Whisper base,
int8, beam 5) and pocketsphinx with the en-us model its PyPI wheel carries.
Each of the 24 sentences of tests/asr/speech_corpus.py is spoken by espeak-ng
(-v en-us -s 160) and resampled to 16 kHz mono; both engines get the same
files, one utterance each. Run with the Python of Hearth's venv (numpy);
pocketsphinx is installed into it with pip when missing.

  $HEARTH_HOME/venv/bin/python bench/asr/engines.py [--hearth build/bin/hearth]
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "asr"))
import numpy as np  # noqa: E402
from audio_variants import read_wav_pcm16, resample_fft, write_wav  # noqa: E402
from speech_corpus import SENTENCES  # noqa: E402
from wer import wer  # noqa: E402


def pocketsphinx_decoder():
    try:
        ps = importlib.import_module("pocketsphinx")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pocketsphinx"], check=True)
        ps = importlib.import_module("pocketsphinx")
    return ps.Decoder(samprate=16000)


def pocketsphinx_transcribe(decoder, samples):
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp else ""


def hearth_transcribe(hearth, path):
    out = subprocess.run([hearth, "transcribe", path, "--format", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"hearth transcribe failed on {path}: {out.stderr.strip()}")
    return json.loads(out.stdout)["text"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hearth", default=os.path.join(REPO, "build", "bin", "hearth"))
    args = ap.parse_args()
    decoder = pocketsphinx_decoder()
    engines = {"hearth transcribe (faster-whisper base int8)": [], "pocketsphinx 5 (en-us)": []}
    seconds = {name: 0.0 for name in engines}
    audio = 0.0
    with tempfile.TemporaryDirectory(prefix="hearth_asr_engines_") as tmp:
        for i, sentence in enumerate(SENTENCES):
            raw = os.path.join(tmp, f"{i}_espeak.wav")
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", raw, sentence], check=True)
            x, rate = read_wav_pcm16(raw)
            y = resample_fft(x, rate, 16000)
            path = os.path.join(tmp, f"{i}.wav")
            write_wav(path, y, 16000)
            y, _ = read_wav_pcm16(path)  # the very samples the file gives hearth
            audio += len(y) / 16000.0
            for name, run in (("hearth transcribe (faster-whisper base int8)", lambda: hearth_transcribe(args.hearth, path)),
                              ("pocketsphinx 5 (en-us)", lambda: pocketsphinx_transcribe(decoder, y))):
                t0 = time.monotonic()
                engines[name].append(run())
                seconds[name] += time.monotonic() - t0
    reference = " ".join(SENTENCES)
    print(f"{len(SENTENCES)} sentences, {audio:.1f} s of audio at 16 kHz")
    print(f"{'engine':48} {'WER raw':>14} {'WER numbers':>14} {'time':>8}")
    for name, hyps in engines.items():
        e1, n = wer(reference, " ".join(hyps))
        e2, n2 = wer(reference, " ".join(hyps), numbers=True)
        print(f"{name:48} {e1:4d}/{n} {100.0 * e1 / n:5.1f}% {e2:4d}/{n2} {100.0 * e2 / n2:5.1f}% {seconds[name]:7.1f}s")


if __name__ == "__main__":
    main()
