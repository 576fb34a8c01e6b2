"""Writes speech as WAV files in the encodings the asr_whisper plugin reads,
for the tests: integer PCM 8/16/24-bit, float 32, plain or
WAVE_FORMAT_EXTENSIBLE, mono or stereo, at any rate (band-limited FFT
resampling). Only numpy; no sox."""
import struct
import wave

import numpy as np


def read_wav_pcm16(path):
    """(samples as float64 in [-1, 1], rate) of a mono 16-bit file such as espeak-ng writes."""
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.astype(np.float64) / 32768.0, w.getframerate()


def resample_fft(x, from_rate, to_rate):
    """Band-limited resampling of the whole signal through its spectrum."""
    if from_rate == to_rate:
        return x.copy()
    n_out = int(round(len(x) * to_rate / from_rate))
    spectrum = np.fft.rfft(x)
    out_bins = n_out // 2 + 1
    resized = np.zeros(out_bins, dtype=complex)
    keep = min(out_bins, len(spectrum))
    resized[:keep] = spectrum[:keep]
    return np.fft.irfft(resized, n_out) * (n_out / len(x))


def _pcm_bytes(frames, encoding):
    """frames: (n, channels) float64. Bytes of the interleaved samples."""
    clipped = np.clip(frames, -1.0, 1.0 - 1e-9)
    if encoding == "u8":
        return (np.round(clipped * 127.0) + 128).astype(np.uint8).tobytes()
    if encoding == "s16":
        return np.round(clipped * 32767.0).astype("<i2").tobytes()
    if encoding == "s24":
        v = np.round(clipped * 8388607.0).astype("<i4").reshape(-1)
        b = v.view(np.uint8).reshape(-1, 4)[:, :3]
        return b.tobytes()
    if encoding == "f32":
        return frames.astype("<f4").tobytes()
    if encoding == "f64":
        return frames.astype("<f8").tobytes()
    raise ValueError(encoding)


_BITS = {"u8": 8, "s16": 16, "s24": 24, "f32": 32, "f64": 64}
_SUBTYPE_TAIL = bytes([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])


def write_wav(path, mono, rate, encoding="s16", channels=1, extensible=False):
    """Writes mono (float64) as `channels` channels: the left one the signal,
    the others the signal at 0.8 and 1.2 times in turn, so mixing down matters."""
    frames = np.stack([mono * (1.0 if c == 0 else (0.8 if c % 2 else 1.2)) for c in range(channels)], axis=1)
    frames /= max(1.0, np.abs(frames).max() / 0.95)
    data = _pcm_bytes(frames, encoding)
    bits = _BITS[encoding]
    tag = 3 if encoding.startswith("f") else 1
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align, align, bits)
    if extensible:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + _SUBTYPE_TAIL
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    if len(data) % 2:
        body += b"\0"
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
