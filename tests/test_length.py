"""L rules beyond their YAML examples: exact messages, limits at the boundary, skipping, merging."""
from __future__ import annotations

import json

import pytest

from tunelint import tokens
from tunelint.checks import FileContext
from tunelint.config import load_config
from tunelint.engine import FileRun


def run(tmp_path, lines, name="t.jsonl", **cfg):
    p = tmp_path / name
    p.write_text("".join(json.dumps(o) + "\n" for o in lines))
    config = load_config(data={"select": ["L001", "L002", "L003"], **cfg})
    return FileRun(str(p), config, display_path=name).run()


def chat(user, answer, system=None):
    msgs = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"messages": msgs}


def cookbook(enc, messages):
    return sum(3 + sum(len(enc.encode(v)) for v in m.values()) for m in messages) + 3


def test_l001_message_names_the_target(tmp_path):
    enc = tokens.get_encoding("cl100k_base")
    long = " ".join(f"word{i}" for i in range(2500))
    rec = chat("Summarize this: " + long, "Too long.")
    n = cookbook(enc, rec["messages"])
    assert n > 4096
    diags = run(tmp_path, [rec, chat("Hi", "Hello!")], target="gpt-3.5-turbo-4k")
    l1 = [d for d in diags if d.code == "L001"]
    assert [d.line for d in l1] == [1]
    assert l1[0].message.startswith(f"example has {n:,} tokens; gpt-3.5-turbo-4k allows 4,096 ({n - 4096:,} over)")
    assert "/messages/0/content" in l1[0].message  # the longest turn
    assert l1[0].fix is not None and l1[0].fix.applicability == "unsafe"
    assert [e.op for e in l1[0].fix.edits] == ["drop"]
    assert l1[0].severity == "error"


@pytest.mark.parametrize("delta,fires", [(0, False), (-1, True), (1, False)])
def test_l001_limit_boundary(tmp_path, delta, fires):
    enc = tokens.get_encoding("o200k_base")
    rec = chat("Name three primary colors, please.", "Red, yellow and blue.", system="Answer briefly.")
    n = cookbook(enc, rec["messages"])
    diags = run(tmp_path, [rec], **{"max-tokens": n + delta})
    l1 = [d for d in diags if d.code == "L001"]
    assert bool(l1) == fires
    if fires:
        assert l1[0].message.startswith(f"example has {n} tokens; the limit (max-tokens) is {n + delta} (1 over)")


def test_l001_rule_param_overrides_target(tmp_path):
    rec = {"prompt": "Translate: good night\n\n###\n\n", "completion": " Gute Nacht END"}
    n = len(tokens.get_encoding("o200k_base").encode(rec["prompt"] + rec["completion"]))
    diags = run(tmp_path, [rec], target="gpt-4o", rules={"L001": {"max-tokens": 5}})
    (d,) = [d for d in diags if d.code == "L001"]
    assert "the limit (max-tokens) is 5" in d.message
    # tokens of the two fields counted separately: at most one more than the joined text
    assert f"example has {n}" in d.message or f"example has {n + 1}" in d.message


def test_l001_small_records_skip_the_tokenizer(tmp_path, monkeypatch):
    calls = []
    real = tokens.exceeds
    monkeypatch.setattr(tokens, "exceeds", lambda r, t, lim: calls.append(r.line) or real(r, t, lim))
    small = chat("Hi", "Hello!")
    big = chat("x " * 1200, "ok")
    diags = run(tmp_path, [small, big, small], **{"max-tokens": 1000})
    assert calls == [2]  # lines 1 and 3 are too small to matter: rejected by their byte size alone
    assert [d.line for d in diags if d.code == "L001"] == [2]


def test_l001_silent_without_a_limit(tmp_path):
    assert not [d for d in run(tmp_path, [chat("x " * 5000, "ok")]) if d.code == "L001"]


def test_l002_counts_and_merges(tmp_path):
    recs = [chat(f"q{i}", f"a{i}") for i in range(4)]
    diags = run(tmp_path, recs, target="gpt-4o")
    (d,) = [d for d in diags if d.code == "L002"]
    assert d.line == 0 and d.message == "file has 4 examples; gpt-4o fine-tuning needs at least 10"
    assert not [d for d in run(tmp_path, recs * 3, target="gpt-4o") if d.code == "L002"]

    from tunelint.checks.length import MinExamples

    cfg = load_config(data={"select": ["L002"], "target": "gpt-4o"})
    rule = cfg.rule("L002")
    a, b = MinExamples(rule, rule.params), MinExamples(rule, rule.params)
    ctx = FileContext("x.jsonl", "chat", cfg)
    a.begin(ctx)
    b.begin(ctx)
    for _ in range(6):
        a.observe(None, ctx)
    for _ in range(3):
        b.observe(None, ctx)
    a.merge(b)
    assert [f.args["count"] for f in a.finish(ctx)] == ["9"]


def test_l002_not_for_files_without_records(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text("not json\n")
    diags = FileRun(str(p), load_config(data={"select": ["L002"], "target": "gpt-4o"})).run()
    assert not [d for d in diags if d.code == "L002"]


def test_l003_thresholds(tmp_path):
    recs = [
        {"instruction": "2+2?", "input": "", "output": "4"},
        {"instruction": "Explain.", "input": "", "output": "…"},
        {"instruction": "Explain photosynthesis.", "input": "", "output": "Plants make sugar from light."},
        {"instruction": "Morse for 'I am'", "input": "", "output": ".. / .- --"},
    ]
    assert [d.line for d in run(tmp_path, recs) if d.code == "L003"] == [2]
    assert [d.line for d in run(tmp_path, recs, rules={"L003": {"min-chars": 2}}) if d.code == "L003"] == [1, 2, 4]
    hits = [d for d in run(tmp_path, recs, rules={"L003": {"min-words": 6}}) if d.code == "L003"]
    assert [d.line for d in hits] == [1, 2, 3, 4]
    assert "5 word(s) (minimum 6)" in hits[2].message and hits[2].pointer == "/output"
    assert "only '…' repeated" in hits[1].message
