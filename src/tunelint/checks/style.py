"""S kinds: style drift against the dataset's own norm.

All the S rules of a file share one table of compact columns per answer turn (``array`` of
small ints/floats, pointers and categories interned; ``_Answers``), filled once per record from
:mod:`tunelint.style_features` by the first S rule and merged once for ``--jobs``; each rule
picks its rows and applies its parameters in ``finish``, with robust statistics: median and
MAD for numbers, shares for categories. Thresholds are conservative by default (a false alarm
costs trust) and every one is a rule parameter.
"""
from __future__ import annotations

import math
import re
from array import array

from ..style_features import SCRIPTS, answer_features, opener_match, system_text, text_key
from ..patterns import compile_rule_pattern
from ..spill import pool as spill_pool
from .base import DatasetCheck, Finding, count, kind, number, share, strings

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
    if len(values) > 200_000:  # the same figures without a list of n floats
        import numpy as np

        return med, float(np.median(np.abs(np.asarray(values, dtype=np.float64) - med))) * MAD_SCALE
    mad = median([abs(v - med) for v in values]) * MAD_SCALE
    return med, mad


def kth_smallest(values, k: int):
    """``sorted(values)[k]`` (numpy's partition for a long column)."""
    if len(values) > 200_000:
        import numpy as np

        return np.partition(np.asarray(values), k)[k].item()
    return sorted(values)[k]


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


_END_CLEAN, _END_OTHER, _END_COMMA, _END_DANGLING = 0, 1, 2, 3


class _Answers:
    """The style columns of every answer turn (and the system prompt of every record) for all
    the S rules of a file: filled once per record by the first of them (the owner), merged
    once for ``--jobs``. Each rule reads its rows in ``finish`` (:meth:`StyleCheck.view`).
    Columns that only some kinds need are filled only when such a rule runs; what depends on a
    rule's parameters is decided in ``finish``, except the rare per-rule candidates
    (``cands``), which need the texts."""

    def __init__(self, owner: "StyleCheck"):
        col = spill_pool().column  # columns spill to disk past the run's memory budget
        self.owner = owner
        self.rules: list[StyleCheck] = []
        self.strings = Interner()
        self.lines = col("Q")
        self.ptrs = col("I")
        self.words = col("I")
        self.letters = col("I")
        self.upper = col("f")
        self.opener = col("I")
        self.snippet = col("I")
        self.list_style = col("I")
        self.script = col("I")
        self.named = col("B")  # the prompt names the answer's script or asks for a translation
        self.end = col("B")  # _END_*: how the answer ends
        self.last_line = col("I")  # words on the last line (for comma/dangling endings)
        self.tail = col("I")
        self.rlines = col("Q")  # per record: line, system prompt pointer and key
        self.rptrs = col("I")
        self.syskey = col("Q")
        self.viewer: StyleCheck | None = None  # the rule whose view (finish) is loaded
        self.cands: list[array] = []  # per rule (same order as ``rules``): candidate rows
        self._rows: list[tuple] = []  # rows not yet in the columns (see ``pack``)
        self.strings("")  # id 0: no snippet, no tail

    def add_rule(self, rule: "StyleCheck") -> None:
        self.rules.append(rule)
        self.cands.append(array("Q"))
        kinds = {r.kind_name for r in self.rules}
        self.snippets = "boilerplate-opener" in kinds
        self.ends = "unfinished-answer" in kinds
        self.systems = "system-prompt-variant" in kinds
        self.translations = any(r.kind_name == "script-outlier" and r.p["exempt-translation"] for r in self.rules)
        self.hooks = [(i, r) for i, r in enumerate(self.rules) if type(r).candidate is not StyleCheck.candidate]

    _COLS = ("lines", "ptrs", "words", "letters", "upper", "opener", "snippet", "list_style", "script", "named",
             "end", "last_line", "tail")  # one answer row, in the order of ``observe``'s tuples
    _INTERNED = frozenset({"ptrs", "opener", "snippet", "list_style", "script", "tail", "rptrs"})

    def observe(self, rec) -> None:
        strings = self.strings
        line = rec.line
        rows = self._rows
        for t, f in answer_features(rec):
            o = f["opener"]
            snip = 0
            if o != "none" and self.snippets:
                txt = t.text.lstrip()
                m = opener_match(txt)
                end = m.end() if m else 0
                end += re.match(r"[\w']*[!,.:]?", txt[end:]).end()
                snip = strings(txt[:min(end, 60)])
            sc = f["script"]
            named = 0
            # a prompt asking for a translation (or naming the answer's language) explains it;
            # an ASCII prompt with a Latin answer never needs the (slower) check
            if self.translations and sc != "none" and (sc != "Latin" or not _prompt_ascii(rec, t)):
                named = int(_LANG_RX[sc].search(_prompt_text(rec, t).lower()) is not None)
            end, last_line, tail = _END_OTHER, 0, 0
            if self.ends:
                end, last_line, tail = _ending(t.text.rstrip(), sc)
                tail = strings(tail) if tail else 0
            if self.hooks:
                row = len(self.lines) + len(rows)
                for i, r in self.hooks:
                    if r.candidate(rec, t, f):
                        self.cands[i].append(row)
            rows.append((line, strings(t.pointer), f["words"], f["letters"], f["upper"], strings(o), snip,
                         strings(f["list_style"]), strings(sc), named, end, last_line, tail))
        if len(rows) >= 4096:
            self.pack()
        if self.systems:
            txt = system_text(rec)
            ptr = ""
            if txt is not None:
                ptr = next(t.pointer for t in rec.turns if t.kind == "system" and t.text is not None)
            self.rlines.append(line)
            self.rptrs.append(strings(ptr))
            self.syskey.append(text_key(txt))

    def load_view(self, rule: "StyleCheck") -> None:
        """``rule`` is about to load its view: the previous rule's is dropped."""
        if self.viewer is not None and self.viewer is not rule:
            self.viewer.drop_view()
        self.viewer = rule

    def pack(self) -> None:
        """Move the rows gathered as tuples (one append per answer) into the column arrays."""
        if self._rows:
            for name, col in zip(self._COLS, zip(*self._rows)):
                getattr(self, name).extend(col)
            self._rows = []

    def __getstate__(self):
        self.pack()
        return self.__dict__

    def extend(self, other: "_Answers") -> None:
        self.pack()
        other.pack()
        remap = self.strings.remap(other.strings)
        base = len(self.lines)
        for name in self._COLS + ("rlines", "rptrs", "syskey"):
            getattr(self, name).extend_from(getattr(other, name), remap if name in self._INTERNED else None)
        for mine, theirs in zip(self.cands, other.cands):
            mine.extend(base + i for i in theirs)


