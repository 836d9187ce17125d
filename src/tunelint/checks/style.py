"""S kinds: style drift against the dataset's own norm.

Each kind keeps compact columns per answer turn (``array`` of small ints/floats, pointers and
categories interned) filled in ``observe`` from :mod:`tunelint.style_features` (computed once
per record for all S rules), and decides in ``finish`` with robust statistics: median and MAD
for numbers, shares for categories. Thresholds are conservative by default (a false alarm
costs trust) and every one is a rule parameter.
"""
from __future__ import annotations

import math
import re
from array import array

from ..style_features import SCRIPTS, answer_features, opener_match, system_text, text_key
from . import Check, Finding, kind

MAD_SCALE = 1.4826  # MAD of a normal distribution -> its standard deviation


def median(values) -> float:
    n = len(values)
    if n == 0:
        return float("nan")
    if n > 200_000:
        import numpy as np

        return float(np.median(np.asarray(values)))
    s = sorted(values)
    m = n // 2
    return float(s[m]) if n % 2 else (s[m - 1] + s[m]) / 2


def robust_center(values) -> tuple[float, float]:
    """(median, MAD scaled to a standard deviation)."""
    med = median(values)
    mad = median([abs(v - med) for v in values]) * MAD_SCALE
    return med, mad


def pct(x: float) -> str:
    if x >= 0.995 or x == 0:
        return f"{x:.0%}"
    if x >= 0.1:
        return f"{x:.0%}"
    if x >= 0.001:
        return f"{x:.1%}"
    return f"{x:.2%}" if x >= 0.0001 else "<0.01%"


class Interner:
    """Strings <-> small ints, mergeable."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.values: list[str] = []

    def __call__(self, s: str) -> int:
        i = self.ids.get(s)
        if i is None:
            i = self.ids[s] = len(self.values)
            self.values.append(s)
        return i

    def remap(self, other: "Interner") -> list[int]:
        return [self(v) for v in other.values]


class StyleCheck(Check):
    """Base: per-answer rows of (line, pointer) plus the columns a kind declares."""

    scope = "dataset"
    #: column name -> array typecode ("S" = interned string)
    columns: dict[str, str] = {}

    def begin(self, ctx):
        self.lines = array("Q")
        self.ptrs = array("I")
        self.strings = Interner()
        for name, code in self.columns.items():
            setattr(self, name, array("I" if code == "S" else code))

    def add(self, line: int, pointer: str) -> None:
        """Append a row's line and pointer; the kind appends its own columns right after."""
        self.lines.append(line)
        i = self.strings.ids.get(pointer)
        self.ptrs.append(self.strings(pointer) if i is None else i)

    def merge(self, other):
        remap = self.strings.remap(other.strings)
        self.lines.extend(other.lines)
        self.ptrs.extend(remap[i] for i in other.ptrs)
        for name, code in self.columns.items():
            col = getattr(other, name)
            getattr(self, name).extend((remap[i] for i in col) if code == "S" else col)

    def s(self, i: int) -> str:
        return self.strings.values[i]

    def enough(self) -> bool:
        return len(self.lines) >= self.p["min-records"]


def _prompt_text(rec, before=None) -> str:
    parts = []
    for t in rec.turns:
        if t is before:
            break
        if t.kind in ("prompt", "input", "system") and t.text:
            parts.append(t.text)
    return "\n".join(parts)


@kind("length-outlier")
class LengthOutlier(StyleCheck):
    """An answer far longer (or, optionally, shorter) than the dataset's answers, on a log scale."""

    defaults = {"min-records": 50, "z": 6.0, "min-ratio": 10.0, "min-words": 50, "short": False}
    columns = {"words": "I"}

    def observe(self, rec, ctx):
        for t, f in answer_features(rec):
            self.add(rec.line, t.pointer)
            self.words.append(f["words"])

    def finish(self, ctx):
        if not self.enough():
            return
        logs = [math.log1p(w) for w in self.words]
        med, sd = robust_center(logs)
        med_words = median(self.words)
        s = sorted(self.words)
        p95 = s[min(len(s) - 1, int(len(s) * 0.95))]
        sd = max(sd, 0.25)  # a dataset of near-identical lengths must not make every answer an outlier
        for i, w in enumerate(self.words):
            z = (logs[i] - med) / sd
            long_ = z >= self.p["z"] and w >= self.p["min-words"] and w >= self.p["min-ratio"] * max(med_words, 1)
            short = self.p["short"] and z <= -self.p["z"] and w * self.p["min-ratio"] <= med_words
            if long_ or short:
                yield Finding(line=self.lines[i], pointer=self.s(self.ptrs[i]),
                              args={"words": f"{w:,}", "median": f"{med_words:,.0f}", "p95": f"{p95:,}",
                                    "ratio": f"{w / max(med_words, 1):,.0f}", "direction": "long" if long_ else "short"})


