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


def test_unsafe_fix_output_checks_without_errors(tmp_path):
    """Repair what has one clear meaning, reject the rest with the reason: `check` on the
    output of `fix --unsafe-fixes` reports no error."""
    import json

    from tunelint.fixer import Fixer, FixPolicy

    rows = [
        '{"messages": [{"role": "user", "content": "Name a color."}, {"role": "assistant", "content": "Blue."}]}',
        '[{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "Apple."}]',
        '{"message": [{"role": "user", "content": "Name a tree."}, {"role": "assistant", "content": "Oak."}]}',
        '{"messages": [{"role": "user", "content": "Name a bird."}, {"role": "bot", "content": "Robin."}]}',
        '{"messages": [{"role": "user", "content": ["Name a fish.", "One word."]}, {"role": "assistant", "content": "Cod."}]}',
        '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a dog."}]}',
        '{"messages": [{"role": "user", "contnet": "Name a cat."}, {"role": "assistant", "content": "Tom."}]}',
        '{"messages": [{"role": "user", "content": "Name a car."}, {"role": "assitant", "content": "Mini."}]}',
        '{"messages": [{"role": "user", "content": "Name a key."}, {"role": "wizard", "content": "Esc."}]}',
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(rows) + "\n")
    cfg = load_config(data={})
    res = Fixer(cfg, FixPolicy.from_config(cfg, unsafe=True)).fix_file(
        str(src), str(tmp_path / "out.jsonl"), rejects=str(tmp_path / "rej.jsonl"))
    assert res.input_records == 9 and res.output_records == 7 and res.rejected == 2
    out = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(out[1]) == {"messages": [{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "Apple."}]}
    assert json.loads(out[2])["messages"][1] == {"role": "assistant", "content": "Oak."}
    assert json.loads(out[3])["messages"][1]["role"] == "assistant"
    assert json.loads(out[4])["messages"][0]["content"] == "Name a fish.\nOne word."
    rejects = [json.loads(x) for x in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert [(r["line"], r["codes"]) for r in rejects] == [(6, ["F007"]), (9, ["F005", "F007"])]
    assert all(r["reason"].startswith("errors left after fixing: ") for r in rejects)
    after = [d for d in FileRun(str(tmp_path / "out.jsonl"), cfg).run() if d.severity == "error"]
    assert after == []


def test_safe_fix_rejects_nothing_for_errors(tmp_path):
    from tunelint.fixer import Fixer, FixPolicy

    src = tmp_path / "in.jsonl"
    src.write_text('{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a dog."}]}\n')
    cfg = load_config(data={})
    res = Fixer(cfg, FixPolicy.from_config(cfg)).fix_file(str(src), str(tmp_path / "out.jsonl"), rejects=str(tmp_path / "r.jsonl"))
    assert res.rejected == 0 and res.output_records == 1


def test_table_keeps_its_schema_a_key_repair_rejects_instead(tmp_path):
    """A typo'd key cannot be renamed in a table (its schema is fixed): the record is rejected
    with its error, and a second fix changes nothing."""
    import pytest

    pytest.importorskip("pyarrow")
    from test_tables import TABLES

    from tunelint.fixer import Fixer, FixPolicy

    line = (b'{"preferred_output": [{"role": "assistant", "content": "the"}], "non_preferred_output": '
            b'[{"role": "assistant", "content": "the (worse)"}], "inputs": {"messages": [{"role": "user", "content": "the"}]}}')
    src = TABLES["arrow"](tmp_path / "data", [line])
    cfg = load_config(data={})
    fx = Fixer(cfg, FixPolicy.from_config(cfg, unsafe=True))
    r = fx.fix_file(str(src), str(tmp_path / ("out" + src.suffix)), rejects=str(tmp_path / "rej.jsonl"))
    assert (r.output_records, r.rejected) == (0, 1)
    r2 = fx.fix_file(str(tmp_path / ("out" + src.suffix)), str(tmp_path / ("again" + src.suffix)), rejects=str(tmp_path / "r2.jsonl"))
    assert not r2.changed and r2.rejected == 0
