"""`hearth serve` with its plugins, end to end: POST /v1/ocr on images rendered here
(ImageMagick), POST /v1/audio/transcriptions on speech synthesised here
(espeak-ng) in every response format, through raw HTTP and the official OpenAI
client, POST /v1/pipelines/{name} for both built-in pipelines (multipart, JSON
with base64, and as async jobs), the chat endpoint running the sample
word_count plugin as a tool, and each kind of bad input answered with one
OpenAI-style error while the server goes on serving.

usage: serve_plugins.py HEARTH_BINARY
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

from serve_util import DEFAULT_MODEL, Checks, Server, check_error_object, default_model_path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "asr"))
from wer import edit_distance  # noqa: E402  (Levenshtein over any sequences: characters here)

NOTICE_LINES = [
    "Dr. Maria Fernandez will open the new Oakwood Library",
    "on Monday, June 12. The library holds 4500 books.",
    "Everyone in Springfield is welcome.",
]
NOTICE_FACTS = ["Maria Fernandez", "Oakwood Library", "Monday, June 12", "4500", "Springfield"]
SPOKEN = "The train to Edinburgh leaves from the northern platform every morning."
SPOKEN_WORDS = ["train", "edinburgh", "leaves", "from", "northern", "platform", "every", "morning"]
QUESTION = "What is the capital of France?"


def multipart(fields):
    """(body bytes, content type) for [(name, value)] where value is str or (filename, bytes, type)."""
    boundary = "hearth" + uuid.uuid4().hex
    out = bytearray()
    for name, value in fields:
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, data, ctype = value
            out += f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
            out += f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def post_form(server, path, fields, timeout=300):
    body, ctype = multipart(fields)
    return server.request("POST", path, body, {"Content-Type": ctype}, timeout)


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


class Media:
    """The test's inputs, made once in a temporary directory."""

    def __init__(self, tmp):
        self.notice = os.path.join(tmp, "notice.png")
        args = ["convert", "-size", "1400x340", "xc:white", "-font", "Liberation-Sans", "-pointsize", "40",
                "-fill", "black"]
        for i, line in enumerate(NOTICE_LINES):
            args += ["-annotate", f"+50+{90 + 80 * i}", line]
        subprocess.run(args + [self.notice], check=True)
        self.speech = os.path.join(tmp, "speech.wav")
        subprocess.run(["espeak-ng", "-w", self.speech, SPOKEN], check=True)
        self.question = os.path.join(tmp, "question.wav")
        subprocess.run(["espeak-ng", "-w", self.question, QUESTION], check=True)

    @staticmethod
    def read(path):
        with open(path, "rb") as f:
            return f.read()


# ---- OCR ----

def ocr_reads_the_notice(server, media):
    status, _, text = post_form(server, "/v1/ocr", [("file", ("notice.png", media.read(media.notice), "image/png"))])
    assert status == 200, f"{status}: {text[:300]}"
    r = json.loads(text)
    assert r["object"] == "ocr" and r["plugin"] == "ocr_tesseract" and r["filename"] == "notice.png", r
    got = " ".join(r["text"].split())
    want = " ".join(NOTICE_LINES)
    cer = edit_distance(got, want) / len(want)
    assert cer < 0.03, f"CER {cer:.2%}: {got!r}"
    assert len(r["words"]) >= 20 and all({"text", "box", "confidence"} <= set(w) for w in r["words"]), r["words"][:3]
    return f"CER {cer:.2%}, {len(r['words'])} words with boxes"


