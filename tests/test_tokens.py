"""tunelint.tokens: offline loading, exact counts (checked against the cookbook formula computed
here from the Encoding), and the byte bound that lets L001 skip encoding."""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace

import orjson
import pytest

from tunelint import tokens
from tunelint.formats import Normalizer, Record, detect
from tunelint.rules import Target, builtin_pack

TARGETS = builtin_pack().targets
GPT4O = TARGETS["gpt-4o"]
GPT35 = TARGETS["gpt-3.5-turbo"]
TEXTS = [
    "", "hello world", "Hello, World!!  \n\n  trailing   ", "naïve café crème brûlée",
    "日本語のテキストとemoji 😀🚁 mixed", "<|endoftext|> and <|fim_prefix|> as plain text",
    "def f(x):\n    return x ** 2  # comment\n", "1234567890 3.14159 -42", "\u0001\u0007 control \t tab",
]


def records(path):
    out = []
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            line = line.rstrip(b"\n")
            obj = orjson.loads(line)
            rec = Record(str(path), i + 1, 1, i, obj, line)
            Normalizer().normalize(rec, detect(obj))
            out.append(rec)
    return out


@pytest.fixture(scope="module")
def mixed():
    from conftest import FIXTURES

    return records(FIXTURES / "length" / "mixed.jsonl")


# -- the cookbook's formulas, written independently from the Encoding ------------------------------
def cookbook_messages(enc, messages, per_message=3, per_name=1):
    n = 0
    for m in messages:
        n += per_message
        for k, v in m.items():
            if isinstance(v, str):
                n += len(enc.encode(v, disallowed_special=()))
                if k == "name":
                    n += per_name
            elif k == "content" and isinstance(v, list):
                n += sum(len(enc.encode(p["text"], disallowed_special=())) for p in v if p.get("type") == "text")
            elif k == "tool_calls":
                for c in v:
                    n += len(enc.encode(c["function"]["name"])) + len(enc.encode(c["function"]["arguments"]))
    return n + 3  # every reply is primed with <|start|>assistant<|message|>


def cookbook_tools(enc, functions, func_init):
    prop_init, prop_key, enum_init, enum_item, func_end = 3, 3, -3, 3, 12
    n = 0
    for f in functions:
        n += func_init
        fn = f["function"]
        desc = fn.get("description", "")
        if desc.endswith("."):
            desc = desc[:-1]
        n += len(enc.encode(fn["name"] + ":" + desc))
        props = fn["parameters"]["properties"]
        if props:
            n += prop_init
            for key, spec in props.items():
                n += prop_key
                if "enum" in spec:
                    n += enum_init
                    for item in spec["enum"]:
                        n += enum_item + len(enc.encode(item))
                pdesc = spec.get("description", "")
                if pdesc.endswith("."):
                    pdesc = pdesc[:-1]
                n += len(enc.encode(f"{key}:{spec['type']}:{pdesc}"))
    return n + func_end if functions else 0


# -- loading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", tokens.ENCODINGS)
def test_ranks_equal_the_official_file(name):
    """Re-serialize the loaded ranks in .tiktoken format: the sha256 must be OpenAI's expected_hash."""
    enc = tokens.get_encoding(name)
    ranks = enc._mergeable_ranks
    blob = b"".join(base64.b64encode(tok) + b" " + str(r).encode() + b"\n" for tok, r in sorted(ranks.items(), key=lambda x: x[1]))
    assert hashlib.sha256(blob).hexdigest() == tokens.EXPECTED_HASH[name]
    assert enc.name == name
    assert tokens.get_encoding(name) is enc  # cached per process


@pytest.mark.parametrize("name", tokens.ENCODINGS)
def test_same_parameters_as_tiktoken_ext(name):
    import tiktoken_ext.openai_public as op

    saved = op.load_tiktoken_bpe
    op.load_tiktoken_bpe = lambda url, expected_hash=None: {b"x": 0}
    try:
        params = getattr(op, name)()
    finally:
        op.load_tiktoken_bpe = saved
    enc = tokens.get_encoding(name)
    assert enc._pat_str == params["pat_str"]
    assert enc._special_tokens == params["special_tokens"]


def test_hash_mismatch_is_a_clear_error():
    with pytest.raises(tokens.TokenizerError, match="sha256"):
        tokens.load_ranks(tokens.data_path("cl100k_base"), "0" * 64)


def test_corrupt_table_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.tiktoken.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(tokens.TokenizerError, match="reinstall"):
        tokens.load_ranks(str(bad), tokens.EXPECTED_HASH["cl100k_base"])
    tampered = tmp_path / "y.tiktoken.gz"
    raw = gzip.decompress(open(tokens.data_path("cl100k_base"), "rb").read())
    tampered.write_bytes(gzip.compress(raw.replace(b" 100\n", b" 101\n", 1)))
    with pytest.raises(tokens.TokenizerError, match="sha256"):
        tokens.load_ranks(str(tampered), tokens.EXPECTED_HASH["cl100k_base"])


def test_goes_through_tiktokens_hash_check(tmp_path, monkeypatch):
    import tiktoken.load

    seen = []
    real = tiktoken.load.check_hash
    monkeypatch.setattr(tiktoken.load, "check_hash", lambda data, h: seen.append(h) or real(data, h))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    ranks = tokens.load_ranks(tokens.data_path("cl100k_base"), tokens.EXPECTED_HASH["cl100k_base"])
    assert seen == [tokens.EXPECTED_HASH["cl100k_base"]] and len(ranks) > 100_000
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


