"""How `hearth serve` lives and dies: async jobs survive kill -9 (finished ones
intact, the interrupted one failed), SIGTERM shuts down gracefully, a client
that disconnects is cancelled and its KV blocks freed at once, API keys are
enforced, and the scheduler evicts, unloads and refuses (429) as it should.

usage: serve_lifecycle.py HEARTH_BINARY
"""

import json
import os
import socket
import sqlite3
import sys
import tempfile
import threading
import time

from serve_util import DEFAULT_MODEL, Checks, Server, check_error_object, default_model_path

CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"


def chat_body(content="Tell me a long story about a dragon.", max_tokens=8, **extra):
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens,
            "temperature": 0}
    body.update(extra)
    return body


def counting_body(max_tokens=3000, **extra):
    """A text completion the model keeps going with (it counts) until max_tokens."""
    body = {"model": DEFAULT_MODEL, "prompt": "1, 2, 3, 4, 5, 6, 7, 8,", "max_tokens": max_tokens, "temperature": 0}
    body.update(extra)
    return body


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_status(server, job_id):
    status, body = server.json("GET", f"/v1/jobs/{job_id}")
    assert status == 200, body
    return body


def jobs_survive_kill9(hearth):
    tmp = tempfile.mkdtemp(prefix="hearth_jobs_")
    db = os.path.join(tmp, "jobs.sqlite")
    with Server(hearth, jobs_db=db) as server:
        status, done = server.json("POST", "/v1/jobs", {"endpoint": CHAT, "body": chat_body("Say hello.", 6)})
        assert status == 200 and done["status"] in ("queued", "running"), done
        finished = wait_for(lambda: (j := job_status(server, done["id"]))["status"] == "succeeded" and j, 60,
                            "the short job to succeed")
        status, long_job = server.json("POST", "/v1/jobs", {"endpoint": TEXT, "body": counting_body()})
        assert status == 200, long_job
        wait_for(lambda: job_status(server, long_job["id"])["status"] == "running", 30, "the long job to run")
        time.sleep(0.3)
        server.kill()  # SIGKILL: no chance to flush or mark anything
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Server(hearth, jobs_db=db) as server:
        again = job_status(server, done["id"])
        assert again["status"] == "succeeded" and again["result"] == finished["result"], again
        assert again["result"]["choices"][0]["message"]["content"], again
        interrupted = job_status(server, long_job["id"])
        assert interrupted["status"] == "failed", interrupted
        assert "stopped" in interrupted["error"]["message"], interrupted
        assert "marked failed" in server.log(), server.log()
    return f"after kill -9: finished job intact, running one failed ({interrupted['error']['message']!r})"


def job_cancel(hearth):
    with Server(hearth) as server:
        status, job = server.json("POST", "/v1/jobs", {"endpoint": TEXT, "body": counting_body()})
        assert status == 200, job
        wait_for(lambda: job_status(server, job["id"])["status"] == "running", 30, "the job to run")
        status, cancelled = server.json("DELETE", f"/v1/jobs/{job['id']}")
        assert status == 200 and cancelled["status"] == "cancelled", cancelled
        wait_for(lambda: server.metric("hearth_active_sequences", model=DEFAULT_MODEL) == 0, 5,
                 "the cancelled job's sequence to end")
        assert server.metric("hearth_kv_blocks_in_use", model=DEFAULT_MODEL) == 0
        status, listing = server.json("GET", "/v1/jobs?limit=5")
        assert status == 200 and listing["data"][0]["id"] == job["id"], listing
        status, again = server.json("DELETE", f"/v1/jobs/{job['id']}")
        assert status == 200 and again["status"] == "cancelled", again  # a final job stays as it is
    return "DELETE stopped a running job and freed its sequence"


