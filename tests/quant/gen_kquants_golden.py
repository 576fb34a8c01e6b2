#!/usr/bin/env python3
"""Writes the k-quant golden data in tests/data/ used by tests/quant/test_kquants.cpp.

For each of q4_k, q5_k, q6_k: quant_kquants_<type>.blocks holds raw GGUF block bytes and
quant_kquants_<type>.f32 the floats gguf-py's dequantizer gives for them (little-endian f32).
q4_k and q6_k blocks come from a real model (Gemma 3 270M Q4_K_M), plus one block of random
bytes; gguf-py cannot quantize to q5_k, so its blocks are random bytes (with sane f16 scales)
and one hand-built block whose values this script also derives by hand.

Run from the repository root:
    python3 tests/quant/gen_kquants_golden.py [path/to/gemma-3-270m-q4_k_m.gguf]
"""
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
QK = 256


def model_path():
    if len(sys.argv) > 1:
        return sys.argv[1]
    home = os.environ.get("HEARTH_HOME", os.path.expanduser("~/.cache/hearth"))
    return os.path.join(home, "models", "gemma-3-270m-q4_k_m.gguf")


def real_blocks(reader, name, qtype, picks):
    t = next(t for t in reader.tensors if t.name == name)
    assert t.tensor_type == qtype, (name, t.tensor_type)
    size = GGML_QUANT_SIZES[qtype][1]
    raw = np.asarray(t.data, dtype=np.uint8).reshape(-1, size)
    return [raw[i].copy() for i in picks(len(raw))]


def random_block(rng, qtype, f16_offsets):
    """Random bytes everywhere except the f16 fields, set to moderate values."""
    size = GGML_QUANT_SIZES[qtype][1]
    b = rng.integers(0, 256, size, dtype=np.uint8)
    for off in f16_offsets:
        b[off:off + 2] = np.frombuffer(np.float16(rng.uniform(1e-3, 2e-2)).tobytes(), np.uint8)
    return b


def hand_q5k_block():
    """d = 0.5, dmin = 0.25, scale j = 40 + 3j, min j = 63 - 5j, element e has q = (7e + 3) % 32."""
    sc = [40 + 3 * j for j in range(8)]
    mn = [63 - 5 * j for j in range(8)]
    q = [(7 * e + 3) % 32 for e in range(QK)]
    scales = bytearray(12)
    for j in range(4):
        scales[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6)
        scales[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6)
        scales[j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4)
    qh = bytearray(32)
    qs = bytearray(128)
    for c in range(4):
        for l in range(32):
            lo, hi = q[64 * c + l], q[64 * c + 32 + l]
            qs[32 * c + l] = (lo & 15) | ((hi & 15) << 4)
            qh[l] |= ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1))
    raw = np.float16(0.5).tobytes() + np.float16(0.25).tobytes() + bytes(scales) + bytes(qh) + bytes(qs)
    expect = np.array([np.float32(0.5) * np.float32(sc[e // 32]) * np.float32(q[e])
                       - np.float32(0.25) * np.float32(mn[e // 32]) for e in range(QK)], dtype=np.float32)
    return np.frombuffer(raw, np.uint8).copy(), expect


def write(name, blocks, qtype):
    raw = np.concatenate(blocks).astype(np.uint8)
    floats = dequantize(raw, qtype).astype(np.float32).reshape(-1)
    assert floats.size == QK * len(blocks) and np.all(np.isfinite(floats))
    raw.tofile(os.path.join(OUT, f"quant_kquants_{name}.blocks"))
    floats.astype("<f4").tofile(os.path.join(OUT, f"quant_kquants_{name}.f32"))
    return floats


def main():
    rng = np.random.default_rng(20240601)
    reader = GGUFReader(model_path())
    spread = lambda n: [0, n // 2 + 1, n - 1]

    q4 = real_blocks(reader, "blk.0.attn_output.weight", T.Q4_K, spread)
    q4.append(random_block(rng, T.Q4_K, [0, 2]))
    write("q4_k", q4, T.Q4_K)

    q6 = real_blocks(reader, "blk.0.ffn_down.weight", T.Q6_K, spread)
    q6.append(random_block(rng, T.Q6_K, [208]))
    write("q6_k", q6, T.Q6_K)

    hand, hand_expect = hand_q5k_block()
    q5 = [random_block(rng, T.Q5_K, [0, 2]) for _ in range(3)] + [hand]
    floats = write("q5_k", q5, T.Q5_K)
    # gguf-py and the layout written out by hand above must agree on the hand-built block.
    assert np.array_equal(floats[3 * QK:], hand_expect), "q5_K layout disagrees with gguf-py"


if __name__ == "__main__":
    main()
