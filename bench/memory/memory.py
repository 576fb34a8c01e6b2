#!/usr/bin/env python3
"""Hearth's memory figures, measured: what issue "Memory" asks to show.

  arena   planned activation arena beside the naive figure (every intermediate
          in its own buffer), from `hearth run --memory-report --json`.
  load    time to first token with the weights mapped vs read into the heap
          (--no-mmap), warm (file in the page cache) and cold (the file's
          pages evicted with posix_fadvise(DONTNEED) first, checked with
          mincore); runs alternate between the two modes, medians reported.
  rss     peak resident size of a run that fills a context (default 4096
          positions) on a big model, from the kernel's own accounting of the
          finished child (getrusage RUSAGE_CHILDREN), beside Hearth's report.
  kv      N sequences of T tokens in one shared KV pool (build/bin/bench_kv_pool).

Models are named by path or by the bench/compare names in $HEARTH_HOME/bench.
"""
import argparse
import ctypes
import ctypes.util
import json
import mmap
import os
import resource
import statistics
import subprocess
import sys
import time

HOME = os.environ.get("HEARTH_HOME", os.path.expanduser("~/.cache/hearth"))


def model_path(name):
    if os.path.isfile(name):
        return name
    for cand in (os.path.join(HOME, "bench", name + ".gguf"), os.path.join(HOME, "models", name)):
        if os.path.isfile(cand):
            return cand
    if name == "default":
        return os.path.join(HOME, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    sys.exit(f"memory.py: no model '{name}' (a path, or a name in {HOME}/bench)")


def hearth_json(hearth, args):
    out = subprocess.run([hearth, "run", "--json", "--temp", "0"] + args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]


def resident_fraction(path):
    """Share of the file's pages in the page cache (mincore over a fresh mapping)."""
    size = os.path.getsize(path)
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = (ctypes.c_ubyte * pages)()
    with open(path, "rb") as f:
        addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, f.fileno(), 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return -1.0
        rc = _libc.mincore(addr, size, vec)
        _libc.munmap(addr, size)
    return sum(v & 1 for v in vec) / pages if rc == 0 else -1.0


def evict(path):
    with open(path, "rb") as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def arena(hearth, models, batch):
    print(f"\n== planned arena vs naive (batch {batch}, context 4096) ==")
    print(f"{'model':<24}{'planned':>12}{'naive':>12}{'smaller':>10}")
    rows = []
    for name in models:
        j = hearth_json(hearth, ["-m", model_path(name), "-p", "Hello", "-n", "1", "-c", "4096", "-b", str(batch),
                                 "--memory-report"])
        m = j["memory"]
        saved = 1 - m["arena"] / m["arena_naive"]
        print(f"{name:<24}{m['arena'] / 2**20:>10.2f}Mi{m['arena_naive'] / 2**20:>10.1f}Mi{100 * saved:>9.1f}%")
        rows.append({"model": name, "batch": batch, "arena": m["arena"], "arena_naive": m["arena_naive"]})
    return rows


def load(hearth, models, reps, prompt):
    print(f"\n== time to first token: mapped vs read into the heap ({reps} alternating runs, medians) ==")
    print(f"{'model':<24}{'cache':<7}{'mmap ms':>10}{'heap ms':>10}{'heap/mmap':>11}{'resident before':>17}")
    rows = []
    for name in models:
        path = model_path(name)
        for cache in ("warm", "cold"):
            times = {"mmap": [], "heap": []}
            before = []
            hearth_json(hearth, ["-m", path, "-p", prompt, "-n", "1"])  # warm the page cache and the binary
            for _ in range(reps):
                for mode in ("mmap", "heap"):
                    if cache == "cold":
                        evict(path)
                    before.append(resident_fraction(path))
                    extra = ["--no-mmap"] if mode == "heap" else []
                    j = hearth_json(hearth, ["-m", path, "-p", prompt, "-n", "1"] + extra)
                    times[mode].append(j["timings"]["time_to_first_token_ms"])
            a, b = statistics.median(times["mmap"]), statistics.median(times["heap"])
            res = statistics.median(before)
            print(f"{name:<24}{cache:<7}{a:>10.1f}{b:>10.1f}{b / a:>10.2f}x{100 * res:>15.0f}%")
            rows.append({"model": name, "cache": cache, "mmap_ms": times["mmap"], "heap_ms": times["heap"],
                         "resident_before": res})
    return rows


def rss(hearth, name, ctx, kv_types, n_gen):
    path = model_path(name)
    print(f"\n== peak RSS filling a {ctx}-position context: {name} ==")
    # A prompt that fills the context but for the generated tokens.
    words = ("the quick brown fox jumps over the lazy dog and " * ctx).split()
    tok = subprocess.run([hearth, "tokenize", "-m", path, "--json", "-p", " ".join(words[:ctx])], capture_output=True,
                         text=True)
    n_words = ctx - n_gen - 8
    if tok.returncode == 0:
        try:
            per_word = len(json.loads(tok.stdout)["tokens"]) / ctx
            n_words = int((ctx - n_gen - 8) / max(per_word, 0.5))
        except (ValueError, KeyError):
            pass
    prompt = " ".join(words[:n_words])
    rows = []
    for kv in kv_types:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.time()
        j = hearth_json(hearth, ["-m", path, "-c", str(ctx), "-p", prompt, "-n", str(n_gen), "--kv-type", kv,
                                 "--memory-report"])
        secs = time.time() - t0
        child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        m = j["memory"]
        used = len(j["prompt_tokens"]) + len(j["tokens"])
        note = "" if child_peak > before * 1024 else " (an earlier child's peak was higher)"
        print(f"kv {kv:<5} positions used {used}/{ctx}: peak RSS {child_peak / 2**30:.2f} GiB "
              f"({child_peak / 1e9:.2f} GB){note}; Hearth's report {m['peak_rss'] / 2**30:.2f} GiB; "
              f"KV pool {m['kv_pool'] / 2**30:.2f} GiB, weights {m['weights_mapped'] / 2**30:.2f} GiB; {secs:.0f} s")
        rows.append({"kv": kv, "positions": used, "peak_rss_child": child_peak, "report": m, "seconds": secs})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", required=True)
    ap.add_argument("--parts", default="arena,load,kv", help="any of arena,load,rss,kv")
    ap.add_argument("--models", default="default,synth-7b-q4_k", help="for arena and load")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--prompt", default="Write one sentence about the sea.")
    ap.add_argument("--rss-model", default="synth-7b-q4_k")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--kv-types", default="q8_0,f16")
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--json", help="also write the raw figures to this file")
    a = ap.parse_args()
    parts = a.parts.split(",")
    models = a.models.split(",")
    out = {}
    if "arena" in parts:
        out["arena"] = arena(a.hearth, models, a.batch)
    if "load" in parts:
        out["load"] = load(a.hearth, models, a.reps, a.prompt)
    if "rss" in parts:
        out["rss"] = rss(a.hearth, a.rss_model, a.ctx, a.kv_types.split(","), 32)
    if "kv" in parts:
        print(f"\n== {a.sequences} sequences of {a.tokens} tokens in one KV pool: default model ==")
        bench = os.path.join(os.path.dirname(a.hearth), "bench_kv_pool")
        r = subprocess.run([bench, model_path("default"), str(a.sequences), str(a.tokens)], capture_output=True,
                           text=True)
        print(r.stdout + r.stderr, end="")
        out["kv"] = r.stdout
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
