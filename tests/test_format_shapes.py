"""Every record shape read natively (issue 16): each sample under fixtures/formats/ is detected as
its format, reads clean (no error, no warning), and its texts, system text included, become turns
whose pointers resolve in the record."""
from __future__ import annotations

import json

import orjson
import pytest

import tunelint
from conftest import FIXTURES
from tunelint.diagnostic import split_pointer
from tunelint.formats import FORMATS, SPEC, SPECS, Normalizer, Record, detect, resolve_format

SAMPLES = {
    "trl_conversational_prompt_completion.jsonl": "prompt-completion",
    "trl_prompt_only.jsonl": "prompt-only",
    "trl_kto.jsonl": "kto",
    "trl_stepwise.jsonl": "stepwise",
    "trl_language_modeling.jsonl": "text",
    "trl_vision.jsonl": "chat",
    "trl_implicit_preference.jsonl": "preference",
    "hf_tool_calls.jsonl": "chat",
    "gemini.jsonl": "gemini",
    "bedrock_conversation.jsonl": "bedrock",
    "bedrock_claude.jsonl": "claude",
    "openai_rft.jsonl": "rft",
    "nulls_chat.jsonl": "chat",
}
DIR = FIXTURES / "formats"


def records(name):
    return [orjson.loads(line) for line in (DIR / name).read_bytes().splitlines() if line.strip()]


def normalized(obj, fmt=None):
    rec = Record("x", 1, 1, 0, obj, b"")
    Normalizer().normalize(rec, fmt or detect(obj))
    return rec


def resolve(obj, ptr):
    for tok in split_pointer(ptr):
        obj = obj[int(tok)] if isinstance(obj, list) else obj[tok]
    return obj


