"""Every rule's YAML examples are its tests: `pass` must not trigger it, `fail` must, and a
`fix` example's input must trigger it while its expected output must be clean (and, once
fixed by `tunelint fix`, equal the output: see test_fix_examples)."""
from __future__ import annotations

import pytest

from tunelint.config import load_config
from tunelint.docs import example_items
from tunelint.engine import FileRun
from tunelint.rules import builtin_pack

RULES = builtin_pack().rules


def _cases():
    for r in RULES:
        for key in ("pass", "fail", "fix"):
            for i, ex in enumerate(example_items(r, key)):
                yield pytest.param(r, key, ex, id=f"{r.code}-{r.name}-{key}{i}")


def run_example(rule, ex, data: bytes, tmp_path):
    overrides = {}
    if ex.get("params"):
        overrides = {"rules": {rule.code: ex["params"]}}
    cfg = load_config(data={"select": [rule.code], **overrides, **(ex.get("config") or {})})
    path = tmp_path / ex.get("path", "example.jsonl")
    path.write_bytes(data)
    diags = FileRun(str(path), cfg, display_path=str(path)).run()
    if "ignore" in ex:  # the data file's ignore file (tunelint.suppress): F040 and suppression
        from tunelint.suppress import SUFFIX, filter_file

        (tmp_path / (path.name + SUFFIX)).write_text(ex["ignore"] + "\n", encoding="utf-8")
        diags = filter_file(str(path), diags, cfg)
    return diags


def test_every_rule_has_pass_and_fail_examples():
    missing = [r.code for r in RULES if not r.examples.get("pass") or not (r.examples.get("fail") or r.examples.get("fix"))]
    assert not missing, f"rules without pass and fail examples: {missing}"


def test_fixable_rules_have_fix_examples():
    missing = [r.code for r in RULES if r.fix and r.fix["applicability"] == "safe" and not r.examples.get("fix")]
    assert not missing, f"rules with a safe fix but no fix example: {missing}"


@pytest.mark.parametrize("rule,key,ex", list(_cases()))
def test_rule_example(rule, key, ex, tmp_path):
    diags = run_example(rule, ex, ex["data"], tmp_path)
    hits = [d for d in diags if d.code == rule.code]
    if key == "pass":
        assert not hits, f"{rule.code} fired on a passing example: {[d.message for d in hits]}"
        return
    assert hits, f"{rule.code} did not fire on a failing example; got {[(d.code, d.message) for d in diags]}"
    if "line" in ex:
        assert any(d.line == ex["line"] for d in hits), f"expected line {ex['line']}, got {[d.line for d in hits]}"
    if "pointer" in ex:
        assert any(d.pointer == ex["pointer"] for d in hits), [d.pointer for d in hits]
    for d in hits:
        assert d.message and "{" not in d.message.split("'")[0], f"unformatted message: {d.message}"
    if key == "fix":
        assert all(d.fix is not None for d in hits), "a fix example must produce fixable diagnostics"
        after = run_example(rule, ex, ex["output"], tmp_path)
        assert not [d for d in after if d.code == rule.code], "the expected fix output still triggers the rule"
