#!/usr/bin/env python3
"""Writes the tokenizer golden files tests/data/tokenizer_*.json from llama.cpp.

Usage (needs scripts/setup.sh --test: llama-cpp-python, the gguf package and both models):
    python3 tests/models/gen_tokenizer_golden.py [--models DIR]

For each model: token ids of llama_tokenize for every case string under each
(add_special, parse_special) pair, llama_detokenize(remove_special=False,
unparse_special=True) of those ids, llama_token_to_piece(special=True) of a
sample of ids, and the vocabulary's special ids and end-of-generation set.
The pre-tokenizers no installed model uses (gpt-2, default, llama-bpe, qwen2)
are checked on SmolLM2's vocabulary with tokenizer.ggml.pre rewritten, and
SentencePiece's space prefix on Gemma's with tokenizer.ggml.add_space_prefix
set: such a vocabulary-only copy is written to a temporary directory and loaded
with vocab_only=True. Strings and bytes are stored as hex (the cases include
invalid UTF-8) with a readable copy where the bytes are UTF-8.
"""
import argparse
import ctypes
import json
import os
import random
import sys
import tempfile

import gguf
import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")

SMOLLM = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA = "gemma-3-270m-q4_k_m.gguf"

LONG_PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. In 1492, Columbus sailed the ocean blue; "
    "by 2024 the world had 8,100,000,000 people (approximately!). \"Quotes\", 'single quotes', "
    "and (parentheses) [brackets] {braces} <angles> all appear. It's a well-known fact that "
    "naïve café owners don't always accept €5.50 or ¥1000 — but they'll take $3.14159. "
    "Meanwhile, in 東京 (Tokyo) and Москва (Moscow), people write 你好世界 and Привет мир. "
    "Emoji: 😀👍🏽👨‍👩‍👧‍👦 🇫🇷. Math: x² + y² = z², ∑ᵢ aᵢ ≤ ∞, ½ + ¼ = ¾. "
    "Tabs\tand\nnewlines\r\nand   multiple    spaces.   "
)

CODE = '''def fib(n: int) -> int:
    """Return the n-th Fibonacci number."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


for i in range(10):
\tprint(f"{i:>3}: {fib(i)}")  # comment
'''

BASE_CASES = [
    "",
    " ",
    "  ",
    "   ",
    "\n",
    "\n\n\n",
    "\t",
    "Hello world",
    " Hello world",
    "Hello world ",
    "  leading and trailing  ",
    "multiple     spaces    between     words",
    "line one\nline two\n\nline four\r\nwindows\rmac",
    "tabs\tin\t\tthe\ttext\t",
    " \n \t \r\n  \n\n  x",
    "1234567890",
    "3.14159265358979 and 2,718,281 and 1e-10 and -42",
    "123 4567 89012 345678 00001",
    "Hello, world! How are you? I'm fine... (really) [ok] {yes} <no>",
    "~!@#$%^&*()_+-=[]{}|;':\",./<>?`\\",
    "it's we're they've I'm you'll he'd don't IT'S WE'RE THEY'VE I'M YOU'LL HE'D DON'T",
    "'s 't 're 've 'm 'll 'd ' '' '''",
    "Hello , world . Is it ? Yes ! I 'm here , it 's ok , we 're , they 've , don 't , can n't , you 'll , he 'd",
    "naïve café résumé über Straße façade jalapeño Ærøskøbing",
    "Ça va? Où est la bibliothèque? ¿Qué tal? ¡Hola!",
    "東京は日本の首都です。北京是中国的首都。",
    "한국어 텍스트와 日本語のテキスト",
    "مرحبا بالعالم، كيف حالك؟",
    "שלום עולם",
    "Привет, мир! Как дела?",
    "Γειά σου Κόσμε",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "😀 😃 😄 😁 🙂",
    "👨‍👩‍👧‍👦 family, 👍🏽 thumbs, 🏳️‍🌈 flag, 🇺🇸🇫🇷 flags",
    "e\u0301 combining acute, n\u0303, a\u0308\u0304",
    "non\u00a0breaking\u2003em\u3000ideographic\u2028line\u0085nel",
    "zero\u200bwidth\u200cjoiner\u200dtest\ufeffbom",
    "x² y³ ½ ¼ ¾ Ⅻ ① ٣٤٥ ०१२",
    "https://example.com/path?query=1&other=two#frag",
    "user@example.org, ftp://files.example.net:21/dir/file.tar.gz",
    CODE,
    "    indented four\n        indented eight\n\tindented tab\n",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are helpful.<|im_end|><|im_start|>user\nWhat's 2+2?<|im_end|>",
    "<|endoftext|>",
    "text<|endoftext|>more",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nhi<end_of_turn>",
    "<s>html-ish</s> <table><tr><td>1</td></tr></table> <b>bold</b>",
    "<unused0> <unused99> <mask> <pad> <unk> [multimodal]",
    "<|im_start|><|im_start|>",
    "<0x41><0x0A>",
    "▁already▁escaped▁",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!!!!!!!!...........??????",
    "ÀÁÂÃÄÅ àáâãäå ǅǈǋ",
    LONG_PARAGRAPH,
]

