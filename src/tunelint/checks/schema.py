"""F kinds: JSON syntax, file-level problems, structural problems found by the normalizer."""
from __future__ import annotations

from collections import Counter

import orjson

from ..diagnostic import Edit

from ..formats import PROBLEMS, family
from ..reader import FILE_PROBLEMS, UNREADABLE
from .base import Check, DatasetCheck, FileProblemCheck, Finding, FixOffer, Param, ProblemCheck, UnparsedCheck, kind, share


@kind("json-syntax")
class JsonSyntax(UnparsedCheck):
    """A record candidate that is not valid JSON (after UTF-8 replacement)."""

    defaults: dict = {}

    def check_unparsed(self, chunk, data: bytes, err, ctx):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:  # E001 reports the bytes; report JSON errors beyond them
            try:
                orjson.loads(data.decode("utf-8", errors="replace"))
                return
            except orjson.JSONDecodeError as e2:
                err = e2
        reason = err.msg
        line_off, col = err.lineno - 1, err.colno
        if line_off == 0:
            col += chunk.column - 1
        hint = ""
        if data.lstrip().startswith((b"[", b"{")) and data.count(b"{") != data.count(b"}"):
            hint = " (unbalanced braces: is a record split across lines or two records on one line?)"
        elif b"'" in data.lstrip()[:2]:
            hint = " (JSON needs double quotes)"
        yield Finding(line=chunk.line + line_off, column=col, args={"reason": reason, "hint": hint},
                      fix=FixOffer("drop the unparseable record", (Edit("drop"),)))


@kind("file-problem")
class FileProblems(FileProblemCheck):
    """One diagnostic for a file that cannot be read as a dataset at all."""

    defaults = {"problem": Param("", (str, list), choices=FILE_PROBLEMS, items=str,
                                 doc="the reader's file problem id(s) this rule reports")}

    @property
    def halts_fix(self) -> bool:  # a file the reader cannot read is not fixed (its records would be lost)
        return bool(UNREADABLE.intersection(_as_list(self.p["problem"])))

    def check_file_problem(self, problem, ctx):
        if problem.kind in _as_list(self.p["problem"]):
            yield Finding(line=problem.line, column=problem.column, message=problem.detail)


def _as_list(v):
    return v if isinstance(v, list) else [v]


@kind("schema")
class Schema(ProblemCheck):
    """Structural problems collected while normalizing a record into turns."""

    defaults = {"problem": Param("", (str, list), choices=PROBLEMS, items=str,
                                 doc="the normalizer's problem id(s) this rule reports"),
                "chat-require-alternation": Param(False, doc="OpenAI chat records must alternate user and "
                                                  "assistant turns too (role-not-alternating)")}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.problems = set(_as_list(params["problem"]))

    def normalizer_options(self):
        return {"chat-require-alternation": True} if self.p.get("chat-require-alternation") else {}

    def check_problems(self, rec, ctx):
        for pr in rec.problems:
            if pr.problem in self.problems:
                fix = None
                if pr.repair is not None:  # the one clear repair the normalizer found
                    ptr, value = pr.repair
                    fix = FixOffer(f"set {ptr or 'the record'} to the repaired value", (Edit("set", ptr, value),))
                yield Finding(pointer=pr.pointer, message=pr.message, fix=fix)


@kind("mixed-formats")
class MixedFormats(DatasetCheck):
    """Reported once per file when its records are in more than one format."""

    defaults = {"min-share": share(0.0)}

    def begin(self, ctx):
        self.counts: Counter = Counter()
        self.first: dict[str, int] = {}

    def observe(self, rec, ctx):
        f = family(rec.detected, ctx.format)  # a prompt-only record of a prompt/completion file is one of them
        if f == "unknown":
            return
        self.counts[f] += 1
        self.first.setdefault(f, rec.line)

    def merge(self, other):
        self.counts.update(other.counts)
        for k, v in other.first.items():
            self.first[k] = min(v, self.first.get(k, v))

    def finish(self, ctx):
        if len(self.counts) < 2:
            return
        main, n_main = self.counts.most_common(1)[0]
        others = [(f, n) for f, n in self.counts.most_common() if f != main]
        first_other = min(self.first[f] for f, _ in others)
        parts = ", ".join(f"{f} ({n}, first at line {self.first[f]})" for f, n in others)
        yield Finding(
            line=first_other,
            message=f"file mixes record formats: {n_main} {main} records and {parts}; split the file or convert with `tunelint fix --to chat`",
            related=tuple(self.first[f] for f, _ in others),
        )


@kind("unused-ignore")
class UnusedIgnore(Check):
    """F040: reported by :mod:`tunelint.suppress` once every other finding of a file is known
    (an ignore-file entry that matched none of them); the engine's pass calls nothing here."""
