"""C rules on small fixtures: exact lines and pointers, exemptions, fixes, opt-in rules."""
from __future__ import annotations

import pytest

from tunelint.config import load_config
from tunelint.engine import FileRun
from tunelint.rules import builtin_pack

from conftest import FIXTURES

ALPACA = FIXTURES / "content" / "alpaca_mixed.jsonl"
CHAT = FIXTURES / "content" / "chat_empty.jsonl"


def run(path, select=None, **cfg):
    data = dict(cfg)
    if select is not None:
        data["select"] = select
    config = load_config(data=data)
    return FileRun(str(path), config, display_path=path.name).run()


def found(diags):
    return sorted((d.code, d.line, d.pointer) for d in diags)


def test_alpaca_fixture_exact_findings():
    got = found(d for d in run(ALPACA) if d.code.startswith("C"))  # default selection
    assert got == [
        ("C001", 3, "/output"),
        ("C002", 2, "/input"),
        ("C003", 7, "/output"),
        ("C004", 4, "/input"),
        ("C005", 5, "/output"),
        ("C006", 6, "/output"),
        ("C007", 11, "/input"),
    ]


def test_secrets_on_by_default_pii_opt_in():
    rules = {r.code: r for r in builtin_pack().rules}
    assert rules["C007"].default and not rules["C008"].default
    assert [d.code for d in run(ALPACA) if d.code in ("C007", "C008")] == ["C007"]
    got = found(run(ALPACA, ["C007", "C008"]))
    assert got == [("C007", 11, "/input"), ("C008", 11, "/output")]


def test_empty_turn_exemptions_in_chat():
    # tool-call assistant messages with null or "" content are fine; a blank system or user turn is not
    got = found(run(CHAT, ["C001"]))
    assert got == [("C001", 3, "/messages/0/content"), ("C001", 4, "/messages/0/content")]
    msgs = {d.line: d.message for d in run(CHAT, ["C001"])}
    assert "whitespace-only system prompt" in msgs[3] and "whitespace-only prompt" in msgs[4]


def test_empty_prompt_of_prompt_completion_is_open_ended_generation(tmp_path):
    p = tmp_path / "pc.jsonl"
    p.write_text('{"prompt": "", "completion": " Once upon a time"}\n{"prompt": "x ->", "completion": ""}\n')
    assert found(run(p, ["C001"])) == [("C001", 2, "/completion")]


def test_placeholder_input_fix_sets_empty_string():
    d = next(d for d in run(ALPACA, ["C002"]))
    assert d.fix.applicability == "unsafe"
    (edit,) = d.fix.edits
    assert (edit.op, edit.pointer, edit.value) == ("set", "/input", "")


def test_merged_example_fix_keeps_the_answer():
    d = next(d for d in run(ALPACA, ["C005"]))
    (edit,) = d.fix.edits
    assert edit.value == "Whales are mammals."
    assert "6. Instruction:" in d.message


@pytest.mark.parametrize("text,hit", [
    ("Hello {{ user_name }}!", True),
    ("Dear {customer}, thanks.", True),
    ("The set {a, b} has two elements.", False),
    ("Use \\frac{num}{den} here.", False),
    ('{"name": "{{name}}"}', False),  # a JSON value
    ("```\nHello {{name}}\n```", False),  # code fence
    ("Template: <p>{{ title }}</p>", False),  # markup
])
def test_template_slot_is_conservative_around_code(tmp_path, text, hit):
    import json

    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"instruction": "x", "input": "", "output": text}) + "\n")
    assert bool([d for d in run(p, ["C006"])]) is hit


def test_single_brace_in_user_prompt_is_not_a_slot(tmp_path):
    import json

    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"instruction": "Fill {city} in my template", "input": "", "output": "Sure."}) + "\n")
    assert not run(p, ["C006"])


def test_constant_time_gates_agree_with_the_regexes_they_replace():
    import re

    from tunelint.checks.content import EmptyText
    from tunelint.checks.encoding import _INVISIBLE, _MOJI_HINT, _non_ascii_then, _not_ascii, edge_space

    samples = ["", " ", "a", " a", "a ", "a\n", "\na", "a b", "\u00a0x", "x\u2003", "\x1c", "x\x1f", "é", "a\u200bb",
               "donâ€™t", "ok\u00c3\u00a9", "plain ascii text.", "\t\t", "line\nline", "数据"]
    edge = re.compile(r"\A\s|\s\Z")
    empty = re.compile(r"\A\s*\Z")  # C001 finds only empty and whitespace-only turns
    for s in samples:
        assert edge_space(s) == bool(edge.search(s)), repr(s)
        assert EmptyText.gate(s) == bool(empty.search(s)), repr(s)
        assert _not_ascii(s) == bool(re.search(r"[^\x00-\x7f]", s)), repr(s)
        assert _non_ascii_then(_INVISIBLE.search)(s) == bool(_INVISIBLE.search(s)), repr(s)
        assert _non_ascii_then(_MOJI_HINT.search)(s) == bool(_MOJI_HINT.search(s)), repr(s)
    assert any(map(edge_space, samples)) and not all(map(edge_space, samples))


def _checks_of(codes, tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text("")
    run = FileRun(str(p), load_config(data={"select": list(codes)}))
    return {c.rule.code: c for c in run.checks}


_EDGE = ["", " ", "\n", "\t", "END", " END", "\n\n###\n\n", "###", "->", "-->", "\nInput: N/A", "\nnoinput",
         "\n\n<noinput>\n\n###\n\n", "\u00a0", "x"]


def test_gates_of_c001_and_c009_are_falsy_only_where_the_check_finds_nothing(tmp_path):
    """C001's gate (empty, whitespace-only, short enough for a stop sequence) and C009's (a line
    break near the end of the text before its separators) may skip a turn only when its
    ``check_text`` would find nothing there: every kind of turn, every format that has them."""
    from hypothesis import given, settings, strategies as st

    from tunelint.model.record import Record, Turn

    checks = _checks_of(["C001", "C009"], tmp_path)
    stops = _checks_of(["C001"], tmp_path)["C001"]
    stops.__init__(stops.rule, {**stops.p, "stops": ["END", "<|end|>"]})  # the stop-sequence gate too
    rules = [checks["C001"], stops, checks["C009"]]
    text = st.lists(st.one_of(st.sampled_from(_EDGE), st.text(max_size=30)), max_size=6).map("".join)

    @settings(max_examples=400, deadline=None)
    @given(text, st.sampled_from(["prompt", "answer", "input", "system"]),
           st.sampled_from(["prompt-completion", "chat", "alpaca"]))
    def prop(s, kind, fmt):
        field = {"prompt-completion": "prompt" if kind != "answer" else "completion", "chat": "content"}.get(fmt, kind)
        t = Turn("assistant" if kind == "answer" else "user", s, "/" + field, kind, field)
        rec = Record("x", 1, 1, 0, {field: s}, b"{}", format=fmt, turns=[t])
        for c in rules:
            if not c.gate(s):
                assert list(c.check_text(t, rec) or ()) == [], (c.rule.code, s, kind, fmt)

    prop()
