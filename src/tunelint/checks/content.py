"""C kinds: what a turn says (or fails to say).

- ``empty-text``: empty or whitespace-only turns, with the exceptions real formats allow;
- ``truncate-at``: a marker after which the rest of the turn does not belong (merged examples);
- ``template-slot``: unfilled ``{{slot}}`` / ``{slot}`` placeholders, conservative around code.

Placeholder values, unseen media, secrets and PII are plain ``whole-value``/``existence``
rules in ``rules/content.yaml``.
"""
from __future__ import annotations

import re

from ..diagnostic import Edit, Fix
from .base import Finding, TurnCheck, kind
from .encoding import edge_space
from .text import Existence

_WHAT = {"system": "system prompt", "prompt": "prompt", "input": "input", "answer": "answer", "tool": "tool result"}


def _message_of(obj, pointer: str):
    """The JSON object holding the string at ``pointer`` (a chat message), or None."""
    parts = pointer.split("/")[1:-1]
    cur = obj
    try:
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p.replace("~1", "/").replace("~0", "~")]
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    return cur if isinstance(cur, dict) else None


@kind("empty-text")
class EmptyText(TurnCheck):
    """A turn whose text is empty or only whitespace.

    Not flagged: turn kinds in ``allow`` (the Alpaca ``input`` is optional and usually empty),
    the prompt of legacy prompt/completion data (an empty prompt is the documented way to do
    open-ended generation), and an assistant message that carries tool calls.
    """

    defaults = {"allow": ["input"], "drop": True}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.allow = frozenset(params["allow"] or ())

    @staticmethod
    def gate(s: str) -> bool:  # empty, or blank at an edge
        return not s or edge_space(s)

    def check_text(self, t, rec):
        text = t.text
        if text and not text[0].isspace() and not text[-1].isspace():
            return  # fast path: non-empty with a visible edge
        if text.strip() or t.kind in self.allow:
            return
        if rec.format == "prompt-completion" and t.field == "prompt":
            return
        if t.role == "assistant" and t.field == "content":
            m = _message_of(rec.obj, t.pointer)
            if m is not None and (m.get("tool_calls") or m.get("function_call")):
                return
        what = _WHAT.get(t.kind, t.kind)
        fix = Fix("unsafe", "drop the record", (Edit("drop"),)) if self.p["drop"] else None
        yield Finding(pointer=t.pointer, args={"what": what, "field": t.field, "role": t.role,
                                               "state": "empty" if not text else "whitespace-only"}, fix=fix)


@kind("truncate-at")
class TruncateAt(TurnCheck):
    """``pattern`` marks where foreign text starts (e.g. a second numbered Alpaca example);
    the unsafe fix keeps only what comes before it, minus what ``trim`` (a regex) matches
    at its end (e.g. a divider line). ``prefilter`` is a plain substring that must occur
    for the (slower) regex to run."""

    defaults = {"pattern": "", "prefilter": "", "ignorecase": False, "min-keep": 1, "trim": ""}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        if not params["pattern"]:
            from ..rules import RuleError

            raise RuleError(f"rule {rule.code}: kind 'truncate-at' needs a 'pattern'")
        self.rx = re.compile(params["pattern"], re.MULTILINE | (re.IGNORECASE if params["ignorecase"] else 0))
        self.pre = params["prefilter"] or None
        self.trim = re.compile(params["trim"]) if params["trim"] else None
        self.gate = re.compile(re.escape(self.pre)).search if self.pre else self.rx.search

    def check_text(self, t, rec):
        text = t.text
        if self.pre is not None and self.pre not in text:
            return
        m = self.rx.search(text)
        if not m:
            return
        kept = text[:m.start()].rstrip()
        if self.trim is not None:
            kept = self.trim.sub("", kept).rstrip()
        fix = None
        if len(kept) >= self.p["min-keep"]:
            fix = Fix("unsafe", f"cut the {t.field} at offset {m.start()}", (Edit("set", t.pointer, kept),))
        line = m.group().strip().splitlines()[0] if m.group().strip() else m.group()
        yield Finding(pointer=t.pointer, args={"match": line, "offset": m.start(), "field": t.field,
                                               "rest": len(text) - m.start()}, fix=fix)


