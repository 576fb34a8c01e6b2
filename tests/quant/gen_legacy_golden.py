#!/usr/bin/env python3
"""Golden data for tests/quant/test_legacy_golden.cpp, made with gguf-py (the GGUF
project's own Python quantizer), so the C++ reference conversions are checked
against an independent implementation of the same formats.

Writes tests/data/quant_legacy_<case>.bin, each:
  char[4] "HLGD"; u32 ggml type id; u32 n (elements); u32 flags
  (bit 0: source floats present and gguf-py's quantize of them is the block bytes)
  [f32 x n source floats, when bit 0]; block bytes; f32 x n gguf-py dequantize of the blocks

Random cases: 8 blocks per type with a fixed seed (ordinary, zero, constant, tie and
outlier blocks) and 2 blocks near rounding boundaries that tell x * (1/d), which the
reference quantizers compute, from x / d. Model cases: a few rows sliced from the default model
SmolLM2-135M-Instruct.Q4_1.gguf (its Q4_1 layers and its Q8_0 token embedding).

Usage: python3 tests/quant/gen_legacy_golden.py  [--model PATH]  (needs: pip install gguf numpy)
"""
import argparse
import os
import struct
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGML_QUANT_SIZES, GGUFReader
from gguf import quants

DATA = Path(__file__).resolve().parent.parent / "data"
BLOCK = 32


def write_case(name, qtype, blocks, source=None):
    blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
    deq = quants.dequantize(blocks, qtype).astype(np.float32).reshape(-1)
    n = deq.size
    flags = 0
    payload = b""
    if source is not None:
        source = np.ascontiguousarray(source, dtype=np.float32).reshape(-1)
        assert source.size == n
        flags |= 1
        payload += source.tobytes()
    payload += blocks.tobytes() + deq.tobytes()
    path = DATA / f"quant_legacy_{name}.bin"
    path.write_bytes(b"HLGD" + struct.pack("<III", int(qtype), n, flags) + payload)
    print(f"{path.name}: {qtype.name}, {n} elements, {path.stat().st_size} bytes")


def random_source(rng):
    b = [
        rng.normal(0.0, 1.0, BLOCK),
        rng.normal(0.0, 1e-3, BLOCK),
        rng.normal(5.0, 30.0, BLOCK),
        rng.uniform(-0.02, 0.07, BLOCK),
        np.zeros(BLOCK),                       # d = 0: every q must still be valid
        np.full(BLOCK, 0.75),                  # max == min for the affine formats
        rng.normal(0.0, 1.0, BLOCK),           # a negative extreme tied with a positive one
        rng.uniform(-1.0, 1.0, BLOCK),         # one outlier
    ]
    b[6][3], b[6][20] = 2.5, -2.5
    b[6][11] = -2.5
    b[7][17] = -40.0
    return np.concatenate(b).astype(np.float32)


def q8_tie_block():
    # amax 127 gives d = 1 exactly, so x * (1/d) hits .5 ties: roundf sends them away from zero.
    v = np.arange(BLOCK, dtype=np.float32) - 15.5
    v[0] = 127.0
    v[1] = -126.5
    return v


# (levels, affine) per format: q in [0, levels) for the 4/5-bit ones, |q| <= 127 for q8.
SHAPES = {T.Q4_0: (16, False), T.Q4_1: (16, True), T.Q5_0: (32, False), T.Q5_1: (32, True), T.Q8_0: (255, False)}


def values_if_dividing(block, qtype):
    """The block's dequantized values had the quantizer divided by d instead of
    multiplying by the reciprocal 1/d, as the reference runtime (and gguf-py) do."""
    f32 = np.float32
    levels, affine = SHAPES[qtype]
    if affine:
        lo, hi = block.min(), block.max()
        d = f32((hi - lo) / f32(levels - 1))
        q = np.minimum(levels - 1, np.trunc((block - lo) / d + f32(0.5)))
        return f32(np.float16(d)) * q.astype(f32) + f32(np.float16(lo))
    if qtype == T.Q8_0:
        d = f32(np.abs(block).max() / f32(127))
        return f32(np.float16(d)) * quants.np_roundf(block / d).astype(f32)
    off = levels // 2
    ext = block[np.abs(block).argmax()]
    d = f32(ext / f32(-off))
    q = np.minimum(levels - 1, np.trunc(block / d + f32(off + 0.5)))
    return f32(np.float16(d)) * (q - off).astype(f32)


def reciprocal_blocks(rng, qtype, want=2):
    """Blocks whose values sit within a few ulps of rounding boundaries, kept only
    when dividing by d would quantize them differently from multiplying by 1/d."""
    levels, affine = SHAPES[qtype]
    found = []
    for _ in range(20000):
        if len(found) == want:
            break
        step = np.float32(rng.uniform(0.01, 2.0))
        if affine:
            k = rng.integers(0, levels - 1, BLOCK).astype(np.float32)
            base = np.float32(rng.uniform(-3, 3)) + (k + np.float32(0.5)) * step
            base[0], base[1] = np.float32(base.min() - 0.4 * step), np.float32(base.max() + 0.4 * step)
        else:
            half = 127 if qtype == T.Q8_0 else levels // 2
            k = rng.integers(-half + 1, half - 1, BLOCK).astype(np.float32)
            base = (k + np.float32(0.5)) * step
            base[0] = np.float32(-half * step if qtype != T.Q8_0 else half * step)
        jitter = rng.integers(-3, 4, BLOCK)
        block = np.array([np.float32(v) for v in base], dtype=np.float32)
        for i in range(2 if affine else 1, BLOCK):
            for _ in range(abs(int(jitter[i]))):
                block[i] = np.nextafter(block[i], np.float32(np.inf if jitter[i] > 0 else -np.inf))
        ref = quants.dequantize(quants.quantize(block.reshape(1, BLOCK), qtype), qtype).reshape(-1)
        if np.any(values_if_dividing(block, qtype) != ref):
            found.append(block)
    assert len(found) == want, f"no discriminating block found for {qtype.name}"
    return np.concatenate(found)


def random_cases():
    rng = np.random.default_rng(20241125)
    for name, qtype in [("q4_0", T.Q4_0), ("q4_1", T.Q4_1), ("q5_0", T.Q5_0), ("q5_1", T.Q5_1), ("q8_0", T.Q8_0)]:
        src = random_source(rng)
        if qtype == T.Q8_0:
            src = np.concatenate([src, q8_tie_block()])
        src = np.concatenate([src, reciprocal_blocks(rng, qtype)])
        blocks = quants.quantize(src.reshape(-1, BLOCK), qtype)
        write_case(f"random_{name}", qtype, blocks, src)


def model_cases(model):
    reader = GGUFReader(model)
    tensors = {t.name: t for t in reader.tensors}
    # (case, tensor, row, elements from the row's start)
    picks = [
        ("model_q4_1_attn_q", "blk.0.attn_q.weight", 0, 576),
        ("model_q4_1_ffn_down", "blk.29.ffn_down.weight", 5, 512),
        ("model_q8_0_token_embd", "token_embd.weight", 1000, 576),
    ]
    for case, name, row, n in picks:
        t = tensors[name]
        qtype = T(t.tensor_type)
        info = GGML_QUANT_SIZES[qtype]
        nbytes = n // info[0] * info[1]
        data = np.asarray(t.data)[row, :nbytes].reshape(-1, info[1])
        write_case(case, qtype, data)


def main():
    home = os.environ.get("HEARTH_HOME", os.path.expanduser("~/.cache/hearth"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(home, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    random_cases()
    model_cases(args.model)


if __name__ == "__main__":
    main()
