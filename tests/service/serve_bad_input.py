"""Bad input to `hearth serve`: each mistake answered with the right 4xx status and
an OpenAI-style error object, the server still serving afterwards; then a
fuzz-style run of thousands of random and mutated bodies, none of which may
kill the server or get a 5xx.

usage: serve_bad_input.py HEARTH_BINARY [fuzz-count]
"""

import json
import random
import socket
import sys
import threading
import time

from serve_util import DEFAULT_MODEL, Checks, Server, check_error_object, default_model_path

CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"


def chat_body(**extra):
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "temperature": 0}
    body.update(extra)
    return body


def cases(server):
    """(name, method, path, body, want status, want param or None)."""
    long_text = "word " * 3000  # far over the 512-token context the server runs with
    return [
        ("malformed JSON", "POST", CHAT, '{"model": "x", "messages": [', 400, None),
        ("not an object", "POST", CHAT, "[1, 2, 3]", 400, None),
        ("empty body", "POST", CHAT, "", 400, None),
        ("invalid UTF-8", "POST", CHAT, b'{"model": "\xff\xfe", "messages": []}', 400, None),
        ("model of the wrong type", "POST", CHAT, chat_body(model=42), 400, "model"),
        ("temperature of the wrong type", "POST", CHAT, chat_body(temperature="hot"), 400, "temperature"),
        ("temperature out of range", "POST", CHAT, chat_body(temperature=9), 400, "temperature"),
        ("messages of the wrong type", "POST", CHAT, chat_body(messages="hello"), 400, "messages"),
        ("message without a role", "POST", CHAT, chat_body(messages=[{"content": "x"}]), 400, "messages[0].role"),
        ("unknown role", "POST", CHAT, chat_body(messages=[{"role": "wizard", "content": "x"}]), 400, "messages[0].role"),
        ("empty messages", "POST", CHAT, chat_body(messages=[]), 400, "messages"),
        ("missing messages", "POST", CHAT, {"model": DEFAULT_MODEL}, 400, "messages"),
        ("unknown model", "POST", CHAT, chat_body(model="gpt-17"), 404, None),
        ("unknown model (completions)", "POST", TEXT, {"model": "gpt-17", "prompt": "x"}, 404, None),
        ("prompt longer than the context", "POST", CHAT,
         chat_body(messages=[{"role": "user", "content": long_text}]), 400, "messages"),
        ("text prompt longer than the context", "POST", TEXT, {"model": DEFAULT_MODEL, "prompt": long_text}, 400, "prompt"),
        ("max_tokens -1", "POST", CHAT, chat_body(max_tokens=-1), 400, "max_tokens"),
        ("max_tokens 10^9", "POST", CHAT, chat_body(max_tokens=10**9), 400, "max_tokens"),
        ("max_tokens past the context", "POST", CHAT, chat_body(max_tokens=100000), 400, "max_tokens"),
        ("max_tokens as a string", "POST", CHAT, chat_body(max_tokens="ten"), 400, "max_tokens"),
        ("stop of the wrong type", "POST", CHAT, chat_body(stop=5), 400, "stop"),
        ("n = 3", "POST", CHAT, chat_body(n=3), 400, "n"),
        ("token id outside the vocabulary", "POST", TEXT, {"model": DEFAULT_MODEL, "prompt": [1, 2, 99999999]}, 400, None),
        ("schema the grammar cannot enforce", "POST", CHAT,
         chat_body(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "a+"}}}),
         400, None),
        ("tool_choice naming no tool", "POST", CHAT,
         chat_body(tools=[{"type": "function", "function": {"name": "f"}}], tool_choice={"type": "function", "function": {"name": "g"}}),
         400, None),
        ("job with an unknown endpoint", "POST", "/v1/jobs", {"endpoint": "/v1/nothing", "body": {}}, 400, "endpoint"),
        ("job with a bad body", "POST", "/v1/jobs", {"endpoint": CHAT, "body": {"model": DEFAULT_MODEL}}, 400, "messages"),
        ("unknown job", "GET", "/v1/jobs/job_000000000000000000000000", None, 404, None),
        ("unknown route", "GET", "/v1/nothing-here", None, 404, None),
        ("wrong method", "GET", CHAT, None, 404, None),
    ]


def send_huge_body(server, megabytes):
    """A body of `megabytes` MB on a raw socket; returns the status line and the body."""
    payload = b'{"model": "' + b"x" * (megabytes << 20) + b'", "messages": []}'
    with socket.create_connection((server.host, server.port), timeout=60) as s:
        s.sendall(f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(payload)}\r\n\r\n".encode())
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer before reading it all
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
                if length and len(rest) >= length[0]:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, body.decode("utf-8", "replace")


# ---- fuzzing ---------------------------------------------------------------