def test_every_sample_is_listed():
    assert sorted(p.name for p in DIR.glob("*.jsonl")) == sorted(SAMPLES)
    assert set(SAMPLES.values()) | {"alpaca", "sharegpt", "dpo"} == set(FORMATS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_reads_clean_as_its_format(name):
    res = tunelint.check(str(DIR / name), {})
    assert [(d.code, d.message) for d in res.diagnostics if d.severity in ("error", "warning")] == []
    assert res.files[0].format == SAMPLES[name]
    for obj in records(name):
        rec = normalized(obj)
        assert rec.format == SAMPLES[name] and rec.problems == []
        assert any(t.kind == "answer" or rec.format in ("prompt-only", "rft") for t in rec.turns)
        for t in rec.turns:
            assert resolve(obj, t.pointer) == t.text


@pytest.mark.parametrize("name,pointer", [
    ("bedrock_conversation.jsonl", "/system/0/text"), ("bedrock_claude.jsonl", "/system"),
    ("gemini.jsonl", "/systemInstruction/parts/0/text"), ("openai_rft.jsonl", "/messages/0/content"),
])
def test_system_text_of_every_format_is_a_turn(name, pointer):
    rec = normalized(records(name)[0])
    assert [t.pointer for t in rec.turns if t.kind == "system"] == [pointer]


def test_system_text_reaches_the_text_checks(tmp_path):
    obj = records("bedrock_conversation.jsonl")[0]
    obj["system"][0]["text"] = "You are a helpful travel assistant.\u200b"  # an invisible character
    p = tmp_path / "b.jsonl"
    p.write_text(json.dumps(obj) + "\n")
    found = [(d.code, d.pointer) for d in tunelint.check(str(p), {}).diagnostics]
    assert ("E006", "/system/0/text") in found, found


def test_spec_table_drives_detection_and_keys():
    assert [sp.name for sp in SPECS] and set(SPEC) == set(FORMATS)
    for fmt in FORMATS:
        assert resolve_format(fmt) == fmt
    assert resolve_format("vertex") == "gemini" and resolve_format("KTO") == "kto"
    for sp in SPECS:
        assert set(sp.required) <= (sp.allowed if sp.allowed is not None else set(sp.required))


def problems(obj, fmt=None):
    return [(p.problem, p.pointer) for p in normalized(obj, fmt).problems]


def test_implicit_preference_pair_with_different_prompts_is_an_error():
    obj = {"chosen": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
           "rejected": [{"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "5"}]}
    assert problems(obj) == [("pair-prompt-differs", "/rejected/0")]
    obj["prompt"] = [{"role": "user", "content": "2+2?"}]  # an explicit prompt: the lists are answers
    obj["chosen"], obj["rejected"] = obj["chosen"][1:], obj["rejected"][1:]
    assert problems(obj) == []


def test_prompt_only_record_in_a_prompt_completion_file_misses_its_completion(tmp_path):
    p = tmp_path / "pc.jsonl"
    p.write_text('{"prompt": "a", "completion": " b"}\n{"prompt": "c"}\n{"prompt": "e", "completion": " f"}\n')
    found = [(d.code, d.line) for d in tunelint.check(str(p), {}).diagnostics]
    assert ("F003", 2) in found


def test_typo_next_to_a_prompt_is_still_a_prompt_completion_record():
    assert detect({"prompt": "a", "completon": " b"}) == "prompt-completion"
    assert detect({"prompt": "a"}) == "prompt-only"


def test_tool_call_arguments_as_object_or_string():
    call = {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}
    msgs = [{"role": "user", "content": "x"}, call]
    assert problems({"messages": msgs}) == []
    call["tool_calls"][0]["function"]["arguments"] = [1]
    assert problems({"messages": msgs}) == [("wrong-type", "/messages/1/tool_calls/0/function/arguments")]


def test_gemini_structure():
    obj = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "assistant", "parts": [{"text": "hello"}]}]}
    rec = normalized(obj)
    assert [(p.problem, p.pointer, p.repair) for p in rec.problems][0] == ("unknown-role", "/contents/1/role", ("/contents/1/role", "model"))
    obj = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert problems(obj) == [("no-assistant", "/contents")]
    obj = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"functionCall": {"name": "g", "args": {}}}]}],
           "tools": [{"functionDeclarations": [{"name": "f", "parameters": {}}]}]}
    assert problems(obj) == [("tool-undeclared", "/contents/1/parts/0/functionCall/name")]


def test_bedrock_and_claude_structure():
    b = records("bedrock_conversation.jsonl")[0]
    b["messages"][0]["content"] = "a string"
    assert problems(b) == [("wrong-type", "/messages/0/content")]
    c = records("bedrock_claude.jsonl")[0]
    c["messages"].insert(0, {"role": "system", "content": "no"})
    assert [p for p, _ in problems(c)] == ["unknown-role"]


def test_stepwise_and_kto_types():
    assert problems({"prompt": "p", "completions": ["a", "b"], "labels": [True]}) == [("wrong-type", "/labels")]
    assert problems({"prompt": "p", "completion": " c", "label": "yes"}) == [("wrong-type", "/label")]
    assert detect({"prompt": "p", "completion": " c", "label": True}) == "kto"


def test_rft_needs_grader_fields_to_be_detected():
    msgs = [{"role": "user", "content": "2+2?"}]
    assert detect({"messages": msgs, "reference_answer": "4"}) == "rft"
    assert detect({"messages": msgs}) == "chat"  # no grader field: a chat record missing its answer (F007)


def test_detection_cache_still_tests_values():
    """Detection is cached per key tuple; formats told apart by values are still tested per record."""
    user, answer = {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}
    assert detect({"messages": [user], "reference_answer": "4"}) == "rft"
    assert detect({"messages": [user, answer], "reference_answer": "4"}) == "chat"  # same keys, ends with the answer
    assert detect({"messages": [user, answer], "system": "Be brief."}) == "claude"
    assert detect({"messages": [user, answer], "system": [{"text": "Be brief."}]}) == "chat"