def ocr_bad_input(server, media):
    png = media.read(media.notice)
    cases = [
        ("missing file", [("language", "eng")], "file", "'file'"),
        ("file as a plain field", [("file", "notice.png")], "file", "plain field"),
        ("empty file", [("file", ("empty.png", b"", "image/png"))], "file", "empty"),
        ("truncated PNG", [("file", ("cut.png", png[: len(png) // 3], "image/png"))], None, "cut.png"),
        ("text named .png", [("file", ("words.png", b"just some words\n" * 20, "image/png"))], None, "words.png"),
        ("absurd dpi", [("file", ("notice.png", png, "image/png")), ("dpi", "99999")], "dpi", "dpi"),
        ("bad language", [("file", ("notice.png", png, "image/png")), ("language", "../etc")], "language", "language"),
    ]
    for name, fields, param, needle in cases:
        status, _, text = post_form(server, "/v1/ocr", fields)
        err = check_error_object(status, text, 400)
        assert param is None or err["param"] == param, f"{name}: param {err['param']}"
        assert needle in err["message"], f"{name}: {err['message']}"
        assert "/hearth-uploads-" not in err["message"], f"{name}: the message shows the temporary path"
    status, _, text = server.request("POST", "/v1/ocr", {"file": "x"})
    err = check_error_object(status, text, 400)
    assert "multipart/form-data" in err["message"], err
    return f"{len(cases) + 1} cases"


# ---- transcriptions ----

def transcription_formats(server, media):
    wav = media.read(media.speech)
    seen = {}
    for fmt in ["json", "text", "srt", "vtt", "verbose_json"]:
        fields = [("file", ("speech.wav", wav, "audio/wav")), ("model", "whisper-1"), ("response_format", fmt)]
        if fmt == "verbose_json":
            fields.append(("timestamp_granularities[]", "word"))
        status, headers, text = post_form(server, "/v1/audio/transcriptions", fields)
        assert status == 200, f"{fmt}: {status} {text[:300]}"
        seen[fmt] = (headers.get("content-type", ""), text)
    j = json.loads(seen["json"][1])
    assert list(j) == ["text"], j
    heard = words(j["text"])
    missing = [w for w in SPOKEN_WORDS if w not in heard]
    assert len(missing) <= 1, f"the transcript {j['text']!r} lacks {missing}"
    assert seen["text"][0].startswith("text/plain") and words(seen["text"][1]) == heard, seen["text"]
    srt = seen["srt"][1]
    assert re.match(r"1\r?\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\r?\n", srt), srt[:120]
    vtt = seen["vtt"][1]
    assert vtt.startswith("WEBVTT") and re.search(r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d", vtt), vtt[:120]
    v = json.loads(seen["verbose_json"][1])
    assert v["task"] == "transcribe" and v["language"] and v["duration"] > 2, {k: v[k] for k in v if k != "segments"}
    assert v["segments"] and all(s["end"] >= s["start"] for s in v["segments"]), v["segments"]
    ws = v["words"]
    assert len(ws) >= len(SPOKEN_WORDS) and all(w["end"] >= w["start"] for w in ws), ws[:3]
    assert all(ws[i]["start"] <= ws[i + 1]["start"] for i in range(len(ws) - 1)), "word timestamps go backwards"
    return f"5 formats; heard {j['text'].strip()!r}"


def transcription_with_the_openai_client(server, media):
    from openai import OpenAI

    client = OpenAI(base_url=server.base + "/v1", api_key="unused")
    with open(media.question, "rb") as f:
        t = client.audio.transcriptions.create(model="whisper-1", file=f)
    assert "capital" in t.text.lower() and "france" in t.text.lower(), t.text
    with open(media.question, "rb") as f:
        v = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json",
                                               timestamp_granularities=["word", "segment"])
    assert v.words and v.segments and v.duration > 1, v
    with open(media.question, "rb") as f:
        srt = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="srt")
    assert "-->" in srt, srt
    return repr(t.text.strip())


def transcription_bad_input(server, media):
    wav = media.read(media.speech)
    png = media.read(media.notice)
    good = ("file", ("speech.wav", wav, "audio/wav"))
    cases = [
        ("missing file", [("model", "whisper-1")], "file", "'file'"),
        ("empty file", [("file", ("empty.wav", b"", "audio/wav"))], "file", "empty"),
        ("an image", [("file", ("notice.png", png, "image/png"))], None, "notice.png"),
        ("text named .wav", [("file", ("words.wav", b"hello there " * 100, "audio/wav"))], None, "words.wav"),
        ("truncated WAV header", [("file", ("cut.wav", wav[:30], "audio/wav"))], None, "cut.wav"),
        ("unknown format", [good, ("response_format", "mp3")], "response_format", "response_format"),
        ("words without verbose_json", [good, ("timestamp_granularities[]", "word")], "timestamp_granularities[]",
         "verbose_json"),
        ("bad granularity", [good, ("timestamp_granularities[]", "letter")], "timestamp_granularities[]", "letter"),
        ("bad language", [good, ("language", "English!")], "language", "language"),
        ("temperature out of range", [good, ("temperature", "7")], "temperature", "temperature"),
        ("streaming", [good, ("stream", "true")], "stream", "stream"),
    ]
    for name, fields, param, needle in cases:
        status, _, text = post_form(server, "/v1/audio/transcriptions", fields)
        err = check_error_object(status, text, 400)
        assert param is None or err["param"] == param, f"{name}: param {err['param']}: {err['message']}"
        assert needle in err["message"], f"{name}: {err['message']}"
    return f"{len(cases)} cases"


# ---- pipelines ----

def pipelines_are_listed(server, media):
    status, body = server.json("GET", "/v1/pipelines")
    assert status == 200, body
    ids = [p["id"] for p in body["data"]]
    assert "read-and-summarize" in ids and "transcribe-and-answer" in ids, ids
    return ", ".join(ids)


def check_summary_run(r):
    assert r["object"] == "pipeline.run" and r["pipeline"] == "read-and-summarize", r
    ocr = r["outputs"]["text"]
    for fact in NOTICE_FACTS:
        assert fact in ocr, f"OCR text lacks {fact!r}: {ocr!r}"
    summary = r["outputs"]["summary"].lower()
    for fact in ["fernandez", "oakwood"]:
        assert fact in summary, f"summary lacks {fact!r}: {summary!r}"
    assert r["inputs"]["image"] == "notice.png", r["inputs"]  # the client's name, not the server's temporary path
    assert "hearth-uploads-" not in json.dumps(r), "the result shows the server's temporary path"
    return " ".join(r["outputs"]["summary"].split())


def pipeline_read_and_summarize(server, media):
    status, _, text = post_form(server, "/v1/pipelines/read-and-summarize",
                                [("image", ("notice.png", media.read(media.notice), "image/png"))])
    assert status == 200, f"{status}: {text[:300]}"
    summary = check_summary_run(json.loads(text))
    # The same as JSON with the image in base64.
    body = {"inputs": {"image": {"filename": "notice.png",
                                 "data": base64.b64encode(media.read(media.notice)).decode()}}}
    status, r = server.json("POST", "/v1/pipelines/read-and-summarize", body, timeout=300)
    assert status == 200, r
    check_summary_run(r)
    return summary


def pipeline_transcribe_and_answer(server, media):
    status, _, text = post_form(server, "/v1/pipelines/transcribe-and-answer",
                                [("audio", ("question.wav", media.read(media.question), "audio/wav"))])
    assert status == 200, f"{status}: {text[:300]}"
    r = json.loads(text)
    assert "france" in r["outputs"]["transcript"].lower(), r["outputs"]
    assert "paris" in r["outputs"]["answer"].lower(), r["outputs"]
    return f"{r['outputs']['transcript'].strip()!r} -> {r['outputs']['answer'].strip()!r}"


def wait_job(server, job_id, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, job = server.json("GET", f"/v1/jobs/{job_id}")
        assert status == 200, job
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def pipeline_as_async_jobs(server, media):
    status, _, text = post_form(server, "/v1/pipelines/read-and-summarize",
                                [("image", ("notice.png", media.read(media.notice), "image/png")), ("async", "true")])
    assert status == 200, text
    job = json.loads(text)
    assert job["object"] == "job" and job["kind"] == "pipeline.run" and job["status"] in ("queued", "running"), job
    done = wait_job(server, job["id"])
    assert done["status"] == "succeeded", done
    check_summary_run(done["result"])
    # Through POST /v1/jobs, and a failing one: its error is the step's.
    body = {"endpoint": "/v1/pipelines/read-and-summarize",
            "body": {"inputs": {"image": {"filename": "broken.png", "data": base64.b64encode(b"\x89PNG\r\n").decode()}}}}
    status, job = server.json("POST", "/v1/jobs", body)
    assert status == 200, job
    done = wait_job(server, job["id"])
    assert done["status"] == "failed", done
    assert "step 'read'" in done["error"]["message"] and "broken.png" in done["error"]["message"], done
    return "multipart async and /v1/jobs"


def pipeline_bad_input(server, media):
    png64 = base64.b64encode(media.read(media.notice)).decode()
    path = "/v1/pipelines/read-and-summarize"
    cases = [
        ("unknown pipeline", "/v1/pipelines/no-such-thing", {"inputs": {}}, 404, None, "no-such-thing"),
        ("missing input", path, {"inputs": {}}, 400, "inputs.image", "image"),
        ("unknown input", path, {"inputs": {"image": {"data": png64}, "colour": "red"}}, 400, "inputs.colour", "colour"),
        ("a server path", path, {"inputs": {"image": "/etc/passwd"}}, 400, "inputs.image", "upload"),
        ("bad base64", path, {"inputs": {"image": {"data": "***"}}}, 400, "inputs.image", "base64"),
        ("inputs not an object", path, {"inputs": [1]}, 400, "inputs", "object"),
        ("async not a boolean", path, {"inputs": {"image": {"data": png64}}, "async": "yes"}, 400, "async", "boolean"),
        ("unknown model", path, {"inputs": {"image": {"data": png64}}, "model": "nope"}, 404, None, "nope"),
        ("malformed JSON", path, '{"inputs": ', 400, None, "JSON"),
    ]
    for name, p, body, want, param, needle in cases:
        status, _, text = server.request("POST", p, body)
        err = check_error_object(status, text, want)
        assert param is None or err["param"] == param, f"{name}: param {err['param']}: {err['message']}"
        assert needle in err["message"], f"{name}: {err['message']}"
    # A corrupt image fails in the OCR step: 400, the step named.
    status, _, text = post_form(server, path, [("image", ("cut.png", media.read(media.notice)[:200], "image/png"))])
    err = check_error_object(status, text, 400)
    assert err["param"] == "steps.read" and "cut.png" in err["message"], err
    return f"{len(cases) + 1} cases"


# ---- plugin tools in chat ----

def chat_runs_a_plugin_tool(server, media):
    sentence = "the quick brown fox jumps over the lazy dog near the old river bank"
    body = {
        "model": DEFAULT_MODEL,
        # Quoted, the 135M model copies the sentence and closes the string; bare,
        # it may go on repeating it until max_tokens.
        "messages": [{"role": "user", "content": f'How many words are in this text: "{sentence}"'}],
        "tools": [{"type": "plugin", "plugin": "word_count"}],
        "tool_choice": {"type": "function", "function": {"name": "word_count"}},
        "max_tokens": 64,
        "temperature": 0,
    }
    status, r = server.json("POST", "/v1/chat/completions", body, timeout=300)
    assert status == 200, r
    assert r["object"] == "chat.completion", r
    runs = r["tool_runs"]
    assert len(runs) >= 1 and runs[0]["plugin"] == "word_count" and runs[0]["name"] == "word_count", \
        (runs, r["choices"][0])
    text = runs[0]["arguments"]["text"]
    assert runs[0]["output"]["words"] == len(text.split()), runs[0]       # counted by the plugin, checked here
    assert runs[0]["output"]["characters"] == len(text), runs[0]
    assert r["choices"][0]["finish_reason"] in ("stop", "length"), r["choices"][0]
    assert r["usage"]["completion_tokens"] > 0 and r["usage"]["prompt_tokens"] > 0, r["usage"]
    # With the client's own function beside it and tool_choice naming that, the call comes back to the client.
    body2 = dict(body, tools=[{"type": "plugin", "plugin": "word_count"},
                              {"type": "function", "function": {"name": "lookup", "parameters": {
                                  "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}],
                 tool_choice={"type": "function", "function": {"name": "lookup"}})
    status, r2 = server.json("POST", "/v1/chat/completions", body2, timeout=300)
    assert status == 200, r2
    assert r2["choices"][0]["finish_reason"] == "tool_calls" and r2["tool_runs"] == [], r2
    assert r2["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "lookup", r2
    return f"{text!r} -> {runs[0]['output']}; reply {r['choices'][0]['message']['content'][:60]!r}"


def chat_plugin_tool_bad_input(server, media):
    base = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    cases = [
        ("unknown plugin", {"tools": [{"type": "plugin", "plugin": "no_such_plugin"}]}, "tools[0].plugin", "no_such_plugin"),
        ("a file-reading capability", {"tools": [{"type": "plugin", "plugin": "ocr_tesseract"}]}, "tools[0]", "ocr"),
        ("unknown capability", {"tools": [{"type": "plugin", "plugin": "word_count", "capability": "nope"}]}, "tools[0]",
         "nope"),
        ("plugin missing", {"tools": [{"type": "plugin"}]}, "tools[0].plugin", "plugin"),
        ("streaming", {"tools": [{"type": "plugin", "plugin": "word_count"}], "stream": True}, "stream", "stream"),
        ("tool_choice naming no tool", {"tools": [{"type": "plugin", "plugin": "word_count"}],
                                         "tool_choice": {"type": "function", "function": {"name": "other"}}},
         "tool_choice.function.name", "other"),
    ]
    for name, extra, param, needle in cases:
        status, _, text = server.request("POST", "/v1/chat/completions", dict(base, **extra))
        err = check_error_object(status, text, 400)
        assert err["param"] == param, f"{name}: param {err['param']}: {err['message']}"
        assert needle in err["message"], f"{name}: {err['message']}"
    job = {"endpoint": "/v1/chat/completions", "body": dict(base, tools=[{"type": "plugin", "plugin": "word_count"}])}
    status, _, text = server.request("POST", "/v1/jobs", job)
    check_error_object(status, text, 400)
    return f"{len(cases) + 1} cases"


def still_serving(server, media):
    status, body = server.json("GET", "/health")
    assert status == 200 and body["status"] == "ok", body
    status, r = server.json("POST", "/v1/chat/completions", {
        "model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4, "temperature": 0})
    assert status == 200 and r["choices"][0]["message"]["content"], r
    leftovers = [d for d in os.listdir(tempfile.gettempdir()) if d == f"hearth-uploads-{server.proc.pid}"]
    for d in leftovers:
        files = os.listdir(os.path.join(tempfile.gettempdir(), d))
        assert not files, f"uploads left behind: {files}"
    return "health ok, chat ok, no uploads left behind"


def main():
    hearth = sys.argv[1]
    default_model_path()
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="hearth_plugins_") as tmp:
        media = Media(tmp)
        with Server(hearth, "-c", "1024", "--parallel", "2") as server:
            for name, fn in [
                ("ocr reads the notice", ocr_reads_the_notice),
                ("ocr bad input", ocr_bad_input),
                ("transcription in every format", transcription_formats),
                ("transcription with the OpenAI client", transcription_with_the_openai_client),
                ("transcription bad input", transcription_bad_input),
                ("pipelines are listed", pipelines_are_listed),
                ("pipeline read-and-summarize", pipeline_read_and_summarize),
                ("pipeline transcribe-and-answer", pipeline_transcribe_and_answer),
                ("pipeline as async jobs", pipeline_as_async_jobs),
                ("pipeline bad input", pipeline_bad_input),
                ("chat runs a plugin tool", chat_runs_a_plugin_tool),
                ("chat plugin tool bad input", chat_plugin_tool_bad_input),
                ("still serving", still_serving),
            ]:
                checks.run(name, fn, server, media)
            if not server.alive():
                print("FAIL the server died:", server.log()[-2000:])
                checks.failed += 1
    checks.finish()


if __name__ == "__main__":
    main()
