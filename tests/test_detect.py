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
