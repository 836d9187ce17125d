"""Detection, second round (issue 17): what the rule examples alone cannot show."""
from __future__ import annotations

from tunelint.config import load_config
from tunelint.engine import FileRun


def run(path, select=None):
    data = {"select": select} if select is not None else {}
    return FileRun(str(path), load_config(data=data), display_path=path.name).run()


def test_invalid_utf8_is_reported_once_not_again_as_replacement_character(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_bytes(b'{"prompt": "caf\xe9", "completion": " ok"}\n{"prompt": "tea \xef\xbf\xbd", "completion": " ok"}\n')
    got = sorted((d.code, d.line) for d in run(p, ["E001", "E010"]))
    assert got == [("E001", 1), ("E010", 2)]


def test_emoji_sequence_keeps_its_joiners_when_other_invisibles_are_removed(tmp_path):
    p = tmp_path / "z.jsonl"
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    p.write_text('{"instruction": "x", "output": "%s\u200bok\u200d"}\n' % family, encoding="utf-8")
    (d,) = [d for d in run(p, ["E006"])]
    assert "count" not in d.message and d.message.startswith("2 invisible")
    assert d.fix.edits[0].value == family + "ok"


def test_repeated_sentence_skips_code(tmp_path):
    p = tmp_path / "r.jsonl"
    code = "```\\nprint('a b c d')\\nprint('a b c d')\\nprint('a b c d')\\nprint('a b c d')\\n```"
    p.write_text('{"instruction": "x", "input": "", "output": "%s"}\n' % code)
    assert [d for d in run(p, ["C011"])] == []


def _t001(path):
    cfg = load_config(data={"select": ["T001"], "rules": {"T001": {"min-dominant": 2, "min-records": 1}}})
    return FileRun(str(path), cfg, display_path=path.name).run()


def test_t001_reports_standard_spellings_without_a_rewrite(tmp_path):
    import json

    outs = ["Call the APIs.", "Two APIs.", "Use the APIs.", "Apis mellifera is a bee.", "Multitask training.",
            "A multitask model.", "Use multitask data.", "A multi-task model.", "Node runs Javascript.",
            "JavaScript.", "It is JavaScript.", "JavaScript closures.", "The dataset.", "A dataset.", "Dataset two.",
            "The data set."]
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps({"instruction": f"q{i}", "output": o}) + "\n" for i, o in enumerate(outs)))
    got = {d.message.split("here: ")[1].split("'")[1]: d.fix for d in _t001(p)}
    assert set(got) == {"Apis", "multi-task", "Javascript", "data set"}
    assert got["Javascript"] is not None  # a misspelt brand is still rewritten
    assert got["Apis"] is None and got["multi-task"] is None and got["data set"] is None


def test_t001_split_is_reported_once_without_fix(tmp_path):
    import json

    outs = ["Health care costs rise."] * 6 + ["Healthcare workers."] * 4
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps({"instruction": f"q{i}", "output": o}) + "\n" for i, o in enumerate(outs)))
    (d,) = _t001(p)
    assert d.line == 7 and d.fix is None and "neither spelling dominates" in d.message


def test_t001_ignores_placeholders(tmp_path):
    import json

    rows = [{"instruction": f"q{i}", "input": "NoInput", "output": "a"} for i in range(5)]
    rows += [{"instruction": "x", "input": "Noinput", "output": "a"}]
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert _t001(p) == []