def random_json(rng, depth=0):
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2, 7, 10**12, -10**15, 2**63, 3.5, -0.0, 1e308])
    if kind == 3:
        return rng.choice(["", "x", "user", "assistant", "system", "tool", DEFAULT_MODEL, "\u00e9\u4e2d", "a" * 300])
    if kind == 4:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12)))
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["model", "messages", "role", "content", "max_tokens", "temperature", "stream", "stop", "tools",
            "response_format", "type", "json_schema", "schema", "name", "prompt", "seed", "top_p", "n"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def mutate_value(rng, body):
    """Replaces, removes or adds one field somewhere in a valid body."""
    body = json.loads(json.dumps(body))
    target = body
    for _ in range(rng.randrange(3)):
        children = [v for v in (target.values() if isinstance(target, dict) else target) if isinstance(v, (dict, list)) and v]
        if not children:
            break
        target = rng.choice(children)
    if isinstance(target, dict):
        op = rng.randrange(3)
        if op == 0 and target:
            target[rng.choice(list(target))] = random_json(rng)
        elif op == 1 and target:
            del target[rng.choice(list(target))]
        else:
            target[rng.choice(["max_tokens", "stop", "tools", "tool_choice", "response_format", "stream", "x"])] = random_json(rng)
    elif isinstance(target, list) and target:
        target[rng.randrange(len(target))] = random_json(rng)
    return body


def mutate_bytes(rng, text):
    data = bytearray(text.encode())
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(4)
        i = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[i] = rng.randrange(256)
        elif op == 1 and data:
            del data[i:i + rng.randrange(1, 8)]
        elif op == 2:
            data[i:i] = bytes(rng.choice([b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"\x00", b"\xff", b"1e999"]))
        else:
            data = data[:i]
    return bytes(data)


SEEDS = [
    (CHAT, chat_body()),
    (CHAT, chat_body(stream=True, stream_options={"include_usage": True})),
    (CHAT, chat_body(response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": {
        "type": "object", "properties": {"a": {"type": "integer"}, "b": {"enum": ["x", "y"]}}, "required": ["a"]}}})),
    (CHAT, chat_body(tools=[{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"q": {"type": "string", "maxLength": 8}}, "required": ["q"]}}}], tool_choice="required")),
    (CHAT, chat_body(messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
                               {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}], stop=["\n"])),
    (TEXT, {"model": DEFAULT_MODEL, "prompt": "Once upon", "max_tokens": 2, "temperature": 0}),
    (TEXT, {"model": DEFAULT_MODEL, "prompt": [1, 2, 3], "max_tokens": 2, "stream": True}),
    ("/v1/jobs", {"endpoint": CHAT, "body": chat_body()}),
]


def fuzz(server, count, seed=1234):
    rng = random.Random(seed)
    stats = {"2xx": 0, "4xx": 0}
    problems = []
    lock = threading.Lock()

    def one(i):
        path, base = SEEDS[i % len(SEEDS)]
        kind = rng.randrange(10)
        if kind < 5:
            body = json.dumps(mutate_value(rng, base)).encode()
        elif kind < 8:
            body = mutate_bytes(rng, json.dumps(base))
        elif kind < 9:
            body = json.dumps(random_json(rng)).encode()
        else:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        try:
            status, headers, text = server.request("POST", path, body, timeout=120)
        except Exception as e:  # noqa: BLE001
            with lock:
                problems.append(f"{path} {body[:120]!r}: {type(e).__name__}: {e}")
            return
        with lock:
            if status >= 500:
                problems.append(f"{path} {body[:160]!r} -> {status} {text[:200]}")
            elif status >= 400:
                stats["4xx"] += 1
                try:
                    err = json.loads(text)["error"]
                    assert err["message"] and err["type"]
                except Exception:  # noqa: BLE001
                    problems.append(f"{path} {body[:120]!r} -> {status} without an error object: {text[:200]}")
            else:
                stats["2xx"] += 1

    index = iter(range(count))
    index_lock = threading.Lock()

    def worker():
        while True:
            with index_lock:
                i = next(index, None)
            if i is None:
                return
            one(i)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.alive(), "the server died while fuzzed: " + server.log()[-2000:]
    assert not problems, f"{len(problems)} bad answers, e.g.:\n  " + "\n  ".join(problems[:8])
    return f"{count} bodies in {time.time() - t0:.0f} s: {stats['2xx']} accepted, {stats['4xx']} refused with an error object"


def main():
    hearth = sys.argv[1]
    fuzz_count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    default_model_path()
    checks = Checks()
    with Server(hearth, "-c", "512", "--parallel", "4") as server:
        for name, method, path, body, want, param in cases(server):
            def check(method=method, path=path, body=body, want=want, param=param):
                status, _, text = server.request(method, path, body)
                err = check_error_object(status, text, want)
                if param is not None:
                    assert err["param"] == param, f"param {err['param']!r}, want {param!r}: {err['message']}"
                return f"{status} {err['type']}/{err['code']}: {err['message'][:90]}"
            checks.run(name, check)

        def huge(mb):
            def check():
                status, text = send_huge_body(server, mb)
                err = check_error_object(status, text, 413)
                return f"{status} {err['code']}"
            return check
        checks.run("a 9 MB body", huge(9))
        checks.run("a 50 MB body", huge(50))

        def still_serving():
            status, body = server.json("POST", CHAT, chat_body(max_tokens=4))
            assert status == 200 and body["choices"][0]["message"]["content"] is not None, body
            status, body = server.json("GET", "/health")
            assert status == 200, body
            return "a normal request after all of them: 200"
        checks.run("still serving", still_serving)
        checks.run(f"fuzz: random and mutated bodies", fuzz, server, fuzz_count)
        checks.run("still serving after fuzzing", still_serving)
    checks.finish()


if __name__ == "__main__":
    main()
