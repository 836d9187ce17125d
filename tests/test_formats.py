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


# -- null means absent (JSONL exported by pandas / datasets fills every absent column with null) --
NULL_FILLED = {
    "chat": {"messages": [{"role": "user", "content": "u", "name": None, "weight": None, "tool_call_id": None, "function_call": None},
                          {"role": "assistant", "content": "a", "tool_calls": None, "weight": None, "refusal": None}],
             "tools": None, "functions": None, "metadata": None, "instruction": None, "chosen": None},
    "alpaca": {"instruction": "i", "input": None, "output": "o", "system": None, "history": None, "messages": None},
    "sharegpt": {"conversations": [{"from": "human", "value": "u", "weight": None}, {"from": "gpt", "value": "a", "loss": None}],
                 "system": None, "tools": None, "id": None},
    "dpo": {"input": {"messages": [{"role": "user", "content": "u", "name": None}], "tools": None},
            "preferred_output": [{"role": "assistant", "content": "good", "tool_calls": None}],
            "non_preferred_output": [{"role": "assistant", "content": "bad", "weight": None}]},
    "prompt-completion": {"prompt": "p", "completion": " c", "messages": None, "instruction": None},
}


@pytest.mark.parametrize("fmt", list(NULL_FILLED))
def test_null_optional_keys_are_absent(fmt):
    obj = NULL_FILLED[fmt]
    assert detect(obj) == fmt  # a null column of another format does not change the guess
    rec = Record("x", 1, 1, 0, obj, b"")
    Normalizer().normalize(rec, fmt)
    assert rec.problems == []
    assert any(t.kind == "answer" for t in rec.turns)


def test_null_required_key_is_still_reported_as_null():
    rec = Record("x", 1, 1, 0, {"prompt": "p", "completion": None}, b"")
    Normalizer().normalize(rec, "prompt-completion")
    assert [(p.problem, p.pointer) for p in rec.problems] == [("wrong-type", "/completion")]
    rec = Record("x", 1, 1, 0, {"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "a"}]}, b"")
    Normalizer().normalize(rec, "chat")
    assert [(p.problem, p.pointer) for p in rec.problems] == [("wrong-type", "/messages/0/content")]
    assert detect({"messages": None}) == "chat"  # nothing fits without it: the null key still names the format


def test_null_filled_export_checks_clean():
    from conftest import FIXTURES, run_cli

    p = run_cli("check", str(FIXTURES / "formats" / "nulls_chat.jsonl"), "--isolated")
    assert p.returncode == 0 and "All checks passed" in p.stdout, p.stdout + p.stderr
