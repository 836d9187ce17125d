"""S rules (style drift), style features and `check --profile`."""
from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tunelint.cli import cli
from tunelint.config import load_config
from tunelint.engine import FileRun
from tunelint.profile import frame
from tunelint.style_features import features, turn_features

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "style"
HARDWARE = FIX / "hardware_chat.jsonl"

# line -> rule code of the outliers planted in hardware_chat.jsonl (see the fixture's README)
PLANTED = {10: "S006", 20: "S006", 30: "S002", 35: "S003", 39: "S004", 45: "S007", 50: "S001", 55: "S005"}


def run(path, select=("S",), rules=None):
    cfg = load_config(data={"select": list(select), **({"rules": rules} if rules else {})})
    return FileRun(str(path), cfg).run()


# -- features --------------------------------------------------------------------------------

@pytest.mark.parametrize("text,opener", [
    ("Sure! Here is the list you asked for.", "affirmation"),
    ("Certainly, the answer is four.", "affirmation"),
    ("As an AI language model, I cannot browse.", "as-an-ai"),
    ("I'm sorry, but I cannot help with that request.", "refusal"),
    ("I apologize for being late to the meeting.", "none"),  # an apology written on request
    ("Of course.", "none"),  # the whole answer: content, not an opener
    ("Surely the answer is four.", "none"),
    ("Great question! Fractions need a common denominator.", "praise"),
])
def test_opener_categories(text, opener):
    assert turn_features(text)["opener"] == opener


@pytest.mark.parametrize("text,style", [
    ("Steps:\n1. wash\n2. dry", "1."),
    ("Steps:\n1) wash\n2) dry", "1)"),
    ("Items:\n- a\n- b", "-"),
    ("Items:\n* a\n  + nested\n  + nested\n* b", "*"),  # nested markers do not count
    ("* {\n  color: red; }", "none"),  # CSS, not a list
    ("Code:\n```\n- a\n- b\n```\nDone.", "none"),  # lists inside code fences are code
    ("One line only - not a list", "none"),
])
def test_list_style(text, style):
    assert turn_features(text)["list_style"] == style


@pytest.mark.parametrize("text,script", [
    ("Hello there", "Latin"),
    ("Ça va très bien", "Latin"),
    ("这是一个测试。", "Han"),
    ("こんにちは、世界。テスト", "Japanese"),
    ("Привет, мир! Как дела?", "Cyrillic"),
    ("안녕하세요 반갑습니다", "Hangul"),
    ("12345 + 678", "none"),
])
def test_script(text, script):
    assert turn_features(text)["script"] == script


def test_numeric_features():
    f = turn_features("HELLO there. How are you? Fine!")
    assert f["words"] == 6
    assert f["sentences"] == 3
    assert f["sentence_len"] == pytest.approx(2.0)
    assert f["upper"] == pytest.approx(7 / 23)  # HELLO, the H of How and the F of Fine; 23 letters
    assert f["end"] == "!"
    assert turn_features("Straße ÄÖÜ")["upper"] == pytest.approx(4 / 9)  # non-ASCII cased letters count too
    assert turn_features("中文")["upper"] != turn_features("中文")["upper"]  # NaN: no cased letters


def test_rule_features_are_a_subset_of_profile_features():
    text = "Sure! Lists:\n- a\n- b\nΑλφα"
    quick, full = turn_features(text, full=False), turn_features(text)
    assert quick.items() <= full.items()


# -- rules on a fixture with planted outliers ---------------------------------------------------

def test_planted_outliers_are_found_and_nothing_else():
    diags = run(HARDWARE)
    got = {(d.line, d.code) for d in diags}
    assert got == set(PLANTED.items()), sorted(got)


