"""Generic text kinds that YAML rules (shipped or user-written) build on, as in Vale.

- ``existence``: a pattern that must not appear in a turn ("must not appear");
- ``substitution``: "use X, not Y" with a case-aware, word-bounded replacement fix;
- ``whole-value``: a turn whose entire (normalized) value is one of a list of values.
"""
from __future__ import annotations

import re

from ..diagnostic import Edit
from .. import patterns
from ..patterns import compile_rule_pattern
from .base import Finding, FixOffer, LateRecordCheck, Param, TurnCheck, count, kind, number, strings


def _compile(rule, tokens, regex: bool, ignorecase: bool, word: bool, flags: int = 0):
    """One pattern for ``tokens`` (a user rule's runs under a time budget: tunelint.patterns)."""
    parts = [t if regex else re.escape(t) for t in tokens]
    body = "|".join(f"(?:{p})" for p in parts)
    if word:
        body = rf"(?<!\w)(?:{body})(?!\w)"
    return compile_rule_pattern(rule, body, flags | (re.IGNORECASE if ignorecase else 0))


def prompt_before(rec, turn) -> str:
    """The prompt an answer replies to: the system, prompt and input turns before it (its own
    branch's, for preference pairs), joined by newlines."""
    parts = []
    for t in rec.turns:
        if t is turn:
            break
        if t.text and t.kind in ("system", "prompt", "input") and (not t.branch or t.branch == turn.branch):
            parts.append(t.text)
    return "\n".join(parts)


@kind("existence")
class Existence(TurnCheck):
    """Flags turns in which any of ``tokens`` occurs. ``remove: true`` offers a fix deleting it.
    ``exempt-prompt`` (a regex, case-insensitive): an answer whose prompt matches it passes (a
    question about "lorem ipsum" gets it in its answer)."""

    defaults = {"tokens": strings(), "regex": True, "ignorecase": False, "word": False,
                "multiline": True, "remove": False, "max-per-turn": count(1, 1), "exempt-prompt": ""}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        if not params["tokens"]:
            from ..model.errors import RuleError

            raise RuleError(f"rule {rule.code}: kind 'existence' needs a non-empty 'tokens' list")
        self.rx = _compile(rule, params["tokens"], params["regex"], params["ignorecase"], params["word"],
                           re.MULTILINE if params["multiline"] else 0)
        self.gate = self.rx.search
        self.exempt = (compile_rule_pattern(rule, params["exempt-prompt"], re.IGNORECASE).search
                       if params["exempt-prompt"] else None)

    def check_text(self, t, rec):
        n = 0
        if self.exempt is not None and self.rx.search(t.text) and self.exempt(prompt_before(rec, t)):
            return
        for m in self.rx.finditer(t.text):
            fix = None
            if self.p["remove"]:
                cleaned = self.rx.sub("", t.text).strip()
                fix = FixOffer(f"remove {m.group()!r}", (Edit("set", t.pointer, cleaned),))
            yield Finding(pointer=t.pointer, args={"match": m.group(), "offset": m.start(), "field": t.field, "role": t.role}, fix=fix)
            n += 1
            if n >= self.p["max-per-turn"]:
                break


def match_case(src: str, repl: str) -> str:
    """Keep the case style of ``src`` when it is all-caps or capitalized and ``repl`` is lowercase."""
    if src.isupper() and len(src) > 1:
        return repl.upper()
    if src[:1].isupper() and repl[:1].islower():
        return repl[:1].upper() + repl[1:]
    return repl


@kind("substitution")
class Substitution(TurnCheck):
    """``swap: {pattern: preferred}``; each match becomes a finding with an (unsafe) replace fix."""

    defaults = {"swap": Param({}, dict, items=str, doc="pattern -> preferred spelling"), "regex": False, "ignorecase": True, "word": True, "keep-case": False}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        swap = params["swap"]
        if not isinstance(swap, dict) or not swap:
            from ..model.errors import RuleError

            raise RuleError(f"rule {rule.code}: kind 'substitution' needs a 'swap' mapping of pattern: preferred")
        self.pairs = []
        for pat, good in swap.items():
            rx = _compile(rule, [pat], params["regex"], params["ignorecase"], params["word"])
            self.pairs.append((rx, str(good)))
        self.any = _compile(rule, list(swap), params["regex"], params["ignorecase"], params["word"])
        self.gate = self.any.search

    def check_text(self, t, rec):
        text = t.text
        if not self.any.search(text):
            return
        for rx, good in self.pairs:
            hits = [m for m in rx.finditer(text) if m.group() != good]
            if not hits:
                continue
            m = hits[0]
            if self.p["keep-case"]:
                new = rx.sub(lambda mm: mm.group() if mm.group() == good else match_case(mm.group(), good), text)
            else:
                new = rx.sub(good, text) if not self.p["regex"] else rx.sub(lambda mm: good, text)
            yield Finding(pointer=t.pointer, args={"match": m.group(), "expected": good, "count": len(hits), "offset": m.start()},
                          fix=FixOffer(f"replace {m.group()!r} with {good!r}", (Edit("set", t.pointer, new),)))


def normalize_value(s: str) -> str:
    s = s.strip().lower()
    s = re.sub(r"[\s\W_]+", " ", s).strip()
    return s


@kind("whole-value")
class WholeValue(TurnCheck):
    """The whole turn (lowercased, punctuation and spacing ignored) is one of ``values``.

    ``replace-with`` offers an unsafe fix that sets the field to that value (e.g. "").
    ``drop: true`` offers an unsafe fix that drops the record instead.
    """

    defaults = {"values": strings(), "replace-with": Param(None, str), "drop": False}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.values = {normalize_value(v) for v in params["values"]}

    gate = staticmethod(re.compile(r"(?s).{0,40}\Z").match)  # at most 40 characters

    def check_text(self, t, rec):
        text = t.text
        if len(text) > 40 or not text.strip():
            return
        if normalize_value(text) in self.values:
            fix = None
            if self.p["drop"]:
                fix = FixOffer("drop the record", (Edit("drop"),))
            elif self.p["replace-with"] is not None:
                fix = FixOffer(f"replace with {self.p['replace-with']!r}", (Edit("set", t.pointer, self.p["replace-with"]),))
            yield Finding(pointer=t.pointer, args={"value": text, "field": t.field, "role": t.role}, fix=fix)


@kind("pattern-budget")
class PatternBudget(LateRecordCheck):
    """A pattern of a user's rule that ran out of its time budget on this record
    (``tunelint.patterns``: each call of a pattern from outside tunelint's own packs gets
    ``budget`` seconds; on the record it counted as no match). One finding per rule and record."""

    defaults = {"budget": number(1.0, 0.001, 60, doc="seconds one call of a user pattern may take on one text")}

    def begin(self, ctx):
        patterns.BUDGET_S = float(self.p["budget"])
        patterns.drain()

    def check_late(self, rec, ctx):
        if not patterns.pending:
            return
        for code, name, pattern in patterns.drain():
            shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
            yield Finding(args={"rule": f"{code} ({name})", "pattern": shown, "budget": self.p["budget"]})
