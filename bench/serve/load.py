"""Load benchmark for `hearth serve` beside llama.cpp's own server (llama-server),
same model, same threads, same parallelism, on loopback, bounded in requests:
for 1, 4 and 16 concurrent streaming clients, the aggregate generation rate
(tokens/s) and the time to first token (p50, p99). The two servers take turns
at every concurrency level, in rounds that swap which goes first.

Each client streams /v1/completions of a counting prompt ("17, 18, 19, ..."),
which both models continue to max_tokens, so both servers do the same work.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "service"))


def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Process:
    """A server child process, stopped on exit."""

    def __init__(self, cmd, ready_url_path, port, log_path, timeout=180):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = port
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {self.proc.returncode}; see {log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", ready_url_path)
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{cmd[0]} did not become ready; see {log_path}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def stream_once(port, model, start, max_tokens):
    """One streaming completion: (time to first token s, tokens, seconds)."""
    prompt = ", ".join(str(start + i) for i in range(8)) + ","
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                       "stream": True})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        raise RuntimeError(f"status {r.status}: {r.read()[:300]}")
    first = None
    pieces = 0
    buf = b""
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            line = event.strip()
            if not line.startswith(b"data: "):
                continue
            data = line[6:]
            if data == b"[DONE]":
                continue
            obj = json.loads(data)
            choices = obj.get("choices") or []
            if choices and choices[0].get("text"):
                pieces += 1
                if first is None:
                    first = time.perf_counter() - t0
    conn.close()
    return first if first is not None else float("nan"), pieces, time.perf_counter() - t0


def run_level(port, model, clients, requests_per_client, max_tokens):
    """clients threads, each making requests_per_client streaming requests in turn."""
    ttft, tokens = [], [0]
    lock = threading.Lock()
    errors = []

    def client(index):
        for k in range(requests_per_client):
            try:
                first, n, _ = stream_once(port, model, 17 + 97 * index + 31 * k, max_tokens)
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(str(e))
                return
            with lock:
                ttft.append(first)
                tokens[0] += n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return {"tps": tokens[0] / wall, "tokens": tokens[0], "wall_s": wall, "ttft": ttft}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", required=True)
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--parallel", type=int, default=16, help="sequences each server decodes together")
    ap.add_argument("--ctx", type=int, default=256, help="context per sequence")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2, help="requests per client at each level")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", help="also write the raw figures here")
    ap.add_argument("--programs", default="hearth,llama.cpp")
    args = ap.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    programs = args.programs.split(",")
    logs = os.path.join(os.environ.get("TMPDIR", "/tmp"), "hearth_bench_serve")
    os.makedirs(logs, exist_ok=True)

    def start(program):
        if program == "hearth":
            port = 18931
            cmd = [args.hearth, "serve", "-m", f"bench={args.model}", "--port", str(port), "-t", str(args.threads),
                   "--parallel", str(args.parallel), "-c", str(args.ctx), "--queue", "1000",
                   "--jobs-db", os.path.join(logs, "jobs.sqlite")]
            return Process(cmd, "/health", port, os.path.join(logs, "hearth.log")), "bench"
        port = 18932
        cmd = [args.llama_server, "-m", args.model, "--port", str(port), "--host", "127.0.0.1", "-t", str(args.threads),
               "-tb", str(args.threads), "-np", str(args.parallel), "-c", str(args.ctx * args.parallel),
               "--cont-batching", "-a", "bench"]
        return Process(cmd, "/health", port, os.path.join(logs, "llama-server.log")), "bench"

    results = {p: {c: [] for c in levels} for p in programs}
    for rnd in range(args.rounds):
        order = programs if rnd % 2 == 0 else list(reversed(programs))
        for program in order:
            server, model = start(program)
            try:
                run_level(server.port, model, 1, 1, 8)  # warm-up: load, first pages in
                for c in levels:
                    r = run_level(server.port, model, c, args.requests, args.max_tokens)
                    results[program][c].append(r)
                    print(f"round {rnd + 1} {program:9s} clients {c:2d}: {r['tps']:7.1f} tok/s "
                          f"({r['tokens']} tokens in {r['wall_s']:.1f} s), ttft p50 "
                          f"{percentile(r['ttft'], 50) * 1000:.0f} ms p99 {percentile(r['ttft'], 99) * 1000:.0f} ms",
                          flush=True)
            finally:
                server.stop()

    print()
    print(f"model {os.path.basename(args.model)}, {args.threads} threads, parallel {args.parallel}, "
          f"ctx {args.ctx}/sequence, {args.max_tokens} tokens per request, {args.requests} requests per client, "
          f"{args.rounds} rounds (medians of rounds; TTFT percentiles over all requests)")
    print()
    head = "| clients |" + "".join(f" {p} tok/s | {p} TTFT p50/p99 ms |" for p in programs)
    if len(programs) == 2:
        head += " tok/s ratio |"
    print(head)
    print("|" + "---|" * (1 + 2 * len(programs) + (1 if len(programs) == 2 else 0)))
    summary = {}
    for c in levels:
        row = f"| {c} |"
        tps = {}
        for p in programs:
            runs = results[p][c]
            tps[p] = statistics.median(r["tps"] for r in runs)
            ttft = [t for r in runs for t in r["ttft"]]
            row += f" {tps[p]:.1f} | {percentile(ttft, 50) * 1000:.0f} / {percentile(ttft, 99) * 1000:.0f} |"
            summary.setdefault(p, {})[c] = {"tps": tps[p], "ttft_p50_ms": percentile(ttft, 50) * 1000,
                                            "ttft_p99_ms": percentile(ttft, 99) * 1000,
                                            "runs_tps": [r["tps"] for r in runs]}
        if len(programs) == 2:
            row += f" {tps[programs[0]] / tps[programs[1]]:.2f}x |"
        print(row)
    print()
    for p in programs:
        if 1 in summary[p] and max(levels) in summary[p]:
            print(f"{p}: {max(levels)} clients give {summary[p][max(levels)]['tps'] / summary[p][1]['tps']:.2f}x "
                  f"the throughput of 1")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": summary}, f, indent=2)


if __name__ == "__main__":
    main()
