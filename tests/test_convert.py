"""Format conversion (`tunelint fix --to chat|prompt-completion`)."""
from __future__ import annotations

import orjson
import pytest

from conftest import run_cli
from tunelint.config import load_config
from tunelint.convert import ConvertError, convert
from tunelint.engine import FileRun


def test_alpaca_to_chat_keeps_everything():
    rec = {"system": "Be brief.", "history": [["Hi", "Hello"]], "instruction": "Add", "input": "2 and 2", "output": "4", "id": 7}
    assert convert(rec, "chat") == {"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Add\n\n2 and 2"},
        {"role": "assistant", "content": "4"}], "metadata": {"id": 7}}
    assert convert({"instruction": "A", "input": "", "output": "B"}, "chat", "\n")["messages"][0] == {"role": "user", "content": "A"}
    assert convert({"instruction": "A", "input": "x", "output": "B"}, "chat", "\n")["messages"][0]["content"] == "A\nx"


def test_sharegpt_tool_calls_to_chat():
    rec = {"conversations": [
        {"from": "human", "value": "Weather in Paris?"},
        {"from": "function_call", "value": '{"name": "weather", "arguments": {"city": "Paris"}}'},
        {"from": "observation", "value": '{"temp": 21}'},
        {"from": "gpt", "value": "21 degrees."}],
        "tools": '[{"name": "weather", "parameters": {"type": "object"}}]', "system": "You are helpful."}
    out = convert(rec, "chat")
    m = out["messages"]
    assert [x["role"] for x in m] == ["system", "user", "assistant", "tool", "assistant"]
    call = m[2]["tool_calls"][0]
    assert call["function"] == {"name": "weather", "arguments": '{"city":"Paris"}'}
    assert m[3]["tool_call_id"] == call["id"]
    assert out["tools"] == [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]


def test_prompt_completion_round_trip_and_lossless_only():
    pc = {"prompt": "Q", "completion": "A"}
    chat = convert(pc, "chat")
    assert chat == {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    assert convert(chat, "prompt-completion") == pc
    assert convert({"instruction": "Q", "input": "", "output": "A"}, "prompt-completion") == pc
    with pytest.raises(ConvertError, match="lossless"):
        convert({"instruction": "Q", "input": "x", "output": "A"}, "prompt-completion")
    with pytest.raises(ConvertError, match="lossless"):
        convert({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "Q"},
                              {"role": "assistant", "content": "A"}]}, "prompt-completion")
    with pytest.raises(ConvertError, match="preference"):
        convert({"prompt": "Q", "chosen": "a", "rejected": "b"}, "chat")
    same = {"messages": []}
    assert convert(same, "chat") is same


def test_fix_to_chat_end_to_end(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"instruction": "Add ", "input": "2 and 2", "output": "4"}\n'
                    b'{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}\n'
                    b'{"prompt": "Q", "chosen": "a", "rejected": "b"}\n')
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    r = run_cli("fix", str(src), "-o", str(out), "--to", "chat", "--rejects", str(rej), "--isolated")
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert rows[0] == {"messages": [{"role": "user", "content": "Add\n\n2 and 2"}, {"role": "assistant", "content": "4"}]}  # E009 stripped "Add "
    assert rows[1]["messages"][1] == {"role": "assistant", "content": "Hello"}
    rejected = orjson.loads(rej.read_bytes())
    assert rejected["line"] == 3 and rejected["codes"] == ["convert"] and "preference" in rejected["reason"]
    assert "3 input records -> 2 written, 1 rejected" in r.stderr
    diags = FileRun(str(out), load_config(data={})).run()
    assert not [d for d in diags if d.code.startswith("F")], [(d.code, d.message) for d in diags]
    again = tmp_path / "again.jsonl"
    run_cli("fix", str(out), "-o", str(again), "--to", "chat", "--isolated")
    assert again.read_bytes() == out.read_bytes()


def test_preference_file_is_not_converted(tmp_path):
    src = tmp_path / "pairs.jsonl"
    src.write_bytes(b'{"prompt": "Q", "chosen": "a", "rejected": "b"}\n{"prompt": "R", "chosen": "c", "rejected": "d"}\n')
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", str(src), "-o", str(out), "--to", "chat", "--isolated")
    assert r.returncode == 1 and "preference" in r.stderr and not out.exists()


def test_to_chat_strips_placeholders_and_separators():
    """A "no input" placeholder never becomes question text; a chat template marks turns
    itself, so the prompt's separator and the completion's stop sequence go."""
    for marker in ("<noinput>", "No input.", "N/A", "  "):
        got = convert({"instruction": "Name a color.", "input": marker, "output": "Blue."}, "chat")
        assert got["messages"][0] == {"role": "user", "content": "Name a color."}
    got = convert({"prompt": "Name a color.\n\n###\n\n", "completion": " Blue. END"}, "chat")
    assert [m["content"] for m in got["messages"]] == ["Name a color.", "Blue."]
    got = convert({"prompt": "Tell a story ->", "completion": " They lived. THE END\n"}, "chat")
    assert [m["content"] for m in got["messages"]] == ["Tell a story", "They lived. THE END"]
    got = convert({"instruction": "Translate.", "input": "Hola", "output": "Hi"}, "chat")
    assert got["messages"][0]["content"] == "Translate.\n\nHola"


def test_trl_conversational_prompt_completion_to_chat_and_other_shapes_refused():
    obj = {"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "yo"}]}
    assert convert(obj, "chat") == {"messages": obj["prompt"] + obj["completion"]}
    with pytest.raises(ConvertError, match="text records do not convert"):
        convert({"text": "abc"}, "chat")
