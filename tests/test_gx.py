"""Great Expectations: the profile suite round-trips through GX and separates good from bad data;
the `expectation` rule kind reports through GX and is the only path that imports it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tunelint.config import load_config
from tunelint.features import collect
from tunelint.rules import RuleError

gx = pytest.importorskip("great_expectations")

HERE = os.path.dirname(__file__)
CHAT = os.path.join(HERE, "..", "fixtures", "report", "chat.jsonl")
SENTIMENT = os.path.join(HERE, "..", "fixtures", "report", "sentiment.jsonl")


def _frame(path, **cfg):
    fc, _ = collect([path], load_config(data={"select": ["F001"], **cfg}))
    return fc.frame()


@pytest.fixture(scope="module")
def chat_suite(tmp_path_factory):
    from tunelint.gx import write_suite

    df = _frame(CHAT)
    p = tmp_path_factory.mktemp("gx") / "suite.json"
    k = write_suite(df, str(p), name="chat", target=load_config(data={"target": "gpt-4o"}).target)
    return p, df, k


def test_suite_loads_with_gx_and_passes_on_current_data(chat_suite):
    from tunelint.gx import validate

    path, df, k = chat_suite
    with open(path) as f:
        d = json.load(f)
    suite = gx.ExpectationSuite(**{k2: d[k2] for k2 in ("name", "expectations", "meta")})
    assert len(suite.expectations) == k >= 10
    types = {e["type"] for e in d["expectations"]}
    for t in ("expect_table_row_count_to_be_between", "expect_column_quantile_values_to_be_between",
              "expect_column_mean_to_be_between", "expect_column_values_to_be_in_set"):
        assert t in types
    cols = {e["kwargs"].get("column") for e in d["expectations"]}
    assert {"roles", "format", "answer_tokens", "is_duplicate", "answer_empty", "tokens"} <= cols
    res = validate(suite, df)
    assert res.success, [r.expectation_config.type for r in res.results if not r.success]


def test_suite_fails_on_a_corrupted_copy(chat_suite, tmp_path):
    from tunelint.gx import failures, validate

    path, _, _ = chat_suite
    lines = open(CHAT, encoding="utf-8").read().splitlines()
    bad = []
    for i, ln in enumerate(lines):
        rec = json.loads(ln)
        if i % 4 == 0:  # a new role and an emptied answer in a quarter of the records
            rec["messages"][-1]["content"] = ""
            rec["messages"].insert(0, {"role": "developer", "content": "Be brief."})
        bad.append(json.dumps(rec))
    bad += bad[:20]  # and many exact duplicates
    p = tmp_path / "corrupted.jsonl"
    p.write_text("\n".join(bad) + "\n", encoding="utf-8")
    res = validate(str(path), _frame(str(p)))
    assert not res.success
    failed = {(f["type"], f["kwargs"].get("column")) for f in failures(res)}
    assert ("expect_column_mean_to_be_between", "is_duplicate") in failed
    assert ("expect_column_mean_to_be_between", "answer_empty") in failed
    assert ("expect_column_values_to_be_in_set", "roles") in failed


def test_label_set_only_for_classification_like_data(tmp_path):
    from tunelint.gx import profile_expectations

    labels = [e for e in profile_expectations(_frame(SENTIMENT)) if e["kwargs"].get("column") == "label"]
    assert labels and sorted(labels[0]["kwargs"]["value_set"]) == ["negative", "neutral", "positive"]
    assert not [e for e in profile_expectations(_frame(CHAT)) if e["kwargs"].get("column") == "label"]


def _run(path, **data):
    from tunelint.engine import FileRun

    return FileRun(path, load_config(data=data)).run()


def test_expectation_rule_reports_bad_rows_at_their_lines(tmp_path):
    p = tmp_path / "s.jsonl"
    rows = open(SENTIMENT, encoding="utf-8").read().splitlines()
    rows[4] = rows[4].replace('"completion": " ', '"completion": " mixed')
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    diags = [d for d in _run(str(p), select=["C901"]) if d.code == "C901"]
    assert [d.line for d in diags] == [5]
    assert "mixed" in diags[0].message and "positive" in diags[0].message


def test_expectation_rule_with_user_bounds_reports_once_per_file(tmp_path):
    diags = _run(CHAT, select=["L901"], rules={"L901": {"kwargs": {
        "column": "answer_tokens", "quantile_ranges": {"quantiles": [0.5], "value_ranges": [[None, 10]]}}}})
    hits = [d for d in diags if d.code == "L901"]
    assert len(hits) == 1 and hits[0].line == 0
    assert "p50" in hits[0].message and "<= 10" in hits[0].message
    assert not [d for d in _run(CHAT, select=["L901"]) if d.code == "L901"]  # p95 under 2048


def test_expectation_rule_validates_its_columns():
    from tunelint.engine import FileRun

    cfg = load_config(data={"custom-rules": [{"code": "C950", "name": "x-rule", "kind": "expectation", "message": "m",
                                               "params": {"expect": "expect_column_mean_to_be_between",
                                                          "kwargs": {"column": "answer_tokenz", "max_value": 1}}}],
                            "select": ["C950"]})
    with pytest.raises(RuleError) as e:
        FileRun(CHAT, cfg).run()
    assert "answer_tokenz" in str(e.value) and "answer_tokens" in str(e.value)  # did you mean


def test_gx_rejects_unknown_expectation_cleanly(tmp_path):
    from tunelint.engine import FileRun

    cfg = load_config(data={"custom-rules": [{"code": "C951", "name": "y-rule", "kind": "expectation", "message": "m",
                                               "params": {"expect": "expect_column_to_be_purple", "kwargs": {"column": "label"}}}],
                            "select": ["C951"]})
    with pytest.raises(RuleError) as e:
        FileRun(CHAT, cfg).run()
    assert "C951" in str(e.value) and "expect_column_to_be_purple" in str(e.value)


def test_gx_is_not_imported_unless_an_expectation_rule_runs():
    code = ("import sys; from tunelint.cli import main\n"
            "try:\n    main(['check', '-q', '--exit-zero', sys.argv[1]])\nexcept SystemExit: pass\n"
            "print('GX' if 'great_expectations' in sys.modules else 'noGX', 'PD' if 'pandas' in sys.modules else 'noPD')")
    out = subprocess.run([sys.executable, "-c", code, SENTIMENT], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().endswith("noGX noPD"), out.stdout + out.stderr