_CODE_CHARS = re.compile(r"[_=<>{}`;*\\]")


def _prose(text: str, words: int) -> bool:
    """Sentences rather than code (SQL is all capitals) or a comma-separated list of terms."""
    return _CODE_CHARS.search(text) is None and text.count(",") * 4 <= words


_UPPER_EXEMPT = re.compile(r"upper ?case|capital|all caps|caps lock|shout", re.I)


@kind("uppercase-outlier")
class UppercaseOutlier(StyleCheck):
    """An answer written mostly in capitals while the dataset's answers are not."""

    defaults = {"min-records": 50, "z": 6.0, "min-ratio": 0.8, "min-letters": 40, "min-words": 8,
                "min-word-length": 3.5, "exempt-prompt": _UPPER_EXEMPT.pattern}
    columns = {"upper": "f"}

    def begin(self, ctx):
        super().begin(ctx)
        self.cand = array("Q")  # positions (in the columns) of candidate answers
        self.exempt = re.compile(self.p["exempt-prompt"], re.I) if self.p["exempt-prompt"] else None

    def observe(self, rec, ctx):
        p = self.p
        for t, f in answer_features(rec):
            if f["letters"] < p["min-letters"]:
                continue
            self.add(rec.line, t.pointer)
            self.upper.append(f["upper"])
            if (f["upper"] >= p["min-ratio"] and f["words"] >= p["min-words"]
                    and f["letters"] / f["words"] >= p["min-word-length"]
                    and _prose(t.text, f["words"])
                    and not (self.exempt and self.exempt.search(_prompt_text(rec, t)))):
                self.cand.append(len(self.lines) - 1)

    def merge(self, other):
        base = len(self.lines)
        super().merge(other)
        self.cand.extend(base + i for i in other.cand)

    def finish(self, ctx):
        if not self.cand or not self.enough():
            return
        med, sd = robust_center(self.upper)
        sd = max(sd, 0.01)
        for i in self.cand:
            u = self.upper[i]
            if (u - med) / sd >= self.p["z"]:
                yield Finding(line=self.lines[i], pointer=self.s(self.ptrs[i]),
                              args={"ratio": pct(u), "median": pct(med)})


class CategoryCheck(StyleCheck):
    """Shares of a categorical feature; flags rows in a minority category."""

    def minority(self, count: int, total: int) -> bool:
        """At most ``max-share`` of the rows, or a single row (one record is never a style)."""
        return count == 1 or count / total <= self.p["max-share"]

    def shares(self, col, keep=None):
        from collections import Counter

        c = Counter(col if keep is None else (v for v in col if keep(v)))
        return c, sum(c.values())


@kind("boilerplate-opener")
class BoilerplateOpener(CategoryCheck):
    """An answer opening with a stock phrase ("Sure!", "As an AI language model") that the
    dataset's answers rarely use."""

    defaults = {"min-records": 50, "max-share": 0.02, "openers": []}
    columns = {"opener": "S", "snippet": "S"}

    def observe(self, rec, ctx):
        for t, f in answer_features(rec):
            o = f["opener"]
            snip = ""
            if o != "none":
                txt = t.text.lstrip()
                m = opener_match(txt)
                end = m.end() if m else 0
                end += re.match(r"[\w']*[!,.:]?", txt[end:]).end()
                snip = txt[:min(end, 60)]
            self.add(rec.line, t.pointer)
            self.opener.append(self.strings(o))
            self.snippet.append(self.strings(snip))

    def finish(self, ctx):
        if not self.enough():
            return
        only = set(self.p["openers"] or ())
        none = self.strings("none")
        counts, total = self.shares(self.opener)
        for i, o in enumerate(self.opener):
            if o == none or not self.minority(counts[o], total):
                continue
            name = self.s(o)
            if only and name not in only:
                continue
            yield Finding(line=self.lines[i], pointer=self.s(self.ptrs[i]),
                          args={"opener": self.s(self.snippet[i]), "category": name, "category_text": OPENER_TEXT.get(name, name), "count": f"{counts[o]:,}",
                                "total": f"{total:,}", "share": pct(counts[o] / total)})


