"""Rule patterns: shipped ones run on ``re``, patterns a user wrote run under a time budget.

The shipped rule packs' patterns are audited for linear time (``scripts/regex_audit.py``, and
``tests/test_promise_linear_time.py`` end to end). A pattern from a user's config or rule pack
may backtrack catastrophically (``(a+)+$``): one record would stall the run. So every pattern
that comes from outside ``rules/`` is compiled with the ``regex`` module (a dependency of
tiktoken) and each call gets :data:`BUDGET_S` seconds; a call that runs out of time counts as
no match (a ``sub`` leaves the text as it was) and is recorded in :data:`pending`, which the
``pattern-budget`` rule (F030) turns into one finding naming the rule on that record.

    compile_rule_pattern(rule, pattern, flags=0) -> re.Pattern | BudgetedPattern
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: seconds one call of a user pattern may take on one text
BUDGET_S = 1.0

#: (rule code, rule name, pattern) of each call that ran out of time since the last drain
pending: list[tuple[str, str, str]] = []


def drain() -> list[tuple[str, str, str]]:
    out = list(dict.fromkeys(pending))
    pending.clear()
    return out


#: where tunelint's own packs live: installed (tunelint/rules) or a source checkout (rules/);
#: the same places as ``tunelint.rules.rules_dir``, computed here so this module imports nothing
_HERE = Path(__file__).resolve().parent
_SHIPPED = (_HERE / "rules", _HERE.parent.parent / "rules")


def is_shipped(rule: Any) -> bool:
    """Whether ``rule`` comes from tunelint's own rule packs (audited patterns)."""
    src = getattr(rule, "source", "") or ""
    if not src:
        return False
    try:
        where = Path(src).resolve()
    except (OSError, ValueError):
        return False
    return any(where.is_relative_to(d) for d in _SHIPPED)


class BudgetedPattern:
    """The subset of ``re.Pattern`` that kinds use, each call limited to :data:`BUDGET_S`."""

    __slots__ = ("_rx", "pattern", "flags", "_who")

    def __init__(self, rx: Any, pattern: str, flags: int, who: tuple[str, str]):
        self._rx, self.pattern, self.flags, self._who = rx, pattern, flags, who

    def _late(self) -> None:
        if len(pending) < 1000:  # bounded when F030 is not selected (nobody drains it then)
            pending.append((self._who[0], self._who[1], self.pattern))

    def _call(self, method: str, empty: Any, *args: Any, **kw: Any) -> Any:
        try:
            return getattr(self._rx, method)(*args, timeout=BUDGET_S, **kw)
        except TimeoutError:
            self._late()
            return empty

    def search(self, string: str, *args: Any) -> Any:
        return self._call("search", None, string, *args)

    def match(self, string: str, *args: Any) -> Any:
        return self._call("match", None, string, *args)

    def fullmatch(self, string: str, *args: Any) -> Any:
        return self._call("fullmatch", None, string, *args)

    def findall(self, string: str, *args: Any) -> list:
        return self._call("findall", [], string, *args)

    def finditer(self, string: str, *args: Any) -> Any:
        try:  # all at once, so the budget covers the whole scan
            return iter(list(self._rx.finditer(string, *args, timeout=BUDGET_S)))
        except TimeoutError:
            self._late()
            return iter(())

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        return self._call("sub", string, repl, string, count=count)


def compile_rule_pattern(rule: Any, pattern: str, flags: int = 0) -> Any:
    """``pattern`` for ``rule``: ``re`` for shipped rules, else a :class:`BudgetedPattern`.
    An invalid pattern raises ``re.error`` as ``re.compile`` would (the loader reports it)."""
    rx = re.compile(pattern, flags)
    if is_shipped(rule):
        return rx
    try:
        import regex
    except ImportError:  # pragma: no cover - tiktoken depends on regex
        return rx
    try:
        brx = regex.compile(pattern, flags | regex.VERSION0)  # re's flag values are regex's
    except (regex.error, ValueError, TypeError):
        return rx  # a pattern only ``re`` reads: no budget, as before
    return BudgetedPattern(brx, pattern, flags, (getattr(rule, "code", "?"), getattr(rule, "name", "?")))