def _ending(text: str, script: str) -> tuple[int, int, str]:
    """How an answer ends (_END_*), the words on its last line and its tail (for a comma or a
    dangling word)."""
    if not text:
        return _END_OTHER, 0, ""
    c = text[-1]
    if c in _TERMINAL or text.endswith("```"):
        return _END_CLEAN, 0, ""
    if c in ",，、":
        end = _END_COMMA
    elif c.isalpha() and script == "Latin" and text.rsplit(None, 1)[-1] in DANGLING:
        end = _END_DANGLING
    else:
        return _END_OTHER, 0, ""
    return end, len(text.rsplit("\n", 1)[-1].split()), text[-40:].rsplit("\n", 1)[-1]


class StyleCheck(DatasetCheck):
    """Base: the rule's rows of the shared answer table (``rows``) and the columns a kind
    declares, read in ``finish`` (``view``): ``lines``, ``ptrs`` and ``columns`` as arrays."""

    #: column name -> column of the shared table
    columns: dict[str, str] = {}

    def begin(self, ctx):
        # one table per set of formats the rules apply to (the owner sees those records only)
        tab = ctx.shared(("answers", frozenset(self.rule.formats or ())), lambda: _Answers(self))
        tab.add_rule(self)
        self.table = tab
        self.passive = tab.owner is not self  # the engine need not call observe

    def observe(self, rec, ctx):
        if self.table.owner is self:
            self.table.observe(rec)

    def settle(self) -> None:
        if self.table.owner is self:
            self.table.pack()

    def merge(self, other):
        if self.table.owner is self:
            self.table.extend(other.table)

    def candidate(self, rec, t, f) -> bool:
        """A kind that needs the texts to decide marks its candidate rows here (rarely true)."""
        return False

    def rows(self, tab) -> list[int] | None:
        """The table rows this rule looks at (None = every answer)."""
        return None

    def view(self) -> "array | None":
        """Load this rule's rows of the table (as arrays: ``lines``, ``ptrs`` and ``columns``);
        the previous rule's view is dropped first (one rule's view in memory at a time)."""
        tab = self.table
        tab.pack()
        tab.load_view(self)
        self.strings = tab.strings
        rows = self.rows(tab)
        if rows is None:
            self.lines, self.ptrs = tab.lines.array(), tab.ptrs.array()
            for name, col in self.columns.items():
                setattr(self, name, getattr(tab, col).array())
        else:
            def take(col):
                a = col.array()
                return array(a.typecode, map(a.__getitem__, rows))

            self.lines = take(tab.lines)
            self.ptrs = take(tab.ptrs)
            for name, col in self.columns.items():
                setattr(self, name, take(getattr(tab, col)))
        return rows

    _VIEW = ("lines", "ptrs", "key", "cand", "state", "exempt")  # what a view (and a finish) leaves behind

    def drop_view(self) -> None:
        for name in self._VIEW + tuple(self.columns):
            self.__dict__.pop(name, None)

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

    defaults = {"min-records": count(50), "z": number(6.0), "min-ratio": number(10.0), "min-words": count(50), "short": False,
                "max-ratio": number(0), "max-ratio-min-median": number(5)}
    columns = {"words": "words"}

    def finish(self, ctx):
        self.view()
        if not self.enough():
            return
        logs = array("d", map(math.log1p, self.words))
        med, sd = robust_center(logs)
        med_words = median(self.words)
        n = len(self.words)
        p95 = kth_smallest(self.words, min(n - 1, int(n * 0.95)))
        sd = max(sd, 0.25)  # a dataset of near-identical lengths must not make every answer an outlier
        for i, w in enumerate(self.words):
            z = (logs[i] - med) / sd
            long_ = w >= self.p["min-words"] and (w >= self.p["min-ratio"] * max(med_words, 1) and z >= self.p["z"]
                                                  or med_words >= self.p["max-ratio-min-median"]
                                                  and 0 < self.p["max-ratio"] * med_words <= w)
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

    defaults = {"min-records": count(50), "z": number(6.0), "min-ratio": number(0.8), "min-letters": count(40), "min-words": count(8),
                "min-word-length": number(3.5), "exempt-prompt": _UPPER_EXEMPT.pattern}
    columns = {"upper": "upper"}

    def begin(self, ctx):
        self.exempt = compile_rule_pattern(self.rule, self.p["exempt-prompt"], re.I) if self.p["exempt-prompt"] else None
        super().begin(ctx)

    def candidate(self, rec, t, f) -> bool:
        p = self.p
        return (f["letters"] >= p["min-letters"] and f["upper"] >= p["min-ratio"] and f["words"] >= p["min-words"]
                and f["letters"] / f["words"] >= p["min-word-length"]
                and _prose(t.text, f["words"])
                and not (self.exempt and self.exempt.search(_prompt_text(rec, t))))

    def rows(self, tab):
        ml = self.p["min-letters"]
        return array("Q", (i for i, n in enumerate(tab.letters) if n >= ml))

    def finish(self, ctx):
        from bisect import bisect_left

        rows = self.view()  # ascending: a candidate row's position in the view is found by bisection
        self.cand = [bisect_left(rows, r) for r in self.table.cands[self.table.rules.index(self)]]
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

    defaults = {"min-records": count(50), "max-share": share(0.02), "openers": strings()}
    columns = {"opener": "opener", "snippet": "snippet"}

    def finish(self, ctx):
        self.view()
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

    defaults = {"min-records": count(50), "min-lists": count(20), "min-norm-share": share(0.8), "max-share": share(0.05)}
    columns = {"marker": "list_style"}

    def rows(self, tab):
        none = tab.strings("none")
        return array("Q", (i for i, m in enumerate(tab.list_style) if m != none))

    def enough(self) -> bool:
        return len(self.lines) >= self.p["min-lists"]

    def finish(self, ctx):
        self.view()
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

    defaults = {"min-records": count(20), "min-norm-share": share(0.9), "max-share": share(0.05)}
    def view(self):
        tab = self.table
        tab.pack()
        tab.load_view(self)
        self.strings = tab.strings
        self.lines, self.ptrs, self.key = tab.rlines.array(), tab.rptrs.array(), tab.syskey.array()  # one row per record
        return None

    def finish(self, ctx):
        self.view()
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

    defaults = {"min-records": count(50), "min-norm-share": share(0.95), "max-share": share(0.01), "exempt-translation": True}
    columns = {"script": "script", "exempt": "named"}

    def rows(self, tab):
        none = tab.strings("none")
        return array("Q", (i for i, sc in enumerate(tab.script) if sc != none))

    def finish(self, ctx):
        self.view()
        if not self.p["exempt-translation"]:
            self.exempt = [0] * len(self.lines)
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

    defaults = {"min-records": count(50), "min-words": count(20), "min-norm-share": share(0.8), "min-last-line-words": count(5)}
    columns = {"tail": "tail"}

    def rows(self, tab):
        mw = self.p["min-words"]
        return array("Q", (i for i, n in enumerate(tab.words) if n >= mw))

    def finish(self, ctx):
        rows = self.view()
        tab = self.table
        self.seen = len(tab.lines)  # answers of any length (min-records counts these)
        mll = self.p["min-last-line-words"]  # a letter's "Sincerely," is not cut off
        self.state = []  # 0 = ends cleanly, 1 = other, 2 = cut off
        ends, last_line = tab.end.array(), tab.last_line.array()
        for i in rows:
            e = ends[i]
            self.state.append(0 if e == _END_CLEAN else 2 if e != _END_OTHER and last_line[i] >= mll else 1)
        none = self.strings("")
        self.tail = [t if st == 2 else none for t, st in zip(self.tail, self.state)]
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
