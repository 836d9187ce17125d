"""C kinds: what a turn says (or fails to say).

- ``empty-text``: empty or whitespace-only turns, with the exceptions real formats allow;
- ``truncate-at``: a marker after which the rest of the turn does not belong (merged examples);
- ``template-slot``: unfilled ``{{slot}}`` / ``{slot}`` placeholders, conservative around code.

Placeholder values, unseen media, secrets and PII are plain ``whole-value``/``existence``
rules in ``rules/content.yaml``.
"""
from __future__ import annotations

import re
from collections import Counter

from ..diagnostic import Edit
from ..patterns import compile_rule_pattern
from .base import Finding, FixOffer, TurnCheck, count, kind, strings
from .text import Existence, prompt_before

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

    defaults = {"allow": strings(["input"]), "drop": True, "stops": strings()}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.allow = frozenset(params["allow"] or ())
        self.stops = frozenset(s.strip() for s in params["stops"] or () if s.strip())
        self.longest = max(map(len, self.stops), default=-4) + 4  # room for a leading space and a newline
        if self.stops:
            self.gate = self._gate_stops

    @staticmethod
    def gate(s: str) -> bool:  # empty or whitespace-only (isspace stops at the first visible character)
        return not s or s.isspace()

    def _gate_stops(self, s: str) -> bool:  # ... or short enough to be a stop sequence
        return not s or len(s) <= self.longest or s.isspace()

    def check_text(self, t, rec):
        text = t.text
        stop = t.kind == "answer" and len(text) <= self.longest and text.strip() in self.stops
        if text and not stop and not text[0].isspace() and not text[-1].isspace():
            return  # fast path: non-empty with a visible edge
        if (text.strip() and not stop) or t.kind in self.allow:
            return
        if rec.format == "prompt-completion" and t.field == "prompt":
            return
        if t.role == "assistant" and t.field == "content":
            m = _message_of(rec.obj, t.pointer)
            if m is not None and (m.get("tool_calls") or m.get("function_call")):
                return
        what = _WHAT.get(t.kind, t.kind)
        fix = FixOffer("drop the record", (Edit("drop"),)) if self.p["drop"] else None
        yield Finding(pointer=t.pointer, args={"what": what, "field": t.field, "role": t.role,
                                               "state": f"empty (only the stop sequence {text.strip()!r})" if stop else
                                               "empty" if not text else "whitespace-only"}, fix=fix)


@kind("truncate-at")
class TruncateAt(TurnCheck):
    """``pattern`` marks where foreign text starts (e.g. a second numbered Alpaca example);
    the unsafe fix keeps only what comes before it, minus its last lines while ``trim-lines`` (a
    regex) matches a whole line (divider lines, a stray number; never the first line).
    ``prefilter`` is a plain substring that must occur for the (slower) regex to run.

    Lines are trimmed one at a time from the end, so the time is linear in the text: the former
    ``trim`` (one regex of repeated lines anchored at the end of the text) was retried from
    every newline and backtracked exponentially on a 2 KB answer of such lines."""

    defaults = {"pattern": "", "prefilter": "", "ignorecase": False, "min-keep": count(1), "trim-lines": ""}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        if not params["pattern"]:
            from ..model.errors import RuleError

            raise RuleError(f"rule {rule.code}: kind 'truncate-at' needs a 'pattern'")
        self.rx = compile_rule_pattern(rule, params["pattern"], re.MULTILINE | (re.IGNORECASE if params["ignorecase"] else 0))
        self.pre = params["prefilter"] or None
        self.trim = compile_rule_pattern(rule, params["trim-lines"]).fullmatch if params["trim-lines"] else None
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
            trim = self.trim
            i = kept.rfind("\n")
            while i >= 0 and trim(kept, i + 1):
                kept = kept[:i]
                i = kept.rfind("\n")
            kept = kept.rstrip()
        fix = None
        if len(kept) >= self.p["min-keep"]:
            fix = FixOffer(f"cut the {t.field} at offset {m.start()}", (Edit("set", t.pointer, kept),))
        line = m.group().strip().splitlines()[0] if m.group().strip() else m.group()
        yield Finding(pointer=t.pointer, args={"match": line, "offset": m.start(), "field": t.field,
                                               "rest": len(text) - m.start()}, fix=fix)