OPENER_TEXT = {"as-an-ai": "an 'as an AI' disclaimer", "refusal": "an apology or refusal", "affirmation": "an affirmation like this",
               "praise": "praise for the question", "offer": "an offer to help"}

ORDERED = ("1.", "1)")


@kind("list-marker-drift")
class ListMarkerDrift(CategoryCheck):
    """An answer whose list markers ('*' bullets, '1)' numbers) differ from the markers most
    of the dataset's lists use."""

    defaults = {"min-records": 50, "min-lists": 20, "min-norm-share": 0.8, "max-share": 0.05}
    columns = {"marker": "S"}

    def observe(self, rec, ctx):
        for t, f in answer_features(rec):
            if f["list_style"] != "none":
                self.add(rec.line, t.pointer)
                self.marker.append(self.strings(f["list_style"]))

    def enough(self) -> bool:
        return len(self.lines) >= self.p["min-lists"]

    def finish(self, ctx):
        if not self.enough():
            return
        for ordered in (True, False):
            ids = {self.strings(m) for m in ORDERED}
            counts, total = self.shares(self.marker, (lambda v: v in ids) if ordered else (lambda v: v not in ids))
            if total < self.p["min-lists"]:
                continue
            norm, n = counts.most_common(1)[0]
            if n / total < self.p["min-norm-share"]:
                continue
            for i, m in enumerate(self.marker):
                if m in counts and m != norm and self.minority(counts[m], total):
                    yield Finding(line=self.lines[i], pointer=self.s(self.ptrs[i]),
                                  args={"marker": self.s(m), "norm": self.s(norm), "count": f"{n:,}", "total": f"{total:,}",
                                        "kind": "numbered" if ordered else "bullet", "share": pct(n / total)})


@kind("system-prompt-variant")
class SystemPromptVariant(CategoryCheck):
    """A record whose system prompt differs from the one (or the absence of one) shared by
    nearly all records."""

    defaults = {"min-records": 20, "min-norm-share": 0.9, "max-share": 0.05}
    columns = {"key": "Q"}

    def observe(self, rec, ctx):
        txt = system_text(rec)
        ptr = ""
        if txt is not None:
            ptr = next(t.pointer for t in rec.turns if t.kind == "system" and t.text is not None)
        self.add(rec.line, ptr)
        self.key.append(text_key(txt))

    def finish(self, ctx):
        if not self.enough():
            return
        counts, total = self.shares(self.key)
        norm, n = counts.most_common(1)[0]
        if n / total < self.p["min-norm-share"] or n == total:
            return
        first_norm = next(self.lines[i] for i, k in enumerate(self.key) if k == norm)
        for i, k in enumerate(self.key):
            if k == norm or not self.minority(counts[k], total):
                continue
            if norm == 0:
                msg = f"record has a system prompt; {n:,} of {total:,} records have none"
            elif k == 0:
                msg = f"record has no system prompt; {n:,} of {total:,} records use the same one (as on line {first_norm})"
            else:
                msg = f"system prompt differs from the one used by {n:,} of {total:,} records (as on line {first_norm})"
            if counts[k] > 1:
                msg += f"; this variant appears in {counts[k]:,} records"
            yield Finding(line=self.lines[i], pointer=self.s(self.ptrs[i]), message=msg,
                          related=(first_norm,), args={"norm": n, "total": total})


LANGUAGES = {
    "Han": "chinese|mandarin|cantonese|中文", "Japanese": "japanese|日本語", "Hangul": "korean|한국어",
    "Cyrillic": "russian|ukrainian|bulgarian|serbian|belarusian|kazakh|macedonian|mongolian",
    "Arabic": "arabic|persian|farsi|urdu|pashto", "Hebrew": "hebrew|yiddish", "Greek": "greek",
    "Devanagari": "hindi|sanskrit|marathi|nepali", "Thai": "thai",
    "Latin": "english|french|spanish|german|italian|portuguese|latin|pinyin|romaji|romani[sz]|transliterat|英文|英语",
}


_LANG_RX = {sc: re.compile("translat|翻译|翻訳|" + langs) for sc, langs in LANGUAGES.items()}
_LANG_RX.update({sc: re.compile("translat|翻译|翻訳") for sc, _ in SCRIPTS if sc not in _LANG_RX})


