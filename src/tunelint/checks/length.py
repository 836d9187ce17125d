"""L kinds: token limits, dataset size and answers too short to teach anything.

Token counting lives in :mod:`tunelint.tokens`, imported only when a record might be over its
limit (so ``tunelint check`` on a normal file never imports tiktoken nor loads a BPE table).
"""
from __future__ import annotations

import re
import unicodedata

from ..diagnostic import Edit
from .base import DatasetCheck, Finding, FixOffer, RecordCheck, TurnCheck, count, kind

#: JSON bytes -> token-bound factor. Every string costs at most its UTF-8 length in tokens and its
#: JSON form is at least that long; per-message/per-tool overheads add at most ~2.7x the bytes of
#: the smallest JSON that produces them (``{},`` for an empty message or tool). So a record with
#: ``BYTES_FACTOR * len(data) + BYTES_SLACK <= limit`` cannot be over the limit and is skipped
#: before it is even walked; the rest go through tokens.exceeds (a finer byte bound, then BPE).
BYTES_FACTOR = 4
BYTES_SLACK = 64


def thousands(x: int) -> str:
    return f"{x:,}"


def limit_phrase(t, ctx, own: int | None = None) -> str:
    """Who sets the per-example limit, for messages: "qwen3 allows 32,768", "the sequence length
    (axolotl.yaml sequence_len) is 4,096", "the default limit is 131,072 (...)"."""
    if own:
        return f"the limit (max-tokens) is {thousands(own)}"
    src = getattr(t, "limit_source", "")
    if src == "max-tokens":
        return f"the limit (max-tokens) is {thousands(t.max_tokens or 0)}"
    if src:
        return f"the sequence length ({src}) is {thousands(t.max_tokens or 0)}"
    preset = ctx.config.targets.get(t.name) if getattr(ctx.config, "targets", None) else None
    if preset is None or preset.max_tokens != t.max_tokens:
        return f"the limit (max-tokens) is {thousands(t.max_tokens or 0)}"
    if t.name == "generic":
        return f"the default limit is {thousands(t.max_tokens or 0)} (the largest common context window; set --max-seq-len)"
    return f"{t.name} allows {thousands(t.max_tokens or 0)}"


@kind("token-limit")
class TokenLimit(RecordCheck):
    """Examples with more tokens than the target allows (``--target``/``--max-tokens``)."""

    defaults = {"max-tokens": count(None, 1, "tokens a record may have (default: the target's)")}

    def begin(self, ctx):
        t = ctx.target
        own = self.p.get("max-tokens")
        self.limit = own if own else t.max_tokens
        self.target = t
        self.who = limit_phrase(t, ctx, own)
        self.approx = ""
        if getattr(t, "tokenizer", None):
            # a chat template can add any amount of text (default system prompts, tool instructions):
            # every record is rendered (cheap); only those whose bound is over the limit are encoded
            self.max_safe_bytes = -1
        else:
            self.max_safe_bytes = (self.limit - BYTES_SLACK) // BYTES_FACTOR if self.limit else 0  # records this short cannot exceed the limit
            if getattr(t, "own_tokenizer", False):
                self.approx = f"; approximate ({t.encoding}): pass --tokenizer with the model's tokenizer.json for exact counts"

    def check_record(self, rec, ctx):
        if not self.limit or len(rec.data) <= self.max_safe_bytes:
            return
        from .. import tokens

        n = tokens.exceeds(rec, self.target, self.limit)
        if n is None:
            return
        detail = self.approx
        per_turn = tokens.turn_tokens(rec, self.target)
        if len(per_turn) > 1:
            t, k = max(per_turn, key=lambda x: x[1])
            detail = f"; the longest turn ({t.pointer}) has {thousands(k)}" + detail
        yield Finding(args={"tokens": thousands(n), "allowed": self.who, "over": thousands(n - self.limit), "limit": thousands(self.limit),
                            "encoding": self.target.encoding, "detail": detail},
                      fix=FixOffer("drop the example", (Edit("drop"),)))


@kind("min-examples")
class MinExamples(DatasetCheck):
    """Fewer records in the file than the target needs (file-level, line 0)."""

    defaults = {"min-examples": count(None, 0, "records a file needs (default: the target's)")}

    def begin(self, ctx):
        self.count = 0

    def observe(self, rec, ctx):
        self.count += 1

    def merge(self, other):
        self.count += other.count

    def finish(self, ctx):
        t = ctx.target
        need = self.p.get("min-examples") or t.min_examples or 0
        # a file without a single valid record is reported by the F rules that say why
        if 0 < self.count < need:
            who = f"{t.name} fine-tuning needs" if not self.p.get("min-examples") and t.name != "generic" else "the minimum (min-examples) is"
            yield Finding(line=0, args={"count": thousands(self.count), "min": thousands(need), "who": who, "target": t.name})


#: an answer that is only invisible characters, or one punctuation character repeated ("." "..." "?????")
_PLACEHOLDER = re.compile(r"[\s\u00ad\u200b-\u200f\u2060\ufeff]*(?:([^\w\s])\1*)?[\s\u00ad\u200b-\u200f\u2060\ufeff]*")


def _content_chars(text: str, enough: int) -> int:
    """Letters, digits and symbols (emoji, math, currency) in ``text``, counting stops at ``enough``."""
    n = 0
    for ch in text:
        if ch.isalnum() or (not ch.isspace() and not ch.isascii() and unicodedata.category(ch)[0] == "S") \
                or ch in "$+<=>^`|~":
            n += 1
            if n >= enough:
                break
    return n


@kind("short-answer")
class ShortAnswer(TurnCheck):
    """Answers that are placeholders (invisible, or one punctuation mark repeated), and, when the
    thresholds are raised, answers with too few letters/digits/symbols or words.

    Empty answers are left to the empty-turn rule; rejected answers of preference pairs and
    assistant messages with ``weight: 0`` (not trained on) are exempt.
    """

    defaults = {"min-chars": count(0), "min-words": count(0), "turns": ["answer"]}

    def check_text(self, t, rec):
        text = t.text
        if not text or text.isspace() or t.branch == "rejected":
            return
        why = None
        m = _PLACEHOLDER.fullmatch(text)  # fails at once on an answer starting with a letter or digit
        if m is not None and (m.group(1) is None or unicodedata.category(m.group(1))[0] == "P"):
            why = "only invisible characters" if m.group(1) is None else f"only {m.group(1)!r} repeated"
        min_chars = self.p["min-chars"] or 0
        min_words = self.p["min-words"] or 0
        chars = words = 0
        if why is None and min_chars:
            chars = _content_chars(text, min_chars)
            if chars < min_chars:
                why = f"{chars} letter(s), digit(s) or symbol(s) (minimum {min_chars})"
        if why is None and min_words:
            words = len(text.split())
            if words < min_words:
                why = f"{words} word(s) (minimum {min_words})"
        if why is None or self._weight_zero(t, rec):
            return
        shown = text if len(text) <= 40 else text[:37] + "..."
        yield Finding(pointer=t.pointer, args={"text": shown, "why": why, "field": t.field})

    @staticmethod
    def _weight_zero(t, rec) -> bool:
        if t.index < 0 or not isinstance(rec.obj, dict):
            return False
        msgs = rec.obj.get("messages")
        if isinstance(msgs, list) and t.pointer.startswith("/messages/") and t.index < len(msgs):
            m = msgs[t.index]
            return isinstance(m, dict) and m.get("weight") == 0 and m.get("weight") is not False
        return False
