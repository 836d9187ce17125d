"""L kinds computed from what the trainer sees: the record rendered by the model's own chat
template and encoded by its own tokenizer (:mod:`tunelint.chat`).

They are silent unless a tokenizer is configured (``--tokenizer``, config ``tokenizer``, or a
target with one such as ``qwen3``). One rendering per record is shared by the kinds
(``chat.view`` keeps the last record's); tokens are encoded only for records whose byte bound
is over the sequence length (and, for the prefix check, only the text after the prompt's last
special token).
"""
from __future__ import annotations

import re

from ..diagnostic import Edit
from ..locate import value_at
from .base import Finding, FixOffer, RecordCheck, count, kind
from .length import limit_phrase, thousands

_ITEM = re.compile(r"^(/(?:[^/]+/)*?[^/]+)/(\d+)(?:/[^/]+)?$")


class _TrainerCheck(RecordCheck):
    defaults = {"max-tokens": count(None, 1, "the sequence length in tokens (default: the target's or --max-seq-len)")}

    def begin(self, ctx):
        from .. import tokens

        t = ctx.target
        self.model = tokens.chat_model(t)  # loads (and verifies) the tokenizer once, before any record
        own = self.p.get("max-tokens")
        self.limit = own or t.max_tokens
        self.who = limit_phrase(t, ctx, own)

    def _cut_sides(self, rec):
        """(side, answer spans) of each rendered side longer than the sequence length."""
        if self.model is None or not self.limit:
            return
        for side in self._view(rec).sides:
            if _over(side, self.limit):
                yield side, side.spans()

    def _view(self, rec):
        from .. import chat

        return chat.view(rec, self.model)


@kind("chat-template-error")
class TemplateError(_TrainerCheck):
    """The chat template raises on the record (the template's own message)."""

    def check_record(self, rec, ctx):
        if self.model is None:
            return
        v = self._view(rec)
        if v.error is not None:
            where = f" ({v.error_branch} answer)" if v.error_branch else ""
            yield Finding(args={"error": v.error, "where": where, "model": self.model.name})


@kind("prompt-not-prefix")
class PromptNotPrefix(_TrainerCheck):
    """The rendered prompt (the conversation before the last answer, with the generation prompt)
    is not a prefix of the rendered conversation, in text or in tokens: prompt masking breaks."""

    def check_record(self, rec, ctx):
        if self.model is None:
            return
        from .. import chat

        for side in self._view(rec).sides:
            why = chat.prefix_problem(side)
            if why:
                yield Finding(pointer=_answer_pointer(side), args={"why": why, "model": self.model.name})
                return


def _answer_pointer(side, i: int | None = None) -> str:
    origin = side.conv.origin
    if not origin:
        return ""
    if i is None:
        msgs = side.conv.messages or []
        i = max((k for k, m in enumerate(msgs) if isinstance(m, dict) and m.get("role") == "assistant"), default=-1)
        if i < 0:
            return origin[-1] or ""
    return origin[i] if 0 <= i < len(origin) else ""


def _over(side, limit: int) -> bool:
    b = side.bound()
    return b is None or b > limit


@kind("answer-truncated")
class AnswerTruncated(_TrainerCheck):
    """Answer tokens past the sequence length: the trainer cuts them (and learns a cut-off answer)."""

    defaults = {"max-tokens": count(None, 1, "the sequence length in tokens (default: the target's or --max-seq-len)"), "fix-mode": "truncate"}

    def begin(self, ctx):
        super().begin(ctx)
        mode = self.p.get("fix-mode") or "truncate"
        if mode not in ("truncate", "drop"):
            from ..model.errors import RuleError

            raise RuleError(f"{self.rule.code}: fix-mode must be 'truncate' (at a turn boundary) or 'drop', got {mode!r}")
        self.mode = mode

    def check_record(self, rec, ctx):
        L = self.limit
        for side, spans in self._cut_sides(rec):
            if not spans or all(start >= L for _, start, _ in spans):
                continue  # nothing trainable survives: the no-trainable-tokens rule's
            lost = sum(max(0, end - max(start, L)) for _, start, end in spans)
            if lost <= 0:
                continue
            answer = sum(end - start for _, start, end in spans)
            first_cut = next(i for i, start, end in spans if end > L)
            yield Finding(pointer=_answer_pointer(side, first_cut),
                          args={"lost": thousands(lost), "answer": thousands(answer), "tokens": thousands(side.count()), "allowed": self.who,
                                "branch": f" ({side.conv.branch} answer)" if side.conv.branch else ""},
                          fix=self._fix(rec, side, spans, L))
            return

    def _fix(self, rec, side, spans, L):
        drop = FixOffer("drop the example", (Edit("drop"),))
        if self.mode == "drop" or side.conv.branch or not side.conv.origin:
            return drop
        keep = [i for i, start, end in spans if end <= L]
        if not keep:
            return drop
        last = keep[-1]
        m = _ITEM.match(side.conv.origin[last] or "")
        if m is None:
            return drop
        container, idx = m.group(1), int(m.group(2))
        for later in side.conv.origin[last + 1:]:  # everything cut must sit in the same list
            lm = _ITEM.match(later or "")
            if lm is None or lm.group(1) != container:
                return drop
        value = value_at(rec.obj, container)
        if not isinstance(value, list) or idx + 1 >= len(value):
            return drop
        return FixOffer(f"truncate after the last answer that fits ({container}/{idx})",
                   (Edit("set", container, value[:idx + 1]),))


@kind("no-trainable-tokens")
class NoTrainableTokens(_TrainerCheck):
    """Every answer starts at or past the sequence length: all trainable tokens are cut."""

    def check_record(self, rec, ctx):
        L = self.limit
        for side, spans in self._cut_sides(rec):
            if spans and all(start >= L for _, start, _ in spans):
                i, start, _ = spans[0]
                yield Finding(pointer=_answer_pointer(side, i),
                              args={"start": thousands(start), "allowed": self.who, "tokens": thousands(side.count()),
                                    "branch": f" ({side.conv.branch} answer)" if side.conv.branch else ""},
                              fix=FixOffer("drop the example", (Edit("drop"),)))
                return
