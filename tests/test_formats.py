"""Format detection and normalization into turns with JSON pointers."""
from __future__ import annotations

import pytest

from tunelint.diagnostic import split_pointer
from tunelint.formats import Normalizer, Record, detect, resolve_format

CASES = {
    "chat": {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "u"}]},
                          {"role": "assistant", "content": "a"}]},
    "prompt-completion": {"prompt": "p", "completion": " c"},
    "alpaca": {"instruction": "i", "input": "x", "output": "o", "history": [["h1", "h2"]]},
    "sharegpt": {"conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": "u"}, {"from": "gpt", "value": "a"}]},
    "dpo": {"input": {"messages": [{"role": "user", "content": "u"}]}, "preferred_output": [{"role": "assistant", "content": "good"}],
            "non_preferred_output": [{"role": "assistant", "content": "bad"}]},
    "preference": {"prompt": [{"role": "user", "content": "u"}], "chosen": [{"role": "assistant", "content": "good"}],
                   "rejected": [{"role": "assistant", "content": "bad"}]},
}


def resolve(obj, ptr):
    for tok in split_pointer(ptr):
        obj = obj[int(tok)] if isinstance(obj, list) else obj[tok]
    return obj


@pytest.mark.parametrize("fmt", list(CASES))
def test_detect_normalize_and_pointers_resolve(fmt):
    obj = CASES[fmt]
    assert detect(obj) == fmt
    rec = Record("x", 1, 1, 0, obj, b"")
    Normalizer().normalize(rec, fmt)
    assert rec.problems == []
    assert rec.turns, fmt
    for t in rec.turns:
        assert resolve(obj, t.pointer) == t.text
    assert any(t.kind == "answer" for t in rec.turns)


def test_preference_branches():
    rec = Record("x", 1, 1, 0, CASES["dpo"], b"")
    Normalizer().normalize(rec, "dpo")
    assert {t.branch for t in rec.turns if t.kind == "answer"} == {"chosen", "rejected"}


def test_format_aliases():
    assert resolve_format("openai") == "chat" and resolve_format("TRL") == "preference"
    with pytest.raises(ValueError):
        resolve_format("csv")


def test_assistant_tool_call_without_content_is_valid_and_undeclared_tool_flagged():
    obj = {"messages": [{"role": "user", "content": "x"},
                        {"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
                        {"role": "tool", "tool_call_id": "1", "content": "ok"}, {"role": "assistant", "content": "done"}],
           "tools": [{"type": "function", "function": {"name": "f"}}]}
    rec = Record("x", 1, 1, 0, obj, b"")
    Normalizer().normalize(rec, "chat")
    assert [p.problem for p in rec.problems] == ["tool-undeclared"]
    assert rec.problems[0].pointer == "/messages/1/tool_calls/0/function/name"


def test_llamafactory_v1_text_parts_are_read_and_reported():
    # LLaMA-Factory v1 writes {"type": "text", "value": ...}: OpenAI needs "text"; the text is still checked
    obj = {"messages": [{"role": "user", "content": [{"type": "text", "value": "hi"}]},
                        {"role": "assistant", "content": [{"type": "text", "value": "I am {{name}}."}]}]}
    rec = Record("x", 1, 1, 0, obj, b"")
    Normalizer().normalize(rec, "chat")
    assert [(p.problem, p.pointer) for p in rec.problems] == [
        ("wrong-type", "/messages/0/content/0/value"), ("wrong-type", "/messages/1/content/0/value")]
    assert "LLaMA-Factory" in rec.problems[0].message
    assert [(t.kind, t.text) for t in rec.turns] == [("prompt", "hi"), ("answer", "I am {{name}}.")]
    for t in rec.turns:
        assert resolve(obj, t.pointer) == t.text