def graceful_shutdown(hearth):
    tmp = tempfile.mkdtemp(prefix="hearth_term_")
    db = os.path.join(tmp, "jobs.sqlite")
    server = Server(hearth, "--shutdown-timeout", "2", "--parallel", "1", jobs_db=db)
    try:
        stream_result = {}

        def stream():
            conn = server.connection(timeout=60)
            conn.request("POST", TEXT, body=json.dumps(counting_body(stream=True)),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            stream_result["status"] = r.status
            stream_result["body"] = r.read().decode()
            stream_result["ended"] = time.time()

        t = threading.Thread(target=stream)
        t.start()
        wait_for(lambda: (server.metric("hearth_generated_tokens_total", model=DEFAULT_MODEL) or 0) > 0
                 or server.metric("hearth_active_sequences", model=DEFAULT_MODEL) == 1, 30, "the stream to start")
        status, queued = server.json("POST", "/v1/jobs", {"endpoint": TEXT, "body": counting_body()})
        assert status == 200, queued
        t0 = time.time()
        rc = server.terminate(timeout=30)
        took = time.time() - t0
        t.join(timeout=30)
        assert rc == 0, f"exit status {rc}: {server.log()}"
        assert took < 10, f"shutdown took {took:.1f} s with a 2 s deadline"
        assert stream_result.get("status") == 200, stream_result
        assert stream_result["body"].rstrip().endswith("data: [DONE]"), stream_result["body"][-300:]
        try:
            socket.create_connection((server.host, server.port), timeout=2).close()
            raise AssertionError("the server still accepts connections after stopping")
        except OSError:
            pass
    finally:
        server.kill()
    with Server(hearth, jobs_db=db) as again:
        j = job_status(again, queued["id"])
        assert j["status"] == "failed" and "shut" in j["error"]["message"], j
    return f"exit 0 in {took:.1f} s; the stream ended with [DONE]; the unfinished job failed ({j['error']['message']!r})"


def disconnect_cancels(hearth):
    with Server(hearth, "--parallel", "2") as server:
        # Streaming: read a few events, then hang up.
        s = socket.create_connection((server.host, server.port), timeout=30)
        body = json.dumps(counting_body(stream=True)).encode()
        s.sendall(f"POST {TEXT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        got = b""
        while got.count(b"data: ") < 5:
            got += s.recv(4096)
        assert server.metric("hearth_active_sequences", model=DEFAULT_MODEL) == 1
        assert server.metric("hearth_kv_blocks_in_use", model=DEFAULT_MODEL) > 0
        s.close()
        t0 = time.time()
        wait_for(lambda: server.metric("hearth_active_sequences", model=DEFAULT_MODEL) == 0, 5,
                 "the disconnected stream to be cancelled")
        streaming_s = time.time() - t0
        assert server.metric("hearth_kv_blocks_in_use", model=DEFAULT_MODEL) == 0
        # Not streaming: the answer is still being generated when the client goes.
        s = socket.create_connection((server.host, server.port), timeout=30)
        body = json.dumps(counting_body()).encode()
        s.sendall(f"POST {TEXT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        wait_for(lambda: server.metric("hearth_active_sequences", model=DEFAULT_MODEL) == 1, 10, "generation")
        time.sleep(1.5)
        s.close()
        t0 = time.time()
        wait_for(lambda: server.metric("hearth_active_sequences", model=DEFAULT_MODEL) == 0, 5,
                 "the disconnected request to be cancelled")
        plain_s = time.time() - t0
        assert server.metric("hearth_kv_blocks_in_use", model=DEFAULT_MODEL) == 0
        cancelled = server.metric("hearth_completions_total", model=DEFAULT_MODEL, finish_reason="cancelled")
        assert cancelled == 2, cancelled
    return f"freed {streaming_s * 1000:.0f} ms after a streaming client left, {plain_s * 1000:.0f} ms after a waiting one"


def api_key(hearth):
    with Server(hearth, "--api-key", "s3cret") as server:
        status, _, _ = server.request("GET", "/health")
        assert status == 200
        for headers, why in (({}, "no key"), ({"Authorization": "Bearer wrong"}, "a wrong key"),
                             ({"Authorization": "s3cret"}, "no Bearer")):
            for method, path in (("GET", "/v1/models"), ("POST", CHAT), ("GET", "/metrics"), ("GET", "/v1/jobs")):
                status, _, text = server.request(method, path, chat_body() if method == "POST" else None, headers)
                err = check_error_object(status, text, 401)
                assert err["type"] == "authentication_error", (why, err)
        status, body = server.json("POST", CHAT, chat_body(), {"Authorization": "Bearer s3cret"})
        assert status == 200, body
    return "401 without the right key on every endpoint but /health"


def default_bind_is_loopback(hearth):
    with Server(hearth) as server:
        assert server.host == "127.0.0.1", server.host
        with open(f"/proc/net/tcp") as f:
            rows = [l.split() for l in f.readlines()[1:]]
        local = [r[1] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == server.port]
        assert local and all(addr.split(":")[0] == "0100007F" for addr in local), local
    return "listening socket bound to 127.0.0.1 only"


def scheduler(hearth):
    model = default_model_path()
    # Two names for the model: two residents, of which the budget holds one.
    with Server(hearth, "-m", f"a={model}", "-m", f"b={model}", "-c", "256", "--parallel", "1", "--max-memory", "260M",
                "--keep-alive", "2") as server:
        assert server.metric("hearth_model_resident", model="a") == 0
        for name in ("a", "b", "a"):
            status, body = server.json("POST", CHAT, dict(chat_body(max_tokens=2), model=name))
            assert status == 200, body
            assert server.metric("hearth_model_resident", model=name) == 1
            other = "b" if name == "a" else "a"
            assert server.metric("hearth_model_resident", model=other) == 0, f"{other} still resident beside {name}"
        assert server.metric("hearth_model_evictions_total", model="a") == 1
        assert server.metric("hearth_model_evictions_total", model="b") == 1
        mem = server.metric("hearth_model_memory_bytes", model="a")
        assert 0 < mem <= 260 * 2**20, mem
        # Idle past the keep-alive: unloaded.
        wait_for(lambda: server.metric("hearth_model_resident", model="a") == 0, 6, "the idle model to unload")
    return f"one of two resident under the budget ({mem / 2**20:.0f} MiB each), LRU eviction, keep-alive unload"


def queue_full(hearth):
    with Server(hearth, "--parallel", "1", "--queue", "1") as server:
        results = []

        def long_request():
            results.append(server.request("POST", TEXT, counting_body(300)))

        threads = [threading.Thread(target=long_request) for _ in range(2)]
        threads[0].start()
        wait_for(lambda: server.metric("hearth_active_sequences", model=DEFAULT_MODEL) == 1, 10, "the first request")
        threads[1].start()
        wait_for(lambda: server.metric("hearth_queue_depth", model=DEFAULT_MODEL) == 1, 10, "the second to queue")
        status, headers, text = server.request("POST", CHAT, chat_body(max_tokens=4))
        err = check_error_object(status, text, 429)
        assert err["type"] == "rate_limit_error" and int(headers["retry-after"]) >= 1, (err, headers)
        for t in threads:
            t.join()
        assert [r[0] for r in results] == [200, 200], [r[0] for r in results]
    return f"429 with Retry-After {headers['retry-after']} s while one runs and one waits"


def metrics_text(hearth):
    with Server(hearth) as server:
        server.json("POST", CHAT, chat_body(max_tokens=3))
        status, headers, text = server.request("GET", "/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4"), headers
        for family in ("hearth_http_requests_total", "hearth_generated_tokens_total", "hearth_queue_depth",
                       "hearth_time_to_first_token_seconds_bucket", "hearth_http_request_duration_seconds_bucket",
                       "hearth_model_memory_bytes", "hearth_model_resident"):
            assert family in text, family
        m = server.metrics()
        assert m[("hearth_http_requests_total", frozenset({("endpoint", CHAT), ("status", "200")}))] == 1
        assert m[("hearth_generated_tokens_total", frozenset({("model", DEFAULT_MODEL)}))] >= 1
        return f"{len(m)} samples"


def main():
    hearth = sys.argv[1]
    default_model_path()
    checks = Checks()
    checks.run("jobs survive kill -9", jobs_survive_kill9, hearth)
    checks.run("DELETE cancels a running job", job_cancel, hearth)
    checks.run("SIGTERM: graceful shutdown", graceful_shutdown, hearth)
    checks.run("a client that disconnects is cancelled", disconnect_cancels, hearth)
    checks.run("--api-key", api_key, hearth)
    checks.run("default bind is loopback", default_bind_is_loopback, hearth)
    checks.run("scheduler: budget, LRU eviction, keep-alive", scheduler, hearth)
    checks.run("queue full: 429", queue_full, hearth)
    checks.run("GET /metrics", metrics_text, hearth)
    checks.finish()


if __name__ == "__main__":
    main()