# Raw byte cases: invalid or unusual UTF-8 (llama.cpp aborts on sequences that
# decode past U+10FFFF, so there are none of those here).
BYTE_CASES = [
    b"\xff",
    b"\x80abc",
    b"abc\xe2",
    b"\xe2\x82 euro broken",
    b"ok \xc0\x80 overlong",
    b"\xed\xa0\x80 surrogate",
    b"mixed \xf0\x9f\x98 cut emoji \xf0\x9f\x98\x80 whole",
    b"\x00nul\x01\x02\x7f",
]

# A pool to draw random strings from: each class the pre-tokenizers treat apart.
POOL = (list("abcXYZ019'sStdmlrve") + [" ", " ", "  ", "\t", "\n", "\r", "\r\n", "!", ".", ",", "$", "+", "<", "|",
        "`", "~", "_", "-", "é", "ß", "ǅ", "東", "京", "٣", "²", "½", "Ⅻ", "\u0301", "\u00a0", "\u3000",
        "\u2028", "\u0085", "😀", "👍🏽", "‍", "€", "¿", "«", "»", "…", "—", "\ufffd", "\u0378", "'", "'", "n't"])


def random_cases(n, seed):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        out.append("".join(rnd.choice(POOL) for _ in range(rnd.randint(1, 40))))
    return out


def case_bytes():
    cases = [s.encode("utf-8") for s in BASE_CASES] + BYTE_CASES
    cases += [s.encode("utf-8") for s in random_cases(120, 1234)]
    return cases


class Vocab:
    def __init__(self, path):
        self.llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.n = llama_cpp.llama_vocab_n_tokens(self.vocab)

    def tokenize(self, data, add_special, parse_special):
        cap = len(data) + 16
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, parse_special)
        if n < 0:
            raise RuntimeError("tokenize buffer too small")
        return list(buf[:n])

    def detokenize(self, ids):
        arr = (llama_cpp.llama_token * max(1, len(ids)))(*ids)
        cap = 64 + 64 * len(ids)
        buf = ctypes.create_string_buffer(cap)
        n = llama_cpp.llama_detokenize(self.vocab, arr, len(ids), buf, cap, False, True)
        if n < 0:
            raise RuntimeError("detokenize buffer too small")
        return buf.raw[:n]

    def piece(self, token):
        buf = ctypes.create_string_buffer(512)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, 512, 0, True)
        if n < 0:
            raise RuntimeError("piece buffer too small")
        return buf.raw[:n]


