#!/usr/bin/env python3
"""Runs `hearth bench` and llama.cpp (bench/llama_cpp_bench.py) on the same
GGUF files with the same thread count, alternating the two in rounds so that
drift on a noisy machine hits both alike, and prints a table of medians and
the ratios Hearth / llama.cpp.

Models (made on first use under $HEARTH_HOME/bench, reused afterwards):
  default-q4_1  the default model as shipped (SmolLM2-135M-Instruct, Q4_1)
  default-q8_0  the same, converted by `hearth quantize`
  default-q4_k  the same, converted by `hearth quantize`
  synth-1b-q4_k `hearth synth --preset 1b --type q4_k` (Llama-3.2-1B shape)
  synth-7b-q4_k `hearth synth --preset 7b --type q4_k` (only when asked for)
  gemma3-q4_k_m Gemma 3 270M as shipped, a real Q4_K_M mix (only when asked for)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HEARTH_HOME = os.environ.get("HEARTH_HOME", os.path.expanduser("~/.cache/hearth"))
DEFAULT_MODEL = os.path.join(HEARTH_HOME, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
WORK = os.path.join(HEARTH_HOME, "bench")

MODELS = {
    "default-q4_1": ("default", None),
    "default-q8_0": ("quantize", "q8_0"),
    "default-q4_k": ("quantize", "q4_k"),
    "synth-1b-q4_k": ("synth", ("1b", "q4_k")),
    "synth-7b-q4_k": ("synth", ("7b", "q4_k")),
    "gemma3-q4_k_m": ("store", "gemma-3-270m-q4_k_m.gguf"),
}
DEFAULT_SET = ["default-q4_1", "default-q8_0", "default-q4_k", "synth-1b-q4_k"]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.strip()}")
    return r.stdout


def model_file(name, hearth):
    how, arg = MODELS[name]
    if how == "default":
        return DEFAULT_MODEL
    if how == "store":
        path = os.path.join(HEARTH_HOME, "models", arg)
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: scripts/setup.sh --test fetches it")
        return path
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, name + ".gguf")
    if not os.path.exists(path):
        print(f"# making {path}", file=sys.stderr)
        if how == "quantize":
            run([hearth, "quantize", DEFAULT_MODEL, path, arg])
        else:
            run([hearth, "synth", "--arch", "llama", "--preset", arg[0], "--type", arg[1], "-o", path])
    return path


def hearth_once(hearth, path, a):
    out = run([hearth, "bench", "-m", path, "-p", str(a.p), "-n", str(a.n), "-t", str(a.threads),
               "-r", str(a.reps), "--json", "--no-bandwidth"])
    j = json.loads(out)
    return j["pp"]["runs"], j["tg"]["runs"], j["type"]


def llama_once(path, a):
    out = run([sys.executable, os.path.join(HERE, "llama_cpp_bench.py"), "--model", path, "-p", str(a.p),
               "-n", str(a.n), "-t", str(a.threads), "-r", str(a.reps)])
    j = json.loads(out)
    return j["pp"], j["tg"]


def med(xs):
    return statistics.median(xs) if xs else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", required=True)
    ap.add_argument("--models", default=",".join(DEFAULT_SET),
                    help="comma-separated, from: " + ", ".join(MODELS))
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3, help="alternations of the two programs per model")
    ap.add_argument("-r", "--reps", type=int, default=2, help="repetitions inside each program run")
    ap.add_argument("--json", help="also write the raw figures to this file")
    a = ap.parse_args()

    names = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in names:
        if m not in MODELS:
            sys.exit(f"unknown model '{m}'; choose from {', '.join(MODELS)}")
    rows, raw = [], {}
    for m in names:
        path = model_file(m, a.hearth)
        h_pp, h_tg, l_pp, l_tg = [], [], [], []
        wtype = "?"
        for rnd in range(a.rounds):
            # Alternate which program goes first, so neither always runs on a
            # machine the other has just warmed or heated.
            order = ("hearth", "llama") if rnd % 2 == 0 else ("llama", "hearth")
            for who in order:
                if who == "hearth":
                    pp, tg, wtype = hearth_once(a.hearth, path, a)
                    h_pp += pp
                    h_tg += tg
                else:
                    pp, tg = llama_once(path, a)
                    l_pp += pp
                    l_tg += tg
            print(f"# {m} round {rnd + 1}/{a.rounds}: hearth pp {med(h_pp):.1f} tg {med(h_tg):.1f} | "
                  f"llama.cpp pp {med(l_pp):.1f} tg {med(l_tg):.1f}", file=sys.stderr, flush=True)
        raw[m] = {"path": path, "type": wtype, "hearth_pp": h_pp, "hearth_tg": h_tg, "llama_pp": l_pp,
                  "llama_tg": l_tg}
        rows.append((m, wtype, med(h_pp), med(l_pp), med(h_tg), med(l_tg)))

    print(f"\nthreads {a.threads}, pp{a.p} / tg{a.n}, medians of {a.rounds * a.reps} runs each "
          f"({a.rounds} alternating rounds x {a.reps}); tokens/s\n")
    print(f"| model | type | pp Hearth | pp llama.cpp | pp ratio | tg Hearth | tg llama.cpp | tg ratio |")
    print(f"|---|---|---:|---:|---:|---:|---:|---:|")
    for m, t, hp, lp, ht, lt in rows:
        rp = hp / lp if lp else float("nan")
        rt = ht / lt if lt else float("nan")
        print(f"| {m} | {t} | {hp:.1f} | {lp:.1f} | {rp:.2f}x | {ht:.2f} | {lt:.2f} | {rt:.2f}x |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"threads": a.threads, "p": a.p, "n": a.n, "models": raw,
                       "when": time.strftime("%Y-%m-%d %H:%M:%S")}, f, indent=1)


if __name__ == "__main__":
    main()
