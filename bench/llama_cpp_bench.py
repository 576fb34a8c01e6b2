#!/usr/bin/env python3
"""The peer's side of bench/compare: llama.cpp (through llama-cpp-python's C
API, no Python in the timed loops beyond one call per forward pass) measured
the way `hearth bench` measures Hearth:

  pp: one prompt of P random tokens, decoded in batches of up to 512;
  tg: N tokens decoded one at a time after a 4-token prompt, each the argmax
      of the previous logits.

One untimed warm-up of each, then R repetitions alternating pp and tg.
Prints one JSON object: {"pp": [tok/s...], "tg": [tok/s...], "system": ...}.
"""
import argparse
import ctypes
import json
import random
import sys
import time

import numpy as np

try:
    import llama_cpp
except ImportError as e:
    sys.exit(f"llama-cpp-python is not installed ({e}); bench/compare installs it")

GEN_PROMPT_TOKENS = 4


def quiet_logs():
    cb = llama_cpp.llama_log_callback(lambda level, text, user: None)
    llama_cpp.llama_log_set(cb, ctypes.c_void_p())
    return cb  # keep alive


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-r", "--reps", type=int, default=5)
    ap.add_argument("-b", "--batch", type=int, default=512)
    args = ap.parse_args()

    keep = quiet_logs()
    llama_cpp.llama_backend_init()
    mparams = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(args.model.encode(), mparams)
    if not model:
        sys.exit(f"llama.cpp could not load {args.model}")
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx = max(args.p, GEN_PROMPT_TOKENS + args.n, 64)
    cparams.n_batch = args.batch
    cparams.n_ubatch = args.batch
    cparams.n_threads = args.threads
    cparams.n_threads_batch = args.threads
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    if not ctx:
        sys.exit("llama.cpp could not create a context")
    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    memory = llama_cpp.llama_get_memory(ctx)

    rng = random.Random(1)
    prompt = [rng.randrange(n_vocab) for _ in range(args.p)]
    gen_prompt = [rng.randrange(n_vocab) for _ in range(GEN_PROMPT_TOKENS)]

    def decode(tokens):
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(arr, len(tokens))) != 0:
            sys.exit("llama_decode failed")

    def argmax():
        ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))

    def run_pp():
        llama_cpp.llama_memory_clear(memory, True)
        t0 = time.perf_counter()
        for i in range(0, len(prompt), args.batch):
            decode(prompt[i:i + args.batch])
        llama_cpp.llama_synchronize(ctx)
        return args.p / (time.perf_counter() - t0)

    def run_tg(n):
        llama_cpp.llama_memory_clear(memory, True)
        decode(gen_prompt)
        token = argmax()
        t0 = time.perf_counter()
        for _ in range(n):
            decode([token])
            token = argmax()
        return n / (time.perf_counter() - t0)

    if args.p:
        run_pp()
    if args.n:
        run_tg(min(args.n, 8))
    pp, tg = [], []
    for _ in range(args.reps):
        if args.p:
            pp.append(run_pp())
        if args.n:
            tg.append(run_tg(args.n))
    print(json.dumps({"pp": pp, "tg": tg, "threads": args.threads,
                      "system": llama_cpp.llama_print_system_info().decode().strip()}))
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)
    del keep


if __name__ == "__main__":
    main()