def _prompt_ascii(rec, before) -> bool:
    for t in rec.turns:
        if t is before:
            break
        if t.text and not t.text.isascii():
            return False
    return True


@kind("script-outlier")
class ScriptOutlier(CategoryCheck):
    """An answer in a writing system that almost no other answer of the dataset uses."""

    defaults = {"min-records": 50, "min-norm-share": 0.95, "max-share": 0.01, "exempt-translation": True}
    columns = {"script": "S", "exempt": "B"}

    def observe(self, rec, ctx):
        for t, f in answer_features(rec):
            sc = f["script"]
            if sc == "none":
                continue
            ex = 0
            # a prompt asking for a translation (or naming the answer's language) explains it;
            # an ASCII prompt with a Latin answer never needs the (slower) check
            if self.p["exempt-translation"] and (sc != "Latin" or not _prompt_ascii(rec, t)):
                ex = int(_LANG_RX[sc].search(_prompt_text(rec, t).lower()) is not None)
            self.add(rec.line, t.pointer)
            self.script.append(self.strings(sc))
            self.exempt.append(ex)

    def finish(self, ctx):
        if not self.enough():
            return
        counts, total = self.shares(self.script)
        norm, n = counts.most_common(1)[0]
        if n / total < self.p["min-norm-share"]:
            return
        for i, sc in enumerate(self.script):
            if sc == norm or self.exempt[i] or not self.minority(counts[sc], total):
                continue
            yield Finding(line=self.lines[i], pointer=self.s(self.ptrs[i]),
                          args={"script": self.s(sc), "norm": self.s(norm), "share": pct(n / total),
                                "count": f"{n:,}", "total": f"{total:,}", "others": f"{counts[sc]:,}"})


_TERMINAL = frozenset(".!?。！？)]}\"'”’»`*_|>")
# lowercase English words a sentence cannot end with (articles, conjunctions, possessives, "of");
# prepositions ("strive for", "connect with") and pronouns can end a sentence, so they are not here
DANGLING = frozenset("""a an the and or but nor of its their your our my whose because although though
whether than very such as""".split())


@kind("unfinished-answer")
class UnfinishedAnswer(StyleCheck):
    """A long answer that stops mid-sentence (on a comma or on a word like 'the' or 'and')
    while the dataset's long answers end with terminal punctuation."""

    defaults = {"min-records": 50, "min-words": 20, "min-norm-share": 0.8, "min-last-line-words": 5}
    columns = {"state": "B", "tail": "S"}  # state: 0 = ends cleanly, 1 = other, 2 = cut off

    def begin(self, ctx):
        super().begin(ctx)
        self.seen = 0  # answers of any length (min-records counts these)

    def merge(self, other):
        super().merge(other)
        self.seen += other.seen

    def observe(self, rec, ctx):
        p = self.p
        for t, f in answer_features(rec):
            self.seen += 1
            if f["words"] < p["min-words"]:
                continue
            text = t.text.rstrip()
            c = text[-1]
            state, tail = 1, ""
            if c in _TERMINAL or text.endswith("```"):
                state = 0
            elif c in ",，、":
                last_line = text.rsplit("\n", 1)[-1]
                if len(last_line.split()) >= p["min-last-line-words"]:  # not a letter's "Sincerely,"
                    state = 2
            elif c.isalpha() and f["script"] == "Latin":
                last = text.rsplit(None, 1)[-1]
                if last in DANGLING and len(text.rsplit("\n", 1)[-1].split()) >= p["min-last-line-words"]:
                    state = 2
            if state == 2:
                tail = text[-40:].rsplit("\n", 1)[-1]
            self.add(rec.line, t.pointer)
            self.state.append(state)
            self.tail.append(self.strings(tail))

    def finish(self, ctx):
        if self.seen < self.p["min-records"] or not self.state:
            return
        clean = self.state.count(0)
        total = len(self.state)
        if clean / total < self.p["min-norm-share"]:
            return
        for i, st in enumerate(self.state):
            if st == 2:
                yield Finding(line=self.lines[i], pointer=self.s(self.ptrs[i]),
                              args={"tail": "…" + self.s(self.tail[i]).lstrip(), "clean": f"{clean:,}", "total": f"{total:,}",
                                    "share": pct(clean / total)})