def test_messages_name_the_feature_and_the_norm():
    by_code = {d.code: d for d in run(HARDWARE) if d.line != 20}
    assert "58 of 60 records" in by_code["S006"].message
    assert "100% uppercase" in by_code["S002"].message and "median" in by_code["S002"].message
    assert "'As an AI'" in by_code["S003"].message
    assert "'*'" in by_code["S004"].message and "'-'" in by_code["S004"].message
    assert "Cyrillic" in by_code["S007"].message and "Latin" in by_code["S007"].message
    words = json.loads(HARDWARE.read_text().splitlines()[49])["messages"][-1]["content"].split()
    assert f"{len(words):,} words" in by_code["S001"].message
    assert "off the'" in by_code["S005"].message and "long answers" in by_code["S005"].message
    missing = [d for d in run(HARDWARE, ["S006"]) if d.line == 20][0]
    assert missing.message.startswith("record has no system prompt")
    assert missing.pointer == ""


def test_nothing_below_min_records(tmp_path):
    lines = HARDWARE.read_text().splitlines()[25:50]  # 25 records, outliers at 30..50 included
    p = tmp_path / "small.jsonl"
    p.write_text("\n".join(lines) + "\n")
    assert run(p, ["S001", "S002", "S003", "S007"]) == []


def test_thresholds_are_parameters():
    assert not [d for d in run(HARDWARE, ["S002"], {"S002": {"min-ratio": 1.01}})]
    assert not [d for d in run(HARDWARE, ["S003"], {"S003": {"openers": ["refusal"]}})]
    assert not [d for d in run(HARDWARE, ["S007"], {"S007": {"min-norm-share": 0.999}})]


def test_a_consistent_style_is_not_drift(tmp_path):
    """Half the answers open with 'Sure!': that is the dataset's style, not an outlier."""
    recs = []
    for i in range(60):
        a = f"Sure! Item {i} costs {i} dollars." if i % 2 else f"Item {i} costs {i} dollars."
        recs.append(json.dumps({"instruction": f"Price of item {i}?", "input": "", "output": a}))
    p = tmp_path / "sure.jsonl"
    p.write_text("\n".join(recs) + "\n")
    assert run(p, ["S003"]) == []


def test_translation_prompts_are_exempt_from_script_outlier(tmp_path):
    lines = HARDWARE.read_text().splitlines()
    rec = json.loads(lines[44])
    rec["messages"][1]["content"] = "Translate into Russian: sanders are used to smooth wood and metal."
    lines[44] = json.dumps(rec, ensure_ascii=False)
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(lines) + "\n")
    assert run(p, ["S007"]) == []
    # a second rule of the kind without the exemption, in the same pass, still reports it
    custom = [{"code": "S907", "name": "odd-script", "kind": "script-outlier", "message": "{script}",
               "params": {"exempt-translation": False}}]
    diags = FileRun(str(p), load_config(data={"custom-rules": custom, "select": ["S007", "S907"]})).run()
    assert [(d.line, d.code) for d in diags] == [(45, "S907")]


@pytest.mark.parametrize("ending,cut", [
    ("and wipe the dust off the", True),
    ("and keep it somewhere dry and", True),
    ("which is the sander everyone wants to work with", False),  # a preposition may end a sentence
    ("\n\nSincerely,", False),  # a letter's closing, not a cut
    ("- A A G G A", False),  # capital A is a note, not an article
])
def test_unfinished_answer_endings(tmp_path, ending, cut):
    lines = HARDWARE.read_text().splitlines()
    rec = json.loads(lines[54])
    rec["messages"][-1]["content"] = "A sander smooths wood before you paint it. Start with coarse paper, then fine paper " + ending
    lines[54] = json.dumps(rec)
    p = tmp_path / "cut.jsonl"
    p.write_text("\n".join(lines) + "\n")
    assert bool(run(p, ["S005"])) is cut


def test_uppercase_code_is_not_shouting(tmp_path):
    lines = HARDWARE.read_text().splitlines()
    rec = json.loads(lines[29])
    rec["messages"][-1]["content"] = "SELECT NAME, PRICE FROM TOOLS WHERE PRICE > 10 ORDER BY PRICE DESC LIMIT 5;"
    lines[29] = json.dumps(rec)
    p = tmp_path / "sql.jsonl"
    p.write_text("\n".join(lines) + "\n")
    assert run(p, ["S002"]) == []


