"""Every rule's `examples.fix` ({input, output}) run through the real fixer: the output must be
exactly the expected bytes, and fixing the output again must change nothing (idempotent)."""
from __future__ import annotations

import pytest

from tunelint.config import load_config
from tunelint.docs import example_items
from tunelint.fixer import Fixer, FixPolicy
from tunelint.rules import builtin_pack

RULES = builtin_pack().rules


def _cases():
    for r in RULES:
        for i, ex in enumerate(example_items(r, "fix")):
            yield pytest.param(r, ex, id=f"{r.code}-{r.name}-fix{i}")


def fix_bytes(rule, ex, data: bytes, tmp_path, name: str) -> bytes:
    overrides = {"rules": {rule.code: ex["params"]}} if ex.get("params") else {}
    cfg = load_config(data={"select": [rule.code], **overrides, **(ex.get("config") or {})})
    unsafe = bool(rule.fix) and rule.fix["applicability"] == "unsafe"
    fixer = Fixer(cfg, FixPolicy.from_config(cfg, unsafe=unsafe))
    src_name = ex.get("path", "example.jsonl")
    d = tmp_path / name
    d.mkdir()
    src = d / src_name
    src.write_bytes(data)
    out = d / ("out-" + src_name)
    res = fixer.fix_file(str(src), str(out), rejects=str(d / "rejects.jsonl"))
    assert res.skipped is None, res.skipped
    assert src.read_bytes() == data, "the input was modified"
    assert res.input_records == res.output_records + res.rejected
    return out.read_bytes()


def test_there_are_fix_examples():
    assert sum(1 for _ in _cases()) >= 8


@pytest.mark.parametrize("rule,ex", list(_cases()))
def test_fix_example(rule, ex, tmp_path):
    out = fix_bytes(rule, ex, ex["data"], tmp_path, "first")
    assert out == ex["output"], f"{rule.code}: fix produced {out!r}, expected {ex['output']!r}"
    again = fix_bytes(rule, ex, out, tmp_path, "second")
    assert again == out, f"{rule.code}: fixing the output changed it again: {again!r}"