# {{ slot }} (Jinja/Mustache/Handlebars) and {slot} (str.format) placeholders.
_DOUBLE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
# single braces: an identifier of 3+ chars, not preceded by $ \ ^ _ { or a word char (LaTeX, sets, f-strings
# next to code), not followed by another brace
_SINGLE = re.compile(r"(?<![\w$\\^_{}%#])\{([A-Za-z][A-Za-z0-9_]{2,})\}(?![}\w])")
# signs that a turn is (or contains) code or markup, where braces are syntax
_CODEISH = re.compile(r"```|\{%|</?[A-Za-z][\w-]*[\s/>]|\bdef |\bfunction\b|=>|\bprint\(|\bconsole\.|^[ \t]*+(?:from [\w.]++ )?import [\w.{*]|"
                      r"f\"|f'|\.format\(|\bvar |\bconst |;\s*$|\\[a-z]+\{|\$\{|:\s*\{|"
                      r"\bpublic (?:static|class|void|final|abstract|interface|enum|int|boolean|String|async|override)\b|#include|\bSELECT\b|\{\{#|v-[a-z]+=", re.MULTILINE)


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
    ``links``: phrases that make a URL in the turn stand for its page ("summarize this
    article", "the video below"): with one of them, a URL is flagged when the rest of the turn
    (URLs removed) is shorter than ``link-max-text`` characters, i.e. the page's text is not there.
    ``keys``: substrings of which one must occur (lowercased) for the patterns to run.
    """

    defaults = {"inline": strings(), "reference": strings(), "min-after": count(20), "keys": strings(), "links": strings(),
                "link-max-text": count(300)}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.keys = tuple(k.lower() for k in params["keys"])
        def alts(key):
            return compile_rule_pattern(rule, "|".join(f"(?:{p})" for p in params[key]), re.IGNORECASE) if params[key] else None

        self.inline, self.ref, self.links = alts("inline"), alts("reference"), alts("links")

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
        if m is None and self.links is not None and not (t.field == "instruction" and _has_input(rec)):
            m = self._link(text)  # with an input, the instruction's link is the input's (flagged there if bare)
        if m is not None:
            yield Finding(pointer=t.pointer, args={"match": m.group(), "field": t.field, "offset": m.start()},
                          fix=FixOffer("drop the record (its prompt depends on content the model cannot see)", (Edit("drop"),)))


    def _link(self, text):
        """The URL standing for a page the turn asks about, or None. A quoted URL is a string
        the task works on ("the domain 'https://abc.com'"), not a page to read."""
        u = _URL.search(text)
        if u is None or (u.start() and text[u.start() - 1] in "\"'`\u201c\u2018") or not self.links.search(text):
            return None
        if len(_URL.sub("", text).strip()) >= self.p["link-max-text"]:
            return None  # the page's text (or enough context) is in the turn
        return u


def _has_input(rec) -> bool:
    other = rec.obj.get("input") if isinstance(rec.obj, dict) else None
    return isinstance(other, str) and bool(other.strip())


_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)


@kind("keyed-existence")
class KeyedExistence(Existence):
    """``existence`` behind a cheap literal prefilter: the (slower) ``tokens`` regex runs only
    on turns containing one of ``keys`` (plain substrings; with ``keys-ignorecase`` they are
    matched against the lowercased text). Rules stay data; the fast path is a few ``in`` tests."""

    defaults = {**Existence.defaults, "keys": strings(), "keys-ignorecase": False}

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


_SEPARATORS = ("###", "-->", "->")  # what may follow the marker (a prompt/completion separator)


def _without_separator(text: str) -> str:
    """``text`` without the whitespace and separators at its end (string methods: a regex anchored
    at the end would be tried at every position)."""
    body = text.rstrip()
    while body.endswith(_SEPARATORS):
        body = body[:-3] if body.endswith(("###", "-->")) else body[:-2]
        body = body.rstrip()
    return body
_LAST_LINE = re.compile(r"\n[ \t]*(?:#{1,4}[ \t]*)?(?:(?P<label>input|context)[ \t]*:[ \t]*\n?[ \t]*)?(?P<value>[^\n]{1,40})\Z", re.I)


@kind("trailing-placeholder")
class TrailingPlaceholder(TurnCheck):
    """A prompt turn whose last line is a "no input" marker: Alpaca data converted to chat
    (or to prompt/completion) with the empty-input placeholder pasted after the instruction
    ("Name a color.\\n\\n<noinput>", "...\\n\\nInput: N/A"). ``values``: markers on a line of
    their own; ``labeled-values``: markers that count only after an ``Input:`` label (a bare
    "None" ends many honest prompts). Compared like ``whole-value`` (case, spacing and
    punctuation ignored). A prompt/completion separator after the marker (``###``, ``->``)
    is kept by the fix, which removes the marker line."""

    defaults = {"values": [], "labeled-values": []}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        from .text import normalize_value

        self.norm = normalize_value
        self.values = {normalize_value(v) for v in params["values"]}
        self.labeled = self.values | {normalize_value(v) for v in params["labeled-values"]}

    @staticmethod
    def gate(s: str) -> bool:  # a line break near the end of the text before its separator
        # (every legacy prompt ends with "\n\n###\n\n": the separator's own breaks prove nothing)
        return "\n" in _without_separator(s)[-120:]

    def check_text(self, t, rec):
        text = t.text
        body = _without_separator(text)
        m = _LAST_LINE.search(body, max(0, len(body) - 120))
        if m is None or not body[:m.start()].strip():
            return
        v = self.norm(m.group("value"))
        if not v or v not in (self.labeled if m.group("label") else self.values):
            return
        tail = text[len(body):]
        fixed = body[:m.start()].rstrip() + (tail if tail.strip() else "")
        yield Finding(pointer=t.pointer, args={"value": m.group().strip(), "field": t.field, "role": t.role,
                                               "offset": m.start() + 1},
                      fix=FixOffer(f"remove the placeholder {m.group().strip()!r}", (Edit("set", t.pointer, fixed),)))


# a sentence: from a visible character to its end mark, within a line (a line without one is
# no sentence); the group leaves the end mark out ("Go on!" and "Go on." are one sentence)
# A stretch with no end mark is consumed as one match with an empty mark (and dropped), so the
# search never restarts inside it: "([^\s.!?][^.!?\n]*)[.!?]" retried from every character of a
# long unterminated line (quadratic: a 128k-character line did not finish).
_SENTENCE = re.compile(r"([^\s.!?][^.!?\n]*+)([.!?]?)")


@kind("repeated-sentence")
class RepeatedSentence(TurnCheck):
    """One sentence of at least ``min-words`` words written ``min-repeats`` times or more in one
    turn, each time at most ``max-gap`` sentences after the last: a generation stuck in a loop
    ("A. A. A. A." or "A. B. A. B. A. B. A. B."). A sentence runs up to ``.``, ``!`` or ``?``
    within a line (list items and table rows without one repeat by design); case and the
    end mark are ignored. A list that repeats a sentence after every item is
    not a loop. Turns that look like code, and answers to prompts matching
    ``exempt-prompt`` (songs, chants, "repeat after me"), pass."""

    defaults = {"min-repeats": 4, "min-words": 4, "max-gap": 2, "exempt-prompt": ""}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.exempt = compile_rule_pattern(rule, params["exempt-prompt"], re.I).search if params["exempt-prompt"] else None
        self.min_len = int(params["min-repeats"]) * (2 * int(params["min-words"]) - 1)
        self.need = int(params["min-repeats"])

    def gate(self, s: str) -> bool:  # long enough, with enough sentence ends (str.count: C speed)
        return len(s) >= self.min_len and s.count(".") + s.count("!") + s.count("?") >= self.need

    def check_text(self, t, rec):
        text = t.text
        need, words, gap = self.need, int(self.p["min-words"]), int(self.p["max-gap"])
        sents = [s for s, mark in _SENTENCE.findall(text.lower()) if mark]
        if len(sents) - len(set(sents)) < need - 1:
            return  # no sentence comes back often enough (C speed: most answers end here)
        cands = {k for k, n in Counter(sents).items() if n >= need and len(k.split()) >= words}
        if not cands:
            return
        runs: dict[str, tuple[int, int]] = {}  # sentence -> (index of its last occurrence, run length)
        best = None
        for i, key in enumerate(sents):
            if key not in cands:
                continue
            last, n = runs.get(key, (-gap - 1, 0))
            n = n + 1 if i - last <= gap else 1
            runs[key] = (i, n)
            if n >= need and (best is None or n > best[1]):
                best = (" ".join(key.split()), n)
        if best is None:
            return
        if _CODEISH.search(text) or (self.exempt is not None and self.exempt(prompt_before(rec, t))):
            return
        key, n = best
        yield Finding(pointer=t.pointer, args={"sentence": key[:80] + ("…" if len(key) > 80 else ""), "count": n,
                                               "field": t.field})
