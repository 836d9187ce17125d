"""P rules: inferred prompt/completion conventions, streaming vs. settled-at-end, merge, markers."""
from __future__ import annotations

import json

import pytest

from tunelint.checks import FileContext
from tunelint.checks.delimiters import infer_suffix
from tunelint.config import load_config
from tunelint.engine import FileRun
from tunelint.formats import Record

from conftest import FIXTURES

CLASSIFY = FIXTURES / "delimiters" / "classify.jsonl"
SEP = "\n\n###\n\n"


def run(path, select, rules=None):
    data = {"select": select}
    if rules:
        data["rules"] = rules
    return FileRun(str(path), load_config(data=data), display_path=path.name).run()


def found(diags):
    return sorted((d.code, d.line) for d in diags)


def test_infer_dominant_suffix_despite_outliers():
    texts = [f"q{i}?{SEP}" for i in range(95)] + [f"q{i}." for i in range(5)]
    assert infer_suffix(texts, 0.9) == (SEP, 0.95)


def test_infer_stops_before_content_characters():
    # 60% of prompts end with "?" before the separator: "?" is content, not part of the separator
    texts = [f"q{i}?{SEP}" for i in range(60)] + [f"q{i}.{SEP}" for i in range(40)]
    assert infer_suffix(texts, 0.9)[0] == SEP


def test_no_convention_for_sentence_punctuation_or_mixed_endings():
    assert infer_suffix(["Is it?", "Was it?", "Who?"], 0.9)[0] == ""
    assert infer_suffix(["a ->", "b ::", "c =>", "d ->"], 0.9)[0] == ""
    assert infer_suffix([], 0.9) == ("", 0.0)


def test_fixture_findings_and_messages():
    diags = run(CLASSIFY, ["P"])
    assert found(diags) == [("P001", 5), ("P002", 10), ("P003", 13), ("P004", 16), ("P005", 18)]
    msg = {d.code: d.message for d in diags}
    assert msg["P001"] == "prompt does not end with the separator '\\n\\n###\\n\\n' (inferred) used by 95% of prompts"
    assert "the stop sequence ' END' (inferred) used by 95% of completions" in msg["P003"]
    assert "95% of completions start with whitespace" in msg["P005"]


def test_fixes_append_the_inferred_convention():
    diags = {d.code: d for d in run(CLASSIFY, ["P001", "P003", "P005"])}
    assert diags["P001"].fix.edits[0].value == "Review 4: no separator here" + SEP
    assert diags["P003"].fix.edits[0].value == " negative END"
    assert diags["P005"].fix.edits[0].value == " positive END"
    assert all(d.fix.applicability == "unsafe" for d in diags.values())


def test_streaming_after_sample_gives_the_same_result():
    # settle the convention after 3 records and check the rest while streaming
    rules = {c: {"sample": 3} for c in ("P001", "P002", "P003", "P004")}
    assert found(run(CLASSIFY, ["P001", "P002", "P003", "P004"], rules)) == \
        found(run(CLASSIFY, ["P001", "P002", "P003", "P004"]))


def test_configured_separator_overrides_inference(tmp_path):
    p = tmp_path / "pc.jsonl"
    p.write_text("".join(json.dumps({"prompt": f"p{i} ->", "completion": f" c{i}"}) + "\n" for i in range(5)))
    assert not run(p, ["P001"])
    diags = run(p, ["P001"], {"P001": {"separator": "\n\n###\n\n"}})
    assert len(diags) == 5 and "(configured)" in diags[0].message


