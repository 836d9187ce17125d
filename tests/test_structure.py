"""Conversation-structure rules (checks/structure.py, F024-F028) beyond their YAML examples."""
from __future__ import annotations

import base64
import json

import tunelint


def codes(tmp_path, obj, select, **cfg):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(obj) + "\n")
    return [(d.code, d.pointer) for d in tunelint.check(str(p), {"select": [select], **cfg}).diagnostics]


def chat_with_image(url):
    return {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                      {"type": "image_url", "image_url": {"url": url}}]},
                         {"role": "assistant", "content": "A cat."}]}


def test_tool_result_matched_by_name_when_calls_have_no_ids(tmp_path):
    msgs = [{"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {}}}]},
            {"role": "tool", "name": "f", "content": "1"}, {"role": "assistant", "content": "done"}]
    assert codes(tmp_path, {"messages": msgs}, "F026") == []
    msgs[2]["name"] = "g"
    assert codes(tmp_path, {"messages": msgs}, "F026") == [("F026", "/messages/2/name")]


def test_first_user_in_a_dpo_input_and_a_trl_prompt(tmp_path):
    dpo = {"input": {"messages": [{"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "2+2?"}]},
           "preferred_output": [{"role": "assistant", "content": "4"}], "non_preferred_output": [{"role": "assistant", "content": "5"}]}
    assert codes(tmp_path, dpo, "F024") == [("F024", "/input/messages/0/role")]  # once, not once per answer
    pc = {"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "completion": [{"role": "assistant", "content": "a"}]}
    assert codes(tmp_path, pc, "F024") == []


def test_image_limits_only_where_the_target_sets_them(tmp_path):
    big = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"\0" * (11 << 20)).decode()
    assert codes(tmp_path, chat_with_image(big), "F028") == []  # generic target: well formed, no limit
    assert codes(tmp_path, chat_with_image(big), "F028", target="gpt-4o") == [("F028", "/messages/0/content/1/image_url/url")]
    small = "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
    assert codes(tmp_path, chat_with_image(small), "F028", target="gpt-4o") == []
    assert codes(tmp_path, chat_with_image(small), "F028", target="gpt-3.5-turbo") == [("F028", "/messages/0/content/1")]
    many = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": small}}] * 11},
                         {"role": "assistant", "content": "Cats."}]}
    assert codes(tmp_path, many, "F028", target="gpt-4o") == [("F028", "")]


def test_images_column_and_vendor_image_blocks(tmp_path):
    vision = {"images": [{"bytes": None, "path": None}], "messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "?"}]},
                                                                       {"role": "assistant", "content": "A cat."}]}
    assert codes(tmp_path, vision, "F028") == [("F028", "/images/0")]
    bedrock = {"schemaVersion": "bedrock-conversation-2024",
               "messages": [{"role": "user", "content": [{"text": "What is this?"}, {"image": {"format": "bmp", "source": {"bytes": "AA=="}}}]},
                            {"role": "assistant", "content": [{"text": "A cat."}]}]}
    assert codes(tmp_path, bedrock, "F028") == [("F028", "/messages/0/content/1/image")]
    bedrock["messages"][0]["content"][1]["image"]["format"] = "png"
    assert codes(tmp_path, bedrock, "F028") == []
    gemini = {"contents": [{"role": "user", "parts": [{"text": "?"}, {"inlineData": {"mimeType": "image/tiff", "data": "AA=="}}]},
                           {"role": "model", "parts": [{"text": "A cat."}]}]}
    assert codes(tmp_path, gemini, "F028") == [("F028", "/contents/0/parts/1/inlineData/mimeType")]


def test_tool_definitions_in_sharegpt_string_and_gemini(tmp_path):
    sg = {"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "y"}],
          "tools": json.dumps([{"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}, {"description": "no name"}])}
    assert codes(tmp_path, sg, "F027") == [("F027", "/tools")]
    gem = {"contents": [{"role": "user", "parts": [{"text": "x"}]}, {"role": "model", "parts": [{"text": "y"}]}],
           "tools": [{"functionDeclarations": [{"name": "f"}, {"description": "no name"}]}]}
    assert codes(tmp_path, gem, "F027") == [("F027", "/tools/0/functionDeclarations/1")]


def test_tool_arguments_object_only_reported_for_string_targets(tmp_path):
    obj = {"messages": [{"role": "user", "content": "x"},
                        {"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
                        {"role": "tool", "tool_call_id": "1", "content": "ok"}, {"role": "assistant", "content": "done"}]}
    assert codes(tmp_path, obj, "F031") == []
    assert codes(tmp_path, obj, "F031", target="gpt-4.1") == [("F031", "/messages/1/tool_calls/0/function/arguments")]
    fixed = tunelint.fix([obj], {"target": "gpt-4.1", "select": ["F031"]}, unsafe=True)
    assert fixed.records[0]["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"a":1}'


def test_plain_legacy_records_skip_only_what_no_conversation_test_finds(tmp_path):
    """Legacy prompt/completion and KTO records with string fields and no tools, functions or
    images skip the six conversation tests (``_plain``); each test finds nothing in them, and a
    record with a list prompt, tools or images is still tested."""
    from hypothesis import given, settings, strategies as st

    from tunelint.checks.structure import CHECKS, Conversation, _plain
    from tunelint.config import load_config
    from tunelint.engine import FileRun
    from tunelint.model.record import Record

    p = tmp_path / "x.jsonl"
    p.write_text("")
    run = FileRun(str(p), load_config(data={"select": ["F"]}))
    ctx = run.start("prompt-completion")
    rules = [c for c in run.checks if isinstance(c, Conversation)]
    assert {c.p["check"] for c in rules} == set(CHECKS)
    value = st.one_of(st.text(max_size=5), st.none(), st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]),
                                                                                    "content": st.text(max_size=3)}), max_size=2))
    keys = st.sampled_from(["prompt", "completion", "label", "tools", "functions", "images", "other"])

    @settings(max_examples=300, deadline=None)
    @given(st.dictionaries(keys, value, max_size=5), st.sampled_from(["prompt-completion", "kto", "chat"]))
    def prop(obj, fmt):
        rec = Record("x", 1, 1, 0, obj, b"{}", format=fmt)
        for c in rules:
            if _plain(rec):
                assert list(c._test()(rec, ctx)) == [], (c.rule.code, obj)
                assert list(c.check_record(rec, ctx)) == []

    prop()
    listed = Record("x", 1, 1, 0, {"prompt": [{"role": "assistant", "content": "a"}], "completion": [{"role": "assistant", "content": "b"}]},
                    b"{}", format="prompt-completion")
    assert not _plain(listed)
    assert [f.pointer for c in rules for f in c.check_record(listed, ctx)] == ["/prompt/0/role"]  # F024