OFFLINE = r"""
import socket, sys
def refuse(*a, **k):
    raise OSError("network disabled in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from tunelint import tokens
print(tokens.count_text("offline counting works", "cl100k_base"))
"""


def test_works_offline():
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    p = subprocess.run([sys.executable, "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    enc = tokens.get_encoding("cl100k_base")
    assert int(p.stdout) == len(enc.encode("offline counting works"))


# -- counting ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", tokens.ENCODINGS)
def test_count_text(name):
    enc = tokens.get_encoding(name)
    for t in TEXTS:
        assert tokens.count_text(t, name) == len(enc.encode(t, disallowed_special=()))


@pytest.mark.parametrize("target", [GPT4O, GPT35], ids=lambda t: t.name)
def test_chat_records_match_the_cookbook(mixed, target):
    enc = tokens.get_encoding(target.encoding)
    func_init = 7 if target.encoding == "o200k_base" else 10
    chats = [r for r in mixed if r.format == "chat"]
    assert len(chats) >= 3
    for rec in chats:
        want = cookbook_messages(enc, rec.obj["messages"]) + cookbook_tools(enc, rec.obj.get("tools", []), func_init)
        assert tokens.count_record(rec, target) == want, rec.line


def test_target_overheads_are_used(mixed):
    rec = next(r for r in mixed if r.format == "chat" and "tools" not in r.obj)
    base = tokens.count_record(rec, GPT4O)
    msgs = len(rec.obj["messages"])
    bigger = replace(GPT4O, per_message=5, reply_priming=4)
    assert tokens.count_record(rec, bigger) == base + 2 * msgs + 1


def test_prompt_completion_is_the_plain_sum(mixed):
    enc = tokens.get_encoding("o200k_base")
    rec = next(r for r in mixed if r.format == "prompt-completion")
    assert tokens.count_record(rec, GPT4O) == len(enc.encode(rec.obj["prompt"])) + len(enc.encode(rec.obj["completion"]))


def test_alpaca_counts_as_a_chat(mixed):
    enc = tokens.get_encoding("o200k_base")
    rec = next(r for r in mixed if r.format == "alpaca" and r.obj.get("history"))
    o = rec.obj
    msgs = [{"role": "system", "content": o["system"]}]
    for q, a in o["history"]:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    msgs += [{"role": "user", "content": o["instruction"]}, {"role": "assistant", "content": o["output"]}]
    want = cookbook_messages(enc, msgs) + len(enc.encode(o["input"]))  # the input joins the instruction's message
    assert tokens.count_record(rec, GPT4O) == want


def test_preference_counts_the_longer_branch(mixed):
    enc = tokens.get_encoding("o200k_base")
    rec = next(r for r in mixed if r.format == "dpo")
    o = rec.obj
    prompt = cookbook_messages(enc, o["input"]["messages"])
    chosen = cookbook_messages(enc, o["preferred_output"]) - 3
    rejected = cookbook_messages(enc, o["non_preferred_output"]) - 3
    assert tokens.count_record(rec, GPT4O) == prompt + max(chosen, rejected)


def test_turn_tokens(mixed):
    enc = tokens.get_encoding("cl100k_base")
    for rec in mixed:
        got = tokens.turn_tokens(rec, GPT35)
        assert [t for t, _ in got] == [t for t in rec.turns if t.text is not None]
        assert all(n == len(enc.encode(t.text, disallowed_special=())) for t, n in got)


# -- the byte bound -----------------------------------------------------------------------------
@pytest.mark.parametrize("target", [GPT4O, GPT35], ids=lambda t: t.name)
def test_upper_bound_holds(mixed, target):
    for rec in mixed:
        n = tokens.count_record(rec, target)
        assert n <= tokens.upper_bound(rec, target), rec.line
        assert n <= 4 * len(rec.data) + 64, rec.line  # the coarse gate of checks/length.py


def test_exceeds_at_the_boundaries(mixed):
    for rec in mixed:
        n = tokens.count_record(rec, GPT4O)
        b = tokens.upper_bound(rec, GPT4O)
        for limit in {n - 1, n, n + 1, b - 1, b, b + 1}:
            if limit < 1:
                continue
            got = tokens.exceeds(rec, GPT4O, limit)
            assert got == (n if n > limit else None), (rec.line, limit, n, b)


def test_under_limit_records_are_not_encoded(mixed, monkeypatch):
    calls = []
    real = tokens.count_text
    monkeypatch.setattr(tokens, "count_text", lambda t, e: calls.append(t) or real(t, e))
    for rec in mixed:
        assert tokens.exceeds(rec, GPT4O, tokens.upper_bound(rec, GPT4O)) is None
    assert calls == []
    assert tokens.exceeds(mixed[0], GPT4O, 1) is not None
    assert calls


NOT_LOADED = r"""
import sys
from tunelint.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
from tunelint import tokens
print(json.dumps({"tiktoken": "tiktoken" in sys.modules, "loaded": tokens.is_loaded()}))
""".replace("import sys", "import sys, json", 1)


@pytest.mark.parametrize("args,loaded", [(["--target", "gpt-4o"], False), (["--max-tokens", "20"], True)])
def test_bpe_loaded_only_when_needed(fixtures, args, loaded):
    p = subprocess.run([sys.executable, "-c", NOT_LOADED, "check", "--isolated", "-q", str(fixtures / "length" / "mixed.jsonl"), *args],
                       capture_output=True, text=True, timeout=120)
    state = json.loads(p.stdout.strip().splitlines()[-1])
    assert state == {"tiktoken": loaded, "loaded": loaded}, p.stdout + p.stderr
