"""The asr_whisper plugin's Python side: transcribes 16 kHz mono float32
samples (little-endian, read from stdin) with faster-whisper and writes one
JSON object to stdout. Everything else anything prints goes to stderr.

Exit status: 0 success, 2 bad arguments or input, 3 faster-whisper missing,
4 the model could not be loaded, 5 transcription failed.
"""
import argparse
import json
import os
import sys

SAMPLE_RATE = 16000


def main():
    # Keep the real stdout for the result alone; C-level chatter from the
    # engine (and any print) lands on stderr instead.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--language", default="auto")
    parser.add_argument("--word-timestamps", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--compute-type", default="int8")
    args = parser.parse_args()

    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import numpy as np
        from faster_whisper import WhisperModel
    except ImportError as e:
        print(f"faster-whisper is not installed for {sys.executable} ({e})", file=sys.stderr)
        return 3

    raw = sys.stdin.buffer.read()
    if len(raw) % 4 != 0 or not raw:
        print(f"expected float32 samples on stdin, got {len(raw)} bytes", file=sys.stderr)
        return 2
    audio = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    duration = len(audio) / SAMPLE_RATE

    try:
        model = WhisperModel(args.model, device="cpu", compute_type=args.compute_type,
                             cpu_threads=args.threads, local_files_only=True)
    except Exception as e:  # the engine raises plain RuntimeErrors for a bad model
        print(f"cannot load the Whisper model in {args.model}: {e}", file=sys.stderr)
        return 4

    language = None if args.language in ("", "auto") else args.language
    try:
        segments, info = model.transcribe(audio, language=language, beam_size=args.beam_size,
                                          word_timestamps=bool(args.word_timestamps),
                                          condition_on_previous_text=False)
        out_segments = []
        for s in segments:
            seg = {
                "id": len(out_segments),
                "seek": int(s.seek),
                "start": round(min(float(s.start), duration), 3),
                "end": round(min(float(s.end), duration), 3),
                "text": s.text,
                "tokens": [int(t) for t in s.tokens],
                "temperature": float(s.temperature),
                "avg_logprob": float(s.avg_logprob),
                "compression_ratio": float(s.compression_ratio),
                "no_speech_prob": float(s.no_speech_prob),
            }
            if s.words is not None:
                seg["words"] = [{"word": w.word,
                                 "start": round(min(float(w.start), duration), 3),
                                 "end": round(min(float(w.end), duration), 3),
                                 "probability": float(w.probability)} for w in s.words]
            out_segments.append(seg)
    except ValueError as e:  # an unknown language code, for one
        print(f"unsupported language: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        print(f"transcription failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 5

    result = {
        "text": "".join(s["text"] for s in out_segments).strip(),
        "language": info.language,
        "language_probability": float(info.language_probability),
        "duration": duration,
        "segments": out_segments,
    }
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        json.dump(result, out, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