def test_not_applied_to_other_formats(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text("".join(json.dumps({"instruction": f"x{i} ->", "input": "", "output": "y"}) + "\n" for i in range(30))
                 + json.dumps({"instruction": "z", "input": "", "output": "y"}) + "\n")
    assert not run(p, ["P001", "P002", "P003", "P004", "P005"])


def _records(path):
    for i, line in enumerate(open(path, encoding="utf-8")):
        rec = Record(path.name, i + 1, 1, i, json.loads(line), line.encode())
        rec.format = "prompt-completion"
        yield rec


@pytest.mark.parametrize("code", ["P001", "P002", "P003", "P004", "P005"])
@pytest.mark.parametrize("sample", [2, 2000])
def test_merge_of_two_halves_equals_one_pass(code, sample):
    cfg = load_config(data={"select": [code], "rules": {code: {"sample": sample}} if code != "P005" else {}})
    (rule,) = cfg.rules_for(str(CLASSIFY))
    from tunelint.checks import KINDS

    def fresh():
        c = KINDS[rule.kind](rule, rule.params)
        c.begin(FileContext("classify.jsonl", "prompt-completion", cfg))
        return c

    ctx = FileContext("classify.jsonl", "prompt-completion", cfg)
    recs = list(_records(CLASSIFY))
    whole = fresh()
    for r in recs:
        whole.observe(r, ctx)
    a, b = fresh(), fresh()
    for r in recs[:7]:
        a.observe(r, ctx)
    for r in recs[7:]:
        b.observe(r, ctx)
    a.merge(b)
    one = sorted((f.line, f.args.get("offset")) for f in whole.finish(ctx))
    two = sorted((f.line, f.args.get("offset")) for f in a.finish(ctx))
    assert one == two and one


@pytest.mark.parametrize("text,codes", [
    ("Hello</s>", {"P006"}),
    ("<|im_start|>assistant\nHello", {"P006"}),
    ("Hello<|im_end|>\n<|im_start|>user\nmore", {"P007"}),
    ("Hello <|im_end|> there", {"P007"}),
    ("Sure.\n### Response:\nMore", {"P007"}),
    ("Assistant: Hello", {"P008"}),
    ("Use <s>text</s> to strike text through in HTML.", set()),
    ("User: hi\nAssistant: hello", set()),  # a written dialogue is content
])
def test_template_markers(tmp_path, text, codes):
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"instruction": "x", "input": "", "output": text}) + "\n")
    assert {d.code for d in run(p, ["P006", "P007", "P008"])} == codes


def _infer_reference(suffixes, min_share, keep=0.98):
    """The plain definition of infer_suffix (every suffix counted at every length)."""
    from collections import Counter

    from tunelint.checks.delimiters import settle_suffix

    texts = [s for s in suffixes if s]
    if not texts:
        return "", 0.0
    cur, cnt = Counter(s[-1] for s in texts).most_common(1)[0]
    group = [s for s in texts if s.endswith(cur)]
    for ln in range(2, max(len(s) for s in texts) + 1):
        c = Counter(s[-ln:] for s in group if len(s) >= ln)
        if not c:
            break
        cand, k = c.most_common(1)[0]
        if k < keep * cnt:
            break
        cur, cnt = cand, k
        group = [s for s in group if s.endswith(cur)]
    return settle_suffix(texts, cur, cnt, min_share)  # the shared tail, not what is optimized


def test_infer_suffix_sampling_shortcut_equals_the_plain_definition():
    import random

    from tunelint.checks.delimiters import infer_suffix

    rnd = random.Random(1)
    found = 0
    for _ in range(300):
        n = rnd.choice([1, 5, 50, 900, 3000, 20000])
        suffix = rnd.choice([" END", "\n\n###\n\n", "\n", "?", "", "->"])
        p = rnd.random()
        texts = []
        for _ in range(n):
            body = "".join(rnd.choice("ab \n.?") for _ in range(rnd.randint(0, 8)))
            texts.append((body + (suffix if rnd.random() < p else rnd.choice(["x", "END", " EN"])))[-24:])
        if rnd.random() < 0.3:
            texts.sort()  # a sample (the first texts) unlike the rest
        want = _infer_reference(texts, 0.9)
        assert infer_suffix(texts, 0.9) == want
        found += bool(want[0])
    assert 20 < found < 280  # both outcomes were exercised