def test_rejected_answers_are_not_style(tmp_path):
    """A preference pair's rejected answer is bad on purpose."""
    recs = [json.dumps({"prompt": f"Q{i}?", "chosen": f"Answer number {i} is fine.",
                        "rejected": "As an AI language model, I refuse to say." if i == 3 else f"Answer {i} is worse."})
            for i in range(60)]
    p = tmp_path / "pref.jsonl"
    p.write_text("\n".join(recs) + "\n")
    assert run(p, ["S003"]) == []


def test_parallel_merge_gives_the_same_findings(tmp_path, monkeypatch):
    import tunelint.parallel as par

    monkeypatch.setattr(par, "MIN_PARALLEL_BYTES", 0)
    cfg = load_config(data={"select": ["S"]})
    serial = sorted((d.line, d.code, d.message, d.pointer) for d in FileRun(str(HARDWARE), cfg).run())
    diags, _ = par.run_parallel(str(HARDWARE), cfg, 3)
    assert sorted((d.line, d.code, d.message, d.pointer) for d in diags) == serial


def test_merge_of_parts_equals_one_pass():
    """Fold the checks of two byte ranges together by hand (what --jobs does)."""
    from tunelint.checks import FileContext

    cfg = load_config(data={"select": ["S"]})
    data = HARDWARE.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    parts = []
    for rng in ((0, cut, 1), (cut, len(data), data[:cut].count(b"\n") + 1)):
        r = FileRun(str(HARDWARE), cfg, byte_range=rng, fmt="chat")
        for _ in r.events():
            pass
        parts.append(r)
    for mine, theirs in zip(parts[0].checks, parts[1].checks):
        mine.merge(theirs)
    parts[0].ctx = FileContext(parts[0].display, "chat", cfg)
    merged = sorted((d.line, d.code, d.message) for d in parts[0].finish())
    whole = sorted((d.line, d.code, d.message) for d in FileRun(str(HARDWARE), cfg).run())
    assert merged == whole and len(whole) == len(PLANTED)


# -- profile -------------------------------------------------------------------------------------

def test_frame_and_features():
    df = frame(str(HARDWARE), load_config(data={"select": ["F001"]}))
    answers = df[df["kind"] == "answer"]
    assert len(answers) == 60 and set(df["kind"]) == {"system", "prompt", "answer"}
    words = [len(json.loads(line)["messages"][-1]["content"].split()) for line in HARDWARE.read_text().splitlines()]
    assert answers["words"].median() == statistics.median(words)
    from tunelint.formats import Normalizer, Record

    rec = Record("x", 1, 1, 0, {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},
                                             {"role": "assistant", "content": "Sure! It is 4."}]}, b"")
    Normalizer().normalize(rec, "chat")
    f = features(rec)
    assert f["opener"] == "affirmation" and f["answers"] == 1 and f["system"] != "none" and f["template"] == "content"


def test_profile_table():
    from tunelint.profile import render_profile

    out = io.StringIO()
    render_profile([str(HARDWARE)], load_config(data={"select": ["F001"]}), out)
    text = out.getvalue()
    words = sorted(len(json.loads(line)["messages"][-1]["content"].split()) for line in HARDWARE.read_text().splitlines())
    row = next(line for line in text.splitlines() if line.strip().startswith("words"))
    assert row.split()[3] == f"{statistics.median(words):,.0f}"  # p50 column
    assert "60 records" in text and "answer turns (60)" in text
    from tunelint.tokens import count_text

    toks = [count_text(json.loads(line)["messages"][-1]["content"], "o200k_base") for line in HARDWARE.read_text().splitlines()]
    row = next(line for line in text.splitlines() if line.strip().startswith("tokens"))
    assert row.split()[3] == f"{statistics.median(toks):,.0f}"
    assert "system prompt" in text and "2 variant(s)" in text
    assert "Latin" in text and "Cyrillic" in text


