"""T rules: discovered term variants, glossary terms, placeholder consistency."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tunelint.config import ConfigError, load_config
from tunelint.engine import FileRun

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "terms"


def run(path, select, rules=None, **extra):
    cfg = load_config(data={"select": select, **({"rules": rules} if rules else {}), **extra})
    return FileRun(str(path), cfg, display_path=Path(path).name).run()


def t001(path, **params):
    params = {"min-records": 1, **params}  # these fixtures are small; the default needs 200 records
    return [d for d in run(path, ["T001"], {"T001": params}) if d.code == "T001"]


def test_t001_stays_silent_below_min_records(tmp_path):
    p = tmp_path / "v.jsonl"
    rows = "".join(json.dumps({"instruction": "Use TensorFlow.", "input": "", "output": f"TensorFlow {i}"}) + "\n" for i in range(8))
    rows += json.dumps({"instruction": "Use Tensorflow.", "input": "", "output": "ok"}) + "\n"
    p.write_text(rows)
    assert t001(p) and not t001(p, **{"min-records": 200})


# -- T001: look-alike ordinary words are never variants ---------------------------------
@pytest.mark.parametrize("params", [{}, {"min-dominant": 1, "ratio": 1.5},
                                    {"fuzzy": True, "fuzzy-min-dominant": 2, "fuzzy-ratio": 2, "fuzzy-min-length": 3,
                                     "min-dominant": 1, "ratio": 1.5}])
def test_lookalike_words_not_flagged(params):
    # form/from, than/then, there/their, lose/loose, affect/effect, its/it's, with "from",
    # "than", "their" and "effect" clearly dominant: a fuzzy matcher without evidence would fire.
    text = (FIX / "lookalikes.jsonl").read_text()
    for w in ("form", "from", "than", "then", "there", "their", "lose", "loose", "affect", "effect", "its", "It's"):
        assert w in text
    diags = t001(FIX / "lookalikes.jsonl", **params)
    assert diags == [], [d.message for d in diags]


def test_lookalike_fixture_still_reports_a_real_variant(tmp_path):
    # the same fixture plus a genuine variant: the rule is live on it (the test above can fail)
    p = tmp_path / "mixed.jsonl"
    rows = (FIX / "lookalikes.jsonl").read_text()
    rows += "".join(json.dumps({"instruction": "Use TensorFlow.", "input": "", "output": f"TensorFlow {i}"}) + "\n" for i in range(5))
    rows += json.dumps({"instruction": "Use Tensorflow.", "input": "", "output": "ok"}) + "\n"
    p.write_text(rows)
    diags = t001(p)
    assert [(d.line, d.pointer) for d in diags] == [(26, "/instruction")]
    assert "1 record(s) write 'Tensorflow', 5 write 'TensorFlow'" in diags[0].message


# -- T001: what is and is not a variant ----------------------------------------------
def test_discovered_variants_with_counts():
    diags = t001(FIX / "variants.jsonl", **{"min-dominant": 3, "ratio": 2})
    got = sorted((d.line, d.pointer, d.message.split(" (")[0]) for d in diags)
    assert got == [
        (7, "/instruction", "2 record(s) write 'Javascript', 6 write 'JavaScript'"),
        (7, "/output", "1 record(s) write 'pretrained', 6 write 'pre-trained'"),
        (9, "/output", "2 record(s) write 'Javascript', 6 write 'JavaScript'"),
    ]
    # not reported: `Javascript` in inline code, us/US (an English word), Eco-Friendly (Title
    # Case), html/HTML (acronym vs lower case), LMs/LMS (an acronym's plural)
    assert all("'us'" not in d.message and "Eco" not in d.message and "html" not in d.message
               and "LMs" not in d.message for d in diags)


def test_dominance_thresholds():
    # with the default min-dominant (5) and ratio (3) the 6-vs-2 JavaScript split still counts
    assert {d.line for d in t001(FIX / "variants.jsonl")} == {7, 9}
    assert t001(FIX / "variants.jsonl", ratio=4) and not [
        d for d in t001(FIX / "variants.jsonl", ratio=4) if "Javascript" in d.message]
    assert t001(FIX / "variants.jsonl", **{"min-dominant": 7}) == []


def test_ignore_and_max_locations(tmp_path):
    assert not [d for d in t001(FIX / "variants.jsonl", ignore=["javascript"]) if "Javascript" in d.message]
    p = tmp_path / "many.jsonl"
    rows = [{"instruction": "x", "output": "Use JavaScript."}] * 40 + [{"instruction": "y", "output": f"Javascript {i}"} for i in range(5)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    diags = t001(p, **{"max-locations": 3})
    assert [d.line for d in diags] == [41, 42, 43]
    assert "first 3 occurrences shown" in diags[-1].message and "5 record(s) write 'Javascript'" in diags[0].message


def test_inflections_join_their_stem(tmp_path):
    p = tmp_path / "infl.jsonl"
    rows = [{"instruction": "a", "output": f"Send an e-mail {i}."} for i in range(5)]
    rows.append({"instruction": "b", "output": "Check your emails."})  # inflected minority: table lemma email
    rows += [{"instruction": "c", "output": f"The JavaScript {i}."} for i in range(5)]
    rows.append({"instruction": "d", "output": "Two Javascripts."})  # plural of a word the table does not know
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    msgs = sorted(d.message.split(" (")[0] for d in t001(p))
    assert msgs == ["1 record(s) write 'Javascripts', 5 write 'JavaScript'", "1 record(s) write 'emails', 5 write 'e-mail'"]


def test_code_turns_and_identifiers_are_skipped(tmp_path):
    p = tmp_path / "code.jsonl"
    rows = [{"instruction": "q", "output": f"MainScreen {i} uses JavaScript."} for i in range(5)]
    rows.append({"instruction": "code", "output": "def f():\n    mainscreen = Javascript()\n    return mainscreen\n"})
    rows.append({"instruction": "css", "output": "Set backgroundColor in JavaScript or background-color in CSS."})
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert t001(p) == []


def test_lemmatizer_spacy_and_table_agree():
    from tunelint import lemmas

    words = ["emails", "datasets", "better", "logins", "ran", "geese", "JavaScript", "pretrained", "was"]
    assert lemmas.lemmatize(words) == lemmas.lemmatize_table(words)
    assert lemmas.lemmatize(["emails"]) == {"emails": "email"}
    from spacy.lang.en.stop_words import STOP_WORDS

    assert lemmas.STOP_WORDS == frozenset(STOP_WORDS)
    assert {"than", "then", "its", "their", "from", "form", "lose", "loose"} <= lemmas.known_words()
    assert t001(FIX / "variants.jsonl", lemmatizer="spacy") == t001(FIX / "variants.jsonl")


def test_bad_lemmatizer_param_is_a_config_error():
    with pytest.raises(Exception, match="lemmatizer"):
        run(FIX / "variants.jsonl", ["T001"], {"T001": {"lemmatizer": "nltk"}})


@pytest.mark.parametrize("name,kind", [("variants.jsonl", "hyphenation"), ("spaced.jsonl", "spacing")])
def test_merge_equals_serial(name, kind):
    from tunelint.engine import FileRun

    path = FIX / name
    cfg = load_config(data={"select": ["T001", "T003"], "rules": {"T001": {"min-dominant": 3, "ratio": 2, "min-records": 1}}})
    serial = FileRun(str(path), cfg, display_path="v").run()
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    first_line_2 = data[:cut].count(b"\n") + 1
    a = FileRun(str(path), cfg, display_path="v", byte_range=(0, cut, 1), fmt="alpaca")
    b = FileRun(str(path), cfg, display_path="v", byte_range=(cut, len(data), first_line_2), fmt="alpaca")
    for r in (a, b):
        for _ in r.events():
            pass
    for ca, cb in zip(a.checks, b.checks):
        ca.merge(cb)
    merged = a.finish()
    key = lambda d: (d.code, d.line, d.pointer, d.message)
    assert sorted(map(key, merged)) == sorted(map(key, serial))
    assert any(d.code == "T001" and f"({kind} variant" in d.message for d in merged)


# -- T001: spaced compounds ("pre trained") ------------------------------------------------
def test_spaced_forms_are_added_to_a_new_set():
    from tunelint.formcount import spaced_forms, word_forms

    text = "Pre trained models and a pre\ttrained one; `co founder` in code; they're sent; over time."
    forms = word_forms(text)
    before = set(forms)
    out = spaced_forms(text, forms)
    assert out - forms == {"Pre trained", "pre trained"}  # tab normalized; not in code, not after an apostrophe
    assert forms == before  # the set given is never mutated
    for text in ("a pre  trained one", "pre trainedX", "file pre trained.py", "x.pre trained", "over time", "a lot"):
        assert spaced_forms(text, word_forms(text)) == word_forms(text), text


def test_spaced_minority_found_with_counts_and_fix():
    diags = t001(FIX / "spaced.jsonl")
    got = sorted((d.line, d.pointer, d.message) for d in diags)
    assert got == [
        (7, "/output", "2 record(s) write 'pre trained', 6 write 'pre-trained' (spacing variant; here: 'Pre trained')"),
        (8, "/output", "2 record(s) write 'pre trained', 6 write 'pre-trained' (spacing variant; here: 'pre trained')"),
        (10, "/instruction", "1 record(s) write 'cyber security', 6 write 'cybersecurity' (spacing variant; here: 'cyber security')"),
    ]
    # not reported: "over time" (over is not a spaced prefix) against overtime, "co ntrol" (a broken
    # word) against control, `pre trained` in code, "They're sent"
    import re

    fixes = {d.line: d.fix.edits[0] for d in diags}
    assert all(d.fix.applicability == "unsafe" and e.op == "sub" for d, e in zip(diags, fixes.values()))
    pat, new = fixes[7].value
    assert new == "Pre-trained"  # the sentence-start capital is kept
    assert re.sub(pat, new, "Pre \t trained; Pre trainedX; aPre trained") == "Pre-trained; Pre trainedX; aPre trained"
    pat, new = fixes[10].value
    assert re.sub(pat, new, "Read about cyber security.") == "Read about cybersecurity."


def test_spaced_spelling_is_never_dominant(tmp_path):
    p = tmp_path / "sp.jsonl"
    rows = [{"instruction": "q", "output": f"A pre trained model {i}."} for i in range(20)]
    rows += [{"instruction": "h", "output": f"A pre-trained model {i}."} for i in range(6)]
    rows.append({"instruction": "j", "output": "A pretrained model."})
    rows += [{"instruction": "s", "output": f"It is super easy {i}."} for i in range(8)]
    rows.append({"instruction": "t", "output": "Supereasy."})
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    diags = t001(p)
    # the spaced spelling (20) is neither reported nor a dominant; the written spellings still
    # compare among themselves (6 pre-trained against 1 pretrained); "Supereasy" is not
    # reported against "super easy"
    assert [(d.line, d.message.split(" (")[0]) for d in diags] == [(27, "1 record(s) write 'pretrained', 6 write 'pre-trained'")]


def test_fuzzy_never_pairs_with_a_spaced_phrase(tmp_path):
    p = tmp_path / "fzs.jsonl"
    rows = [{"instruction": "q", "output": f"Learn cyber security {i}."} for i in range(20)]
    rows += [{"instruction": "w", "output": f"Learn cybersecurity {i}."} for i in range(3)]
    rows.append({"instruction": "typo", "output": "Learn cybersecurty."})
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    params = {"fuzzy": True, "fuzzy-min-dominant": 10, "fuzzy-ratio": 2}
    # the written spelling has 3 records (below fuzzy-min-dominant); the 20 spaced ones do not count
    assert t001(p, **params) == []
    p.write_text("".join(json.dumps(r) + "\n" for r in rows[20:] * 4))  # 12 written ones: the typo is found
    assert {d.message.split(" (")[0] for d in t001(p, **params)} == {"4 record(s) write 'cybersecurty', 12 write 'cybersecurity'"}


# -- T002 glossary -----------------------------------------------------------------------
def _t002(tmp_path, rows, glossary=None):
    p = tmp_path / "g.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    extra = {"glossary": glossary} if glossary is not None else {}
    return [d for d in run(p, ["T002"], **extra) if d.code == "T002"]


def test_glossary_user_entry_and_case_aware_fix(tmp_path):
    g = [{"preferred": "e-mail", "variants": ["email", "E mail"]}]
    diags = _t002(tmp_path, [{"instruction": "Email me, then check the email and E mail. `email` stays.", "output": "EMAIL"}], g)
    assert len(diags) == 1 and diags[0].pointer == "/instruction"
    assert diags[0].message == "use 'e-mail' instead of 'Email' (3 variants in this turn)"
    (edit,) = diags[0].fix.edits
    assert edit.op == "set" and edit.pointer == "/instruction"
    assert edit.value == "E-mail me, then check the e-mail and E-mail. `email` stays."
    assert diags[0].fix.applicability == "unsafe"


def test_shipped_glossary_skips_urls_code_and_preferred(tmp_path):
    rows = [{"instruction": "Use GitHub and JavaScript.", "output": "See https://github.com/x/Github and `Github`, file Javascript.js."}]
    assert _t002(tmp_path, rows) == []
    rows = [{"instruction": "Push to Github.", "output": "ok"}]
    (d,) = _t002(tmp_path, rows)
    assert d.fix.edits[0].value == "Push to GitHub."


@pytest.mark.parametrize("bad", [[{"variants": ["x"]}], [{"preferred": "X", "variants": "y", "extra": 1}],
                                 [{"preferred": "X", "variants": [1]}], ["JavaScript"]])
def test_glossary_entry_errors_are_clear(tmp_path, bad):
    p = tmp_path / "g.jsonl"
    p.write_text('{"instruction": "a", "output": "b"}\n')
    with pytest.raises(ConfigError, match="glossary entry"):
        run(p, ["T002"], glossary=bad)


# -- T003 placeholders ----------------------------------------------------------------------
def test_placeholder_variants_one_summary_per_file(tmp_path):
    rows = [{"instruction": f"q{i}", "input": "", "output": "a"} for i in range(4)]
    rows += [{"instruction": "x", "input": "<noinput>", "output": "a"}, {"instruction": "y", "input": "N/A", "output": "a"},
             {"instruction": "z", "input": "N/A", "output": "a"}, {"instruction": "w", "input": "Paris", "output": "a"}]
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    diags = [d for d in run(p, ["T003", "C002"]) if d.code in ("T003", "C002")]
    t3 = [d for d in diags if d.code == "T003"]
    # one summary per file, at the first minority marker; each record is C002's (with the fix)
    assert [(d.line, d.pointer) for d in t3] == [(5, "/input")]
    assert "3 different ways in this file: '' (4), 'N/A' (2), '<noinput>' (1); 3 records" in t3[0].message
    assert t3[0].fix is None
    assert sorted(d.line for d in diags if d.code == "C002") == [5, 6, 7]


def test_placeholder_single_marker_is_fine(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps({"instruction": f"q{i}", "input": "<noinput>", "output": "a"}) + "\n" for i in range(3)))
    assert [d for d in run(p, ["T003"]) if d.code == "T003"] == []


# -- T004 template variants ---------------------------------------------------------------
def test_template_variants(tmp_path):
    from tunelint.checks.terms import template_of

    assert template_of("### Instruction:\nAdd.\n\n### Input:\n2, 2\n\n### Response:\n") == (
        ("instruction", "input", "response"), ("### Instruction:", "### Input:", "### Response:"))
    assert template_of("Note: this is prose.\nAnswer the question below.") is None
    rows = [{"prompt": f"### Instruction:\nAdd {i}.\n### Response:\n", "completion": " x"} for i in range(6)]
    rows.append({"prompt": "Instruction: Add 9.\nResponse:", "completion": " y"})
    rows.append({"prompt": "Question: why?\nAnswer:", "completion": " z"})  # other sections: not compared
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    diags = [d for d in run(p, ["T004"]) if d.code == "T004"]
    assert [(d.line, d.pointer) for d in diags] == [(7, "/prompt")]
    assert diags[0].message.startswith("prompt template 'Instruction: / Response:' here (1 record) but '### Instruction: / ### Response:' in 6")
    rows[0] = rows[1] = rows[2] = rows[6]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [d for d in run(p, ["T004"]) if d.code == "T004"] == []  # 3 against 3: no dominant template


def test_fuzzy_close_spelling_is_opt_in(tmp_path):
    p = tmp_path / "fz.jsonl"
    rows = [{"instruction": "q", "output": f"Kubernetes cluster {i}."} for i in range(12)]
    rows.append({"instruction": "typo", "output": "Deploy to Kubernetse."})  # transposition of an unknown word
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert t001(p) == []
    diags = t001(p, fuzzy=True, **{"fuzzy-min-dominant": 10})
    assert [(d.line, d.pointer) for d in diags] == [(13, "/output")]
    assert "1 record(s) write 'Kubernetse', 12 write 'Kubernetes' (close spelling variant" in diags[0].message


@pytest.mark.parametrize("glossary, text, want_fixed", [
    # a variant followed by an apostrophe or a parenthesis (where WORD stops) is still seen
    ([{"preferred": "color", "variants": ["colour"]}], "The colour's hue.", "The color's hue."),
    ([{"preferred": "color", "variants": ["colour"]}, {"preferred": "email", "variants": ["e mail"]}],
     "Pick a colour(s) and an e mail.", "Pick a color(s) and an email."),
    # a first word WORD never yields
    ([{"preferred": "Node.js", "variants": ["node.js"]}], "Install node.js now.", "Install Node.js now."),
    # variants of different first words overlap: leftmost-longest over all of them, as one pattern
    ([{"preferred": "FooBar", "variants": ["foo bar"]}, {"preferred": "X", "variants": ["bar bar", "bar"]}],
     "foo bar bar", "FooBar X"),
    # shipped glossary, possessive
    (None, "Fork Github's repo in Javascript.", "Fork GitHub's repo in JavaScript."),
    # a first word that holds the context character itself must not hide a shorter one
    ([{"preferred": "Foo", "variants": ["foo"]}, {"preferred": "Q", "variants": ["foo( x"]}],
     "You call foo((1))", "You call Foo((1))"),
    ([{"preferred": "Dogs", "variants": ["dogs"]}, {"preferred": "X", "variants": ["dogs' home"]}],
     "You saw dogs'(sic)", "You saw Dogs'(sic)"),
])
def test_glossary_sees_variants_wherever_their_first_word_stands(tmp_path, glossary, text, want_fixed):
    p = tmp_path / "g.jsonl"
    p.write_text(json.dumps({"instruction": text, "output": "ok"}) + "\n")
    data = {"select": ["T002"], "rules": {"T002": {"max-per-turn": 9}}}
    if glossary is not None:
        data["glossary"] = glossary
    diags = [d for d in FileRun(str(p), load_config(data=data)).run() if d.code == "T002"]
    assert diags and diags[0].fix.edits[0].value == want_fixed


def test_codeish_shortcut_equals_the_full_pattern():
    import random

    from tunelint.checks.terms import CODEISH, codeish
    from tunelint.formcount import prose

    rnd = random.Random(3)
    pieces = ["def f", "class A", "import os", "from x import y", "  return 1", "if (a)", "for (i", "SELECT *",
              "let x", "const", "key: value", "a = 1", "x;", "{", "}", "<b>", "</p>", "plain words", "Note: this",
              "```code```", "`inline`", "\n", "\n", " ", "\t", "letter", "classic", "Return",
              # codeish splits CODEISH's alternatives: "^" after a newline, "$" before one or at
              # the end, blanks that are not "\n", a tag cut by a newline
              "x; ", "x;\t\n", " {\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "<a\n>", "< b>", "if(",
              "a.b=(", "CREATE", "varx", "_", ":", "=", "'", "["]
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 10))) for _ in range(20000)]
    want = [("\n" in t or "<" in t) and CODEISH.search(prose(t)) is not None for t in texts]
    assert [codeish(t) for t in texts] == want
    assert 2000 < sum(want) < 18000


# -- T001: the batch tokenizer -------------------------------------------------------------
def _fuzz_texts(n, seed):
    import random

    rnd = random.Random(seed)
    pieces = ["a", "Z", "9", "-", "--", "_", " ", ".", ",", "'", "(", ":", "/", "\\", "@", "+", "~", "#", "$", "%",
              "&", "=", "<", ">", "\n", "\t", "\x00", "`", "é", "’", "—", "ß", "\u0663", "\xa0", "😀", "word",
              "Pre", "pre", "e-mail", "Wi-Fi", "x.y", "http://a.b", "it's"]
    return ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30))) for _ in range(n)]


def test_batch_words_equals_word_findall():
    from tunelint.formcount import WORD, batch_words

    texts = _fuzz_texts(20000, 7) + [line for p in sorted(FIX.glob("*.jsonl")) for line in p.read_text().splitlines()]
    buf, st, en, doc, h = batch_words(texts)
    got = [[] for _ in texts]
    hashes: dict[str, set] = {}
    for a, b, d, hv in zip(st.tolist(), en.tolist(), doc.tolist(), h.tolist()):
        w = buf[a:b].decode("ascii")
        got[d].append(w)
        hashes.setdefault(w, set()).add(hv)
    assert got == [WORD.findall(t) for t in texts]
    assert sum(map(len, got)) > 10000
    assert all(len(v) == 1 for v in hashes.values())  # one hash per word ...
    assert len({next(iter(v)) for v in hashes.values()}) == len(hashes)  # ... and one word per hash


def _t001_corpus(tmp_path, seed=11, n=400):
    """Records mixing the spellings of a few terms (case, hyphen, spaced), code, non-ASCII text."""
    import random

    rnd = random.Random(seed)
    terms = ["e-mail"] * 2 + ["email"] * 9 + ["JavaScript"] * 8 + ["Javascript"] * 2 + ["pre-trained"] * 6 + \
            ["pretrained", "co-operation", "cooperation", "cooperation", "naïve"] + \
            ["Wi-Fi"] * 5 + ["wifi", "WiFi"]
    filler = "the model uses data and it works well with more of them today".split()
    rows = []
    for i in range(n):
        words = [rnd.choice(terms if rnd.random() < 0.3 else filler) for _ in range(rnd.randint(3, 14))]
        text = " ".join(words)
        if rnd.random() < 0.1:
            text += " `e-mail code` and Email."
        if rnd.random() < 0.04:
            text += rnd.choice([" a pre trained net.", " Pre trained nets"])
        if rnd.random() < 0.05:
            text = "def f(x):\n    return x;  # email " + text
        rows.append({"instruction": text.capitalize(), "input": rnd.choice(["", "café e-mail", "Über wifi"]),
                     "output": " ".join(rnd.choice(terms + filler) for _ in range(rnd.randint(1, 20)))})
    p = tmp_path / "corpus.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return p


@pytest.mark.parametrize("batch,small,sort_keys", [(1500, 0, True), (1500, 0, False), (40000, 0, True),
                                                   (1500, 1000, True), (1500, 3000, True)])
def test_t001_batch_path_equals_per_turn_path(tmp_path, monkeypatch, batch, small, sort_keys):
    from tunelint import formcount as terms  # the counting state's settings

    monkeypatch.setattr(terms, "SORT_KEYS", sort_keys)

    p = _t001_corpus(tmp_path)
    params = {"min-dominant": 3, "ratio": 2, "max-locations": 3}

    def findings():
        return sorted((d.line, d.pointer, d.message, repr(d.fix)) for d in t001(p, **params))

    monkeypatch.setattr(terms, "SMALL_FLUSH_CHARS", 10**9)
    want = findings()
    monkeypatch.setattr(terms, "BATCH_CHARS", batch)
    monkeypatch.setattr(terms, "SMALL_FLUSH_CHARS", small)
    got = findings()
    assert got == want
    msgs = " ".join(m for _, _, m, _ in want)
    assert "'WiFi'" in msgs and "spacing variant" in msgs and "occurrences shown)" in msgs


@pytest.mark.parametrize("first,second", [("batch", "batch"), ("turn", "batch"), ("batch", "turn"), ("turn", "turn")])
def test_t001_batch_state_pickles_and_merges(tmp_path, monkeypatch, first, second):
    """--jobs parts counted either way (in batches, or per turn for a small part) merge to
    the serial result, after a pickle round trip as --jobs does."""
    import pickle

    from tunelint import formcount as terms  # the counting state's settings

    monkeypatch.setattr(terms, "BATCH_CHARS", 2000)
    p = _t001_corpus(tmp_path, seed=12)
    cfg = load_config(data={"select": ["T001"], "rules": {"T001": {"min-dominant": 3, "ratio": 2, "min-records": 1,
                                                                    "max-locations": 4}}})
    serial = FileRun(str(p), cfg, display_path="v").run()
    data = p.read_bytes()
    cut = data.index(b"\n", len(data) // 3) + 1
    a = FileRun(str(p), cfg, display_path="v", byte_range=(0, cut, 1), fmt="alpaca")
    b = FileRun(str(p), cfg, display_path="v", byte_range=(cut, len(data), data[:cut].count(b"\n") + 1), fmt="alpaca")
    for r, how in ((a, first), (b, second)):
        monkeypatch.setattr(terms, "SMALL_FLUSH_CHARS", 0 if how == "batch" else 10**9)
        for _ in r.events():
            pass
        for c in r.checks:
            c.counter.flush()
            assert c.counter.batched == (how == "batch")
    for ca, cb in zip(a.checks, pickle.loads(pickle.dumps(b.checks))):  # as --jobs sends them back
        ca.merge(cb)
    key = lambda d: (d.code, d.line, d.pointer, d.message, repr(d.fix))
    assert sorted(map(key, a.finish())) == sorted(map(key, serial))
    assert any(d.code == "T001" for d in serial) and any("occurrences shown" in d.message for d in serial)


def test_glossary_gate_passes_every_triggered_turn():
    from tunelint.checks.terms import GlossaryTerms

    cfg = load_config(data={"select": ["T002"], "glossary": [{"preferred": "Node.js", "variants": ["node.js"]},
                                                     {"preferred": "X", "variants": ["foo( x", "dogs' home"]}]})
    run_ = FileRun(str(FIX / "variants.jsonl"), cfg)
    run_.run()
    chk = next(c for c in run_.checks if isinstance(c, GlossaryTerms))
    texts = _fuzz_texts(5000, 3) + [f"{a}{w}{b}" for w in sorted(chk.trigger) for a in ("", " ", "x", "-", "(", ".")
                                    for b in ("", "'s", "(", ":/", "x", " ")]
    triggered = [t for t in texts if chk._triggered(t)]
    assert len(triggered) > 100
    assert all(chk.gate(t) for t in triggered)
    assert not all(chk.gate(t) for t in texts)


def test_t001_with_jobs_equals_serial(tmp_path, monkeypatch):
    """--jobs: T001 (and the near-duplicate rules) finish in forked children; same findings."""
    from tunelint import parallel
    from tunelint import formcount as terms  # the counting state's settings

    monkeypatch.setattr(terms, "BATCH_CHARS", 3000)
    monkeypatch.setattr(terms, "SMALL_FLUSH_CHARS", 0)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    p = _t001_corpus(tmp_path, seed=13, n=600)
    cfg = load_config(data={"select": ["T001", "D003", "D005", "S001"],
                            "rules": {"T001": {"min-dominant": 3, "ratio": 2, "min-records": 1}}})
    key = lambda d: (d.code, d.line, d.pointer, d.message, repr(d.fix))
    serial = sorted(map(key, FileRun(str(p), cfg).run()))
    par, _ = parallel.run_parallel(str(p), cfg, 2)
    assert sorted(map(key, par)) == serial and any(k[0] == "T001" for k in serial)


def _t001_findings(path, **params):
    return sorted((d.line, d.pointer, d.message) for d in t001(path, **params))


def _per_turn_findings(tmp_path, outs):
    """An alpaca file with these outputs, and its T001 findings counted per turn."""
    from tunelint import formcount as terms  # the counting state's settings

    p = tmp_path / "outs.jsonl"
    p.write_text("".join(json.dumps({"instruction": "Say it.", "input": "", "output": o}) + "\n" for o in outs))
    terms.SMALL_FLUSH_CHARS, keep = 10**9, terms.SMALL_FLUSH_CHARS
    try:
        return p, _t001_findings(p)
    finally:
        terms.SMALL_FLUSH_CHARS = keep


def test_t001_batch_path_separates_colliding_polynomial_hashes(tmp_path, monkeypatch):
    """Thue-Morse words collide under any polynomial hash mod 2**64: long words are hashed
    with blake2b, so the batch path still tells them apart (review finding)."""
    from tunelint import formcount as terms  # the counting state's settings

    z = "".join("ab"[bin(i).count("1") & 1] for i in range(1024))
    zc = z.translate(str.maketrans("ab", "ba"))
    zh = z[:512] + "-" + z[512:]
    outs = [f"The {zc} is here."] + [f"The {zh} is here."] * 10 + [f"The {z} is here."] * 2
    p, want = _per_turn_findings(tmp_path, outs)
    assert [ln for ln, _, _ in want] == [12, 13]
    monkeypatch.setattr(terms, "SMALL_FLUSH_CHARS", 0)
    assert _t001_findings(p) == want


def test_t001_places_counted_per_turn_then_in_batches(tmp_path, monkeypatch):
    """A part whose first flushes count per turn and later ones in batches keeps both sets of
    places (reachable only with BATCH_CHARS < SMALL_FLUSH_CHARS; review finding)."""
    from tunelint import formcount as terms  # the counting state's settings

    outs = ["Use Javascript here."] + ["Use JavaScript here. " + "filler words " * 50] * 10 + ["big " * 5000,
                                                                                               "Use Javascript again."]
    p, want = _per_turn_findings(tmp_path, outs)
    assert [ln for ln, _, _ in want] == [1, 13]
    monkeypatch.setattr(terms, "BATCH_CHARS", 3000)
    monkeypatch.setattr(terms, "SMALL_FLUSH_CHARS", 10000)
    assert _t001_findings(p) == want


def test_word_hash_equals_the_batch_hash():
    """T001 finds a reported word's places by hashing it in Python: the same hash as the
    vectorized tokenizer's, short and long (blake2b) words alike."""
    import random
    import string

    from tunelint.formcount import LONG_WORD, batch_words, word_hash

    rnd = random.Random(2)
    words = ["in", "is", "a", "pre-trained", "Java-Script", "x" * LONG_WORD, "x" * (LONG_WORD + 1)]
    words += ["ab"[rnd.randrange(2)] + "".join(rnd.choice(string.ascii_letters + string.digits + "-")
                                            for _ in range(rnd.randint(0, 70))).replace("--", "-").rstrip("-")
              for _ in range(3000)]
    got = batch_words(words)
    assert len(got[4]) == len(words)  # each is one word
    assert [int(h) for h in got[4]] == [word_hash(w) for w in words]


def test_term_counting_has_no_import_side_effects_and_no_identity_cache():
    """Importing T001's kinds and counting registers no codec error handler at import (the
    tokenizer registers its own on first use), and word forms are not cached by id() (an id is
    reused once its string is freed)."""
    import subprocess
    import sys

    code = ("import codecs, tunelint.checks.terms, tunelint.formcount as f\n"
            "try:\n    codecs.lookup_error(f._ASCII_WORDS)\nexcept LookupError:\n    print('none')\n"
            "buf = f.batch_words(['caf\\u00e9 na\\u00efve x\\u00b2 words'])[0]\n"
            "print(buf.isascii(), len(buf))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["none", "True", str(len("caf\u00e9 na\u00efve x\u00b2 words") + 2)]
    import tunelint.checks.terms as terms
    from tunelint import formcount

    assert not [k for k in (*vars(terms), *vars(formcount)) if "CACHE" in k]
