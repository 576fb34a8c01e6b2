"""Starting `hearth serve` on a free loopback port for a test, and small HTTP helpers."""

import http.client
import json
import os
import signal
import subprocess
import tempfile
import time

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL = "SmolLM2-135M-Instruct.Q4_1"


def hearth_home():
    return os.environ.get("HEARTH_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "hearth")


def default_model_path():
    path = os.path.join(hearth_home(), "models", DEFAULT_MODEL_FILE)
    if not os.path.exists(path):
        raise SystemExit(f"FAIL: the default model is missing ({path}); run scripts/setup.sh")
    return path


class Server:
    """A `hearth serve` child process; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, hearth, *args, jobs_db=None, start_timeout=60):
        self.tmp = tempfile.TemporaryDirectory(prefix="hearth_serve_")
        self.jobs_db = jobs_db or os.path.join(self.tmp.name, "jobs.sqlite")
        self.stderr_path = os.path.join(self.tmp.name, "stderr")
        self.stderr = open(self.stderr_path, "w")
        cmd = [hearth, "serve", "--port", "0", "--jobs-db", self.jobs_db, *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        deadline = time.time() + start_timeout
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("listening on http://") or not line:
                break
        if not line.startswith("listening on http://"):
            self.kill()
            raise RuntimeError(f"server did not start: {self.log()}")
        self.host, port = line.strip()[len("listening on http://"):].rsplit(":", 1)
        self.port = int(port)
        self.base = f"http://{self.host}:{self.port}"

    def log(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def terminate(self, timeout=60):
        """SIGTERM; returns the exit status (raises if it does not exit in time)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.terminate(timeout=30)
        except Exception:
            self.kill()
        self.stderr.close()
        self.tmp.cleanup()

    def connection(self, timeout=120):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, headers dict, body text); body may be a dict (sent as JSON), str or bytes."""
        conn = self.connection(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None, timeout=120):
        status, _, text = self.request(method, path, body, headers, timeout)
        return status, json.loads(text)

    def metrics(self):
        """{(name, frozenset of labels): value} from GET /metrics."""
        status, _, text = self.request("GET", "/metrics")
        assert status == 200, status
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_labels, value = line.rsplit(" ", 1)
            if "{" in name_labels:
                name, labels = name_labels.split("{", 1)
                pairs = []
                for part in labels.rstrip("}").split(","):
                    if part:
                        k, v = part.split("=", 1)
                        pairs.append((k, v.strip('"')))
                out[(name, frozenset(pairs))] = float(value)
            else:
                out[(name_labels, frozenset())] = float(value)
        return out

    def metric(self, name, **labels):
        return self.metrics().get((name, frozenset(labels.items())))


def check_error_object(status, text, want_status):
    """The body of an error answer is OpenAI's {"error": {"message", "type", "param", "code"}}."""
    assert status == want_status, f"status {status}, want {want_status}: {text[:300]}"
    body = json.loads(text)
    err = body["error"]
    for key in ("message", "type", "param", "code"):
        assert key in err, f"error object lacks '{key}': {body}"
    assert isinstance(err["message"], str) and err["message"], body
    return err


class Checks:
    """Counts named checks; a failing one is reported and the script exits 1 at the end."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn, *args):
        try:
            detail = fn(*args)
            self.passed += 1
            print(f"ok   {name}" + (f": {detail}" if detail else ""), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported the same way
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        raise SystemExit(1 if self.failed or not self.passed else 0)