def test_check_profile_cli():
    res = CliRunner().invoke(cli, ["check", str(HARDWARE), "--profile", "--select", "S006", "-q", "--isolated"])
    assert "Style profile of" in res.output and "p95" in res.output, res.output
    assert "S006" in res.output


def test_no_pandas_at_check_time():
    code = ("import sys; from tunelint.config import load_config; from tunelint.engine import FileRun; "
            f"d = FileRun({str(HARDWARE)!r}, load_config(data={{'select': ['S']}})).run(); "
            "assert d; assert 'pandas' not in sys.modules and 'numpy' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_rules_of_one_kind_keep_their_own_parameters(monkeypatch):
    """The S rules share one answer table; two rules of one kind still apply their own
    parameters (candidates, row filters, exemptions), in one pass and after a --jobs merge."""
    import tunelint.parallel as par

    custom = [{"code": "S902", "name": "loud-answer", "kind": "uppercase-outlier", "message": "{ratio}",
               "params": {"min-ratio": 1.01}},
              {"code": "S907", "name": "odd-script", "kind": "script-outlier", "message": "{script}",
               "params": {"exempt-translation": False}},
              {"code": "S905", "name": "cut-short", "kind": "unfinished-answer", "message": "{tail}",
               "params": {"min-last-line-words": 500}}]
    cfg = load_config(data={"custom-rules": custom, "select": ["S002", "S902", "S005", "S905", "S007", "S907"]})
    got = sorted((d.line, d.code) for d in FileRun(str(HARDWARE), cfg).run())
    assert (30, "S002") in got and not any(c == "S902" for _, c in got)  # min-ratio 1.01: nothing is louder
    assert (55, "S005") in got and not any(c == "S905" for _, c in got)  # no last line that long
    assert (45, "S007") in got and (45, "S907") in got
    monkeypatch.setattr(par, "MIN_PARALLEL_BYTES", 0)
    par_diags, _ = par.run_parallel(str(HARDWARE), cfg, 3)
    assert sorted((d.line, d.code) for d in par_diags) == got


@pytest.mark.parametrize("formats,found", [(["chat"], True), (["alpaca"], False)])
def test_a_rule_limited_to_some_formats_keeps_its_own_table(formats, found):
    custom = [{"code": "S901", "name": "long-chat-answer", "kind": "length-outlier", "message": "{words}",
               "formats": formats}]
    cfg = load_config(data={"custom-rules": custom, "select": ["S001", "S901", "S003"]})
    got = sorted((d.line, d.code) for d in FileRun(str(HARDWARE), cfg).run())
    assert (50, "S001") in got and (35, "S003") in got
    assert ((50, "S901") in got) == found


def test_opener_head_shortcut_equals_the_regex():
    """opener_match skips the regex when the answer's first two characters (ASCII) start no
    opener; it must find exactly what the regex alone finds."""
    import random

    from tunelint.style_features import _OPENER, opener_match

    def ref(text):
        t = text.lstrip()
        if not t[:1].isalpha():
            return None
        m = _OPENER.match(t)
        return None if m is None or len(t[m.end():m.end() + 80].split()) < 2 else m.lastgroup

    rnd = random.Random(4)
    heads = ["As an AI", "as a language model", "I am an AI", "I'm an AI", "Im sorry", "I am sorry, but I can't help",
             "I apologize, but as an AI", "Unfortunately, I cannot help", "Sure!", "Certainly,", "Of course.",
             "Absolutely!", "What a great question", "That's a good question", "This is a excellent question",
             "Great question", "Good question", "Excellent question", "I'd be happy to help", "I would be glad to help",
             "ſure!", "The", "A", "  ", "\n", "Ok", "İ am an AI", "Σure", "K"]
    tails = [" here is the answer.", "", " x", " and more words follow here", "!", ", yes"]
    texts = [rnd.choice(["", " ", "\t"]) + rnd.choice(heads) + rnd.choice(tails) for _ in range(5000)]
    got = [(m.lastgroup if m else None) for m in map(opener_match, texts)]
    assert got == [ref(t) for t in texts]
    assert sum(g is not None for g in got) > 1000