def readable(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def golden_for(path, label, combos, piece_ids, note):
    v = Vocab(path)
    cases = []
    for data in case_bytes():
        for add_special, parse_special in combos:
            ids = v.tokenize(data, add_special, parse_special)
            case = {"text_hex": data.hex(), "add_special": add_special, "parse_special": parse_special,
                    "ids": ids, "decoded_hex": v.detokenize(ids).hex()}
            text = readable(data)
            if text is not None:
                case["text"] = text
            cases.append(case)
    pieces = [{"id": i, "piece_hex": v.piece(i).hex()} for i in piece_ids(v)]
    vocab = v.vocab
    return {
        "label": label,
        "model": os.path.basename(path) if note is None else note,
        "generator": "python3 tests/models/gen_tokenizer_golden.py (llama-cpp-python %s)" % llama_cpp.__version__,
        "n_vocab": v.n,
        "bos_id": llama_cpp.llama_vocab_bos(vocab),
        "eos_id": llama_cpp.llama_vocab_eos(vocab),
        "eot_id": llama_cpp.llama_vocab_eot(vocab),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "add_eos": bool(llama_cpp.llama_vocab_get_add_eos(vocab)),
        "end_of_generation_ids": [i for i in range(v.n) if llama_cpp.llama_vocab_is_eog(vocab, i)],
        "control_ids": [i for i in range(v.n) if llama_cpp.llama_vocab_is_control(vocab, i)],
        "cases": cases,
        "pieces": pieces,
    }


def sample_ids(count, seed):
    def pick(v):
        ids = set(range(min(v.n, 400)))
        ids.update(i for i in range(v.n) if llama_cpp.llama_vocab_get_attr(v.vocab, i) not in (
            llama_cpp.LLAMA_TOKEN_ATTR_NORMAL,) and len(ids) < 20000)
        rnd = random.Random(seed)
        ids.update(rnd.randrange(v.n) for _ in range(count))
        ids.update(range(max(0, v.n - 50), v.n))
        return sorted(ids)
    return pick


def write_variant(src, overrides, out_path):
    """A copy of src's metadata (no tensors) with the keys in overrides replaced."""
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(out_path, arch=r.fields["general.architecture"].contents())
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = overrides.get(key, field.contents())
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, value, kind, sub_type=sub)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def dump(obj, name):
    path = os.path.join(DATA, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=0, separators=(",", ":"))
        f.write("\n")
    print("wrote %s: %d cases, %d pieces" % (path, len(obj["cases"]), len(obj["pieces"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    home = os.environ.get("HEARTH_HOME", os.path.expanduser("~/.cache/hearth"))
    ap.add_argument("--models", default=os.path.join(home, "models"))
    args = ap.parse_args()
    all_combos = [(False, False), (True, False), (False, True), (True, True)]
    smollm = os.path.join(args.models, SMOLLM)
    gemma = os.path.join(args.models, GEMMA)
    for p in (smollm, gemma):
        if not os.path.exists(p):
            sys.exit("missing %s: run scripts/setup.sh --test" % p)
    dump(golden_for(smollm, "smollm2", all_combos, sample_ids(3000, 1), None), "tokenizer_smollm2.json")
    dump(golden_for(gemma, "gemma3", all_combos, sample_ids(6000, 2), None), "tokenizer_gemma3.json")
    with tempfile.TemporaryDirectory() as tmp:
        for pre in ["gpt-2", "default", "llama-bpe", "qwen2"]:
            path = os.path.join(tmp, "smollm2-pre-%s.gguf" % pre)
            write_variant(smollm, {"tokenizer.ggml.pre": pre}, path)
            obj = golden_for(path, "smollm2 vocabulary, pre-tokenizer " + pre, [(False, False), (True, True)],
                             lambda v: [], "%s with tokenizer.ggml.pre = %s" % (SMOLLM, pre))
            obj["pre"] = pre
            dump(obj, "tokenizer_smollm2_pre_%s.json" % pre.replace("-", "_"))
        path = os.path.join(tmp, "gemma3-space-prefix.gguf")
        write_variant(gemma, {"tokenizer.ggml.add_space_prefix": True}, path)
        obj = golden_for(path, "gemma3 vocabulary, add_space_prefix", all_combos, lambda v: [],
                         "%s with tokenizer.ggml.add_space_prefix = true" % GEMMA)
        dump(obj, "tokenizer_gemma3_space_prefix.json")


if __name__ == "__main__":
    main()
