"""Promise: a user's pattern cannot stall the run. Patterns from config or a user's rule pack
run with a per-call time budget; a call that runs out is one F030 error naming the rule on that
record (the gate does not go green on data that was not checked) and the run goes on."""
from __future__ import annotations

import time

import tunelint
from tunelint import patterns

# (a+)+$ (the issue's example) no longer stalls at all: the regex module that runs user patterns
# finishes it at once. (a|a)+$ still backtracks exponentially there: it stands for every pattern
# that does.
CATASTROPHIC = "(a|a)+$"
NESTED = "(a+)+$"


def _cfg(budget=0.2):
    return {"rules": {"F030": {"budget": budget}},
            "custom-rules": [{"code": "X901", "name": "nested-repeat", "kind": "existence", "severity": "warning",
                              "message": "found {match!r}", "params": {"tokens": [CATASTROPHIC], "regex": True}}]}


def test_promise_user_pattern_with_nested_quantifiers_is_a_finding_not_a_stall():
    evil = "a" * 40 + "!"
    recs = [{"prompt": "q", "completion": " " + evil}, {"prompt": "q", "completion": " fine answer"},
            {"prompt": "q2", "completion": " aaaa"}]
    t0 = time.perf_counter()
    res = tunelint.check(recs, _cfg())
    took = time.perf_counter() - t0
    f030 = [d for d in res.diagnostics if d.code == "F030"]
    assert [d.line for d in f030] == [1], res.diagnostics
    assert "X901 (nested-repeat)" in f030[0].message and f030[0].severity == "error"
    assert [d.line for d in res.diagnostics if d.code == "X901"] == [3]  # the rule still works elsewhere
    assert took < 30  # without the budget this does not finish (2**40 steps)


def test_shipped_rules_use_plain_re_and_user_rules_the_budget():
    import re

    from tunelint.api import load_config

    cfg = load_config(_cfg())
    shipped = next(r for r in cfg.rules if r.code == "C005")
    user = next(r for r in cfg.rules if r.code == "X901")
    assert isinstance(patterns.compile_rule_pattern(shipped, "a+"), re.Pattern)
    assert isinstance(patterns.compile_rule_pattern(user, "a+"), patterns.BudgetedPattern)


def test_budgeted_pattern_times_out_to_no_match():
    class R:
        code, name, source = "X1", "x", "/somewhere/else.yaml"

    patterns.drain()
    saved = patterns.BUDGET_S
    patterns.BUDGET_S = 0.05
    try:
        p = patterns.compile_rule_pattern(R(), CATASTROPHIC)
        s = "a" * 60 + "!"
        assert p.search(s) is None and p.sub("", s) == s and list(p.finditer(s)) == [] and p.findall(s) == []
        assert p.search("aaa") is not None
        assert patterns.drain() == [("X1", "x", CATASTROPHIC)]
    finally:
        patterns.BUDGET_S = saved


def test_the_issue_example_nested_quantifier_does_not_stall():
    class R:
        code, name, source = "X1", "x", "/somewhere/else.yaml"

    p = patterns.compile_rule_pattern(R(), NESTED)
    t0 = time.perf_counter()
    assert p.search("a" * 5000 + "!") is None
    assert time.perf_counter() - t0 < 5  # done, or stopped by the budget: never a stall
    patterns.drain()