# {{ slot }} (Jinja/Mustache/Handlebars) and {slot} (str.format) placeholders.
_DOUBLE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
# single braces: an identifier of 3+ chars, not preceded by $ \ ^ _ { or a word char (LaTeX, sets, f-strings
# next to code), not followed by another brace
_SINGLE = re.compile(r"(?<![\w$\\^_{}%#])\{([A-Za-z][A-Za-z0-9_]{2,})\}(?![}\w])")
# signs that a turn is (or contains) code or markup, where braces are syntax
_CODEISH = re.compile(r"```|\{%|</?[A-Za-z][\w-]*[\s/>]|\bdef |\bfunction\b|=>|\bprint\(|\bconsole\.|\bimport |"
                      r"f\"|f'|\.format\(|\bvar |\bconst |;\s*$|\\[a-z]+\{|\$\{|:\s*\{|"
                      r"\bpublic |#include|\bSELECT\b|\{\{#|v-[a-z]+=", re.MULTILINE)


@kind("template-slot")
class TemplateSlot(TurnCheck):
    """Unfilled template slots left literal in the text. Turns that look like code or markup
    are skipped (braces are syntax there). ``{slot}`` counts only in answers and system
    prompts (users asking about templates write them on purpose); ``single: false`` ignores it."""

    defaults = {"single": True, "double": True}

    gate = staticmethod(re.compile(r"\{").search)

    def check_text(self, t, rec):
        text = t.text
        if "{" not in text:
            return
        m = _DOUBLE.search(text) if self.p["double"] and "{{" in text else None
        single = self.p["single"] and t.kind in ("answer", "system")
        if m is None and single:
            m = _SINGLE.search(text)
        if m is None or _CODEISH.search(text):
            return
        head = text.lstrip()[:2]
        if head[:1] == "[" or (head[:1] == "{" and head != "{{"):
            return  # a JSON value
        n = len(_DOUBLE.findall(text)) + (len(_SINGLE.findall(text)) if single else 0)
        yield Finding(pointer=t.pointer, args={"slot": m.group(), "name": m.group(1), "count": max(n, 1),
                                               "field": t.field, "offset": m.start()})


@kind("unseen-media")
class UnseenMedia(TurnCheck):
    """References to content a text model cannot see.

    ``inline``: patterns that are the missing content's stand-in (a bare URL, ``![..](..)``,
    ``<img>``, ``[Image]``): always flagged. ``reference``: phrases pointing at it ("the
    following photo"): flagged only when nothing follows them in the turn (fewer than
    ``min-after`` characters) and, for an Alpaca instruction, the ``input`` is empty: a
    described or named picture ("The Starry Night by Van Gogh") is text the model can use.
    ``keys``: substrings of which one must occur (lowercased) for the patterns to run.
    """

    defaults = {"inline": [], "reference": [], "min-after": 20, "keys": []}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.keys = tuple(k.lower() for k in params["keys"])
        self.inline = re.compile("|".join(f"(?:{p})" for p in params["inline"]), re.IGNORECASE) if params["inline"] else None
        self.ref = re.compile("|".join(f"(?:{p})" for p in params["reference"]), re.IGNORECASE) if params["reference"] else None

    def check_text(self, t, rec):
        text = t.text
        if self.keys:  # prefilter: one of the (lowercase) keys must occur
            low = text.lower()
            for k in self.keys:
                if k in low:
                    break
            else:
                return
        m = self.inline.search(text) if self.inline is not None else None
        if m is None and self.ref is not None:
            r = self.ref.search(text)
            if r is not None and len(text[r.end():].strip()) < self.p["min-after"]:
                obj = rec.obj
                other = obj.get("input") if t.field == "instruction" and isinstance(obj, dict) else None
                if not (isinstance(other, str) and other.strip()):
                    m = r
        if m is not None:
            yield Finding(pointer=t.pointer, args={"match": m.group(), "field": t.field, "offset": m.start()},
                          fix=Fix("unsafe", "drop the record (its prompt depends on content the model cannot see)", (Edit("drop"),)))


@kind("keyed-existence")
class KeyedExistence(Existence):
    """``existence`` behind a cheap literal prefilter: the (slower) ``tokens`` regex runs only
    on turns containing one of ``keys`` (plain substrings; with ``keys-ignorecase`` they are
    matched against the lowercased text). Rules stay data; the fast path is a few ``in`` tests."""

    defaults = {**Existence.defaults, "keys": [], "keys-ignorecase": False}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.keys = tuple(k.lower() for k in params["keys"]) if params["keys-ignorecase"] else tuple(params["keys"])
        self.lower = bool(params["keys-ignorecase"])
        if self.keys:  # the keys, not the slower tokens regex, gate the check
            self.gate = re.compile("|".join(map(re.escape, self.keys)), re.IGNORECASE if self.lower else 0).search

    def check_text(self, t, rec):
        if self.keys:
            s = t.text.lower() if self.lower else t.text
            for k in self.keys:
                if k in s:
                    break
            else:
                return ()
        return super().check_text(t, rec)
