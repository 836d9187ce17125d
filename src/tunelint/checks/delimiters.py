"""P kinds: prompt/completion delimiters and leaked template markers.

Legacy prompt/completion fine-tuning relies on two conventions: a separator that ends every
prompt (``\\n\\n###\\n\\n``) and a stop sequence that ends every completion (``\\n``, `` END``),
plus a leading space on completions. As OpenAI's legacy ``prepare_data`` validator did, the
conventions are inferred from the data (here: the *dominant* common suffix, so that a few
records missing it are reported instead of hiding the convention) unless given as params.

State is compact: the last ``suffix-chars`` characters of each text (UTF-8 in one
bytearray with an offsets array), line numbers, and the full texts only of the first
``sample`` records (to settle the convention) and of outliers (for fixes), both capped.
"""
from __future__ import annotations

from array import array
from collections import Counter
from itertools import compress, repeat
from operator import itemgetter

from ..diagnostic import Edit
from .base import DatasetCheck, Finding, FixOffer, Param, TurnCheck, count, kind, share, strings

OUTLIER_TEXTS = 10_000
_CONTENT_EDGE = ".?!,;:'\")]"


def show(s: str) -> str:
    return repr(s)[1:-1]


def infer_suffix(suffixes, min_share: float, keep: float = 0.98) -> tuple[str, float]:
    """The dominant common suffix of ``suffixes`` and its share ("" when there is none).

    Start from the most common last character and extend one character at a time while
    (almost: ``keep``) every text ending with the current suffix also ends with the longer one.
    """
    texts = [s for s in suffixes if s]
    if not texts:
        return "", 0.0
    c1 = Counter(map(itemgetter(-1), texts)).most_common(1)[0]
    cur, cnt = c1[0], c1[1]
    group = list(compress(texts, map(str.endswith, texts, repeat(cur))))
    maxlen = max(map(len, texts))
    for ln in range(2, maxlen + 1):
        # the mode of a sample, counted exactly over the group (C loops): when it ends (almost)
        # every text it is the group's mode; otherwise count every suffix as the rule says
        m = max(1024, len(group) // 16)
        c = Counter(s[-ln:] for s in group[:m] if len(s) >= ln)
        cand, cs = c.most_common(1)[0] if c else (None, 0)
        if cs + max(0, len(group) - m) < keep * cnt:
            break  # no suffix can reach ``keep`` even if every text outside the sample had it
        k = sum(map(str.endswith, group, repeat(cand))) if cand is not None else 0
        if k < keep * cnt:
            c = Counter(s[-ln:] for s in group if len(s) >= ln)
            if not c:
                break
            cand, k = c.most_common(1)[0]
            if k < keep * cnt:
                break
        cur, cnt = cand, k
        group = list(compress(group, map(str.endswith, group, repeat(cur))))
    return settle_suffix(texts, cur, cnt, min_share)


def settle_suffix(texts: list[str], cur: str, cnt: int, min_share: float) -> tuple[str, float]:
    """The convention from the longest dominant suffix ``cur`` (ending ``cnt`` of the non-empty
    ``texts``): content punctuation in front of it dropped, too rare or a lone visible
    character is none."""
    # sentence punctuation shared by the prompts ("?" before "\n\n###\n\n") is content
    trimmed = cur.lstrip(_CONTENT_EDGE)
    if trimmed and trimmed != cur and trimmed[0].isspace():
        cur = trimmed
        cnt = sum(1 for s in texts if s.endswith(cur))
    share = cnt / len(texts)
    if share < min_share or (len(cur) == 1 and not cur.isspace()):
        return "", share
    return cur, share


def candidates(prov: str) -> tuple[str, ...]:
    """``prov`` and its suffixes that start at the start or the end of a whitespace run:
    what the whole file's convention may turn out to be when ``prov`` was settled on a
    (more uniform) sample."""
    out = [prov]
    for i in range(1, len(prov)):
        if prov[i].isspace() != prov[i - 1].isspace():
            out.append(prov[i:])
    short = [c for c in out[1:] if len(c) >= 3][-11:]  # "\n" or "\n\n" alone would be noise
    return tuple(sorted(set([prov] + short), key=len, reverse=True))


class _SuffixColumn:
    """The last ``k`` characters of every text of one field, shared by the rules that infer
    the same convention (P001/P002 on prompts, P003/P004 on completions): stored and decoded
    once, and the inference is memoized."""

    def __init__(self, owner, k: int):
        self.owner = owner  # the rule instance that feeds (and merges) the column
        self.k = k
        self.suf = bytearray()
        self.ends = array("Q")
        self.lines = array("Q")
        self._decoded: list[str] | None = None
        self._inferred: dict[tuple, tuple[str, float]] = {}

    def add(self, text: str, line: int) -> None:
        self.suf += text[-self.k:].encode("utf-8", "surrogatepass")
        self.ends.append(len(self.suf))
        self.lines.append(line)

    def extend(self, other: "_SuffixColumn") -> None:
        base = len(self.suf)
        self.suf += other.suf
        self.ends.extend(e + base for e in other.ends)
        self.lines.extend(other.lines)
        self._decoded = None
        self._inferred.clear()

    def suffixes(self) -> list[str]:
        if self._decoded is None or len(self._decoded) != len(self.ends):
            out = []
            start = 0
            mv = self.suf
            for e in self.ends:
                out.append(mv[start:e].decode("utf-8", "surrogatepass"))
                start = e
            self._decoded = out
        return self._decoded

    def infer(self, min_share: float) -> tuple[str, float]:
        key = (len(self.ends), min_share)
        r = self._inferred.get(key)
        if r is None:
            r = self._inferred[key] = infer_suffix(self.suffixes(), min_share)
        return r


@kind("pc-suffix")
class PcSuffix(DatasetCheck):
    """Separator (``field: prompt``) or stop sequence (``field: completion``) of legacy data.

    ``check: missing`` reports texts that do not end with it; ``check: inside`` reports texts
    that contain it before their end. ``separator``/``stop`` fix the convention instead of
    inferring it; ``min-share`` is the share of texts that must end with the inferred one.

    The inferred convention is settled on the first ``sample`` texts (kept until then);
    later texts are checked as they stream against it and against its shorter candidate
    forms, and ``finish`` uses the whole file's convention. Should the whole file's
    convention be none of those (a sample unlike the rest), ``inside`` reports nothing.
    """

    defaults = {"field": Param("prompt", choices=("prompt", "completion")),
                "check": Param("missing", choices=("missing", "inside")),
                "separator": Param(None, str, doc="the separator prompts must end with (default: inferred)"),
                "stop": Param(None, str, doc="the stop sequence completions must end with (default: inferred)"),
                "min-share": share(0.9), "suffix-chars": count(24, 1), "sample": count(2000, 1)}

    def begin(self, ctx):
        f = self.p["field"]
        self.field = f
        self.inside_mode = self.p["check"] == "inside"
        self.pointer = "/" + f
        self.what = "separator" if f == "prompt" else "stop sequence"
        self.plural = "prompts" if f == "prompt" else "completions"
        explicit = self.p["separator"] if f == "prompt" else self.p["stop"]
        self.explicit = explicit or None
        self.col = None
        if explicit is None:
            n = self.p["suffix-chars"]
            self.col = ctx.shared(("pc-suffix", f, n), lambda: _SuffixColumn(self, n))
        self.buffer: list[tuple[int, str, str]] = []  # (line, text, hash) until the convention is settled
        self.prov: str | None = None  # the convention used while streaming ("" = none in the sample)
        self.cands: tuple[str, ...] = ()
        self.common: set[str] | None = None  # candidates every streamed part tracked (None: no part streamed)
        self.out_lines = array("Q")  # records not ending with prov (once settled)
        self.out_texts: dict[int, tuple[str, str]] = {}
        self.inside: dict[str, list[tuple[int, int, str]]] = {}  # candidate -> (line, offset, hash)
        self.n = 0
        self.n_out = 0  # texts not ending with prov (counted in both modes)
        if self.explicit is not None:
            self._settle(self.explicit)

    def _settle(self, prov: str) -> None:
        self.prov = prov
        self.cands = (prov,) if self.explicit is not None else candidates(prov) if prov else ()
        self.common = set(self.cands)

    def _text(self, rec):
        obj = rec.obj
        if not isinstance(obj, dict):
            return None
        t = obj.get(self.field)
        return t if isinstance(t, str) and t else None

    def observe(self, rec, ctx):
        text = self._text(rec)
        if text is None:
            return
        self.n += 1
        col = self.col
        if col is not None and col.owner is self:
            col.add(text, rec.line)
        if self.prov is None:
            self.buffer.append((rec.line, text, rec.hash))
            if len(self.buffer) >= self.p["sample"]:
                self._settle(col.infer(self.p["min-share"])[0])
                buf, self.buffer = self.buffer, []
                for line, t, h in buf:
                    self._stream(line, t, h)
            return
        self._stream(rec.line, text, None, rec)

    def _stream(self, line, text, h, rec=None):
        p = self.prov
        if p and not text.endswith(p):
            self.n_out += 1
        if self.inside_mode:
            cands = self.cands
            if cands:
                # every candidate ends with the shortest one: if that occurs only as the text's
                # own ending (or not at all), no candidate occurs inside
                short = cands[-1]
                first = text.find(short)
                if first < 0 or first == len(text) - len(short):
                    return
                for c in cands:
                    end = len(text) - len(c) if text.endswith(c) else len(text)
                    i = text.find(c, 0, end)
                    if i >= 0:
                        self.inside.setdefault(c, []).append((line, i, h if h is not None else rec.hash))
            return
        if p and not text.endswith(p):
            self.out_lines.append(line)
            if len(self.out_texts) < OUTLIER_TEXTS:
                self.out_texts[line] = (text, h if h is not None else rec.hash)

    def merge(self, other):
        if self.col is not None and self.col.owner is self:
            self.col.extend(other.col)
        self.n += other.n
        self.n_out += other.n_out
        if other.common is not None:  # the other part streamed against its own convention
            self.common = set(other.common) if self.common is None else self.common & other.common
            if self.prov is None and not self.buffer:
                self.prov, self.cands = other.prov, other.cands
        for c, hits in other.inside.items():
            self.inside.setdefault(c, []).extend(hits)
        if other.prov is not None and other.prov == self.prov:
            self.out_lines.extend(other.out_lines)
            for k, v in other.out_texts.items():
                if len(self.out_texts) < OUTLIER_TEXTS:
                    self.out_texts[k] = v
        if other.buffer:
            if self.prov is not None:  # settled here: check the other part's texts now
                for line, t, h in other.buffer:
                    self._stream(line, t, h)
            else:
                self.buffer.extend(other.buffer)  # checked exactly in finish

    def finish(self, ctx):
        if ctx.format != "prompt-completion" or not self.n:
            return
        if self.explicit is not None:
            final, share, origin = self.explicit, None, "configured"
        else:
            final, share = self.col.infer(self.p["min-share"])
            origin = "inferred"
            if not final:
                return  # no dominant convention: nothing to hold records to
        if self.buffer:  # texts never streamed: check them now against the final convention
            buf, self.buffer = self.buffer, []
            keep = self.prov, self.cands
            self.prov, self.cands = final, (final,)
            for line, t, h in buf:
                self._stream(line, t, h)
            self.prov, self.cands = keep
        if share is None:
            share = 1 - self.n_out / self.n
        pct = f"{share:.0%}" if share < 0.995 or share == 1 else ">99%"
        conv = f"the {self.what} '{show(final)}' ({origin}) used by {pct} of {self.plural}"
        args = {"convention": conv, "value": show(final), "share": pct, "field": self.field}
        if self.p["check"] == "missing":
            if self.explicit is not None:
                lines = self.out_lines
            else:
                lines = [ln for ln, s in zip(self.col.lines, self.col.suffixes()) if not s.endswith(final)]
            texts_ok = self.explicit is not None or (self.prov or "").endswith(final) or not self.prov
            for ln in lines:
                t = self.out_texts.get(ln) if texts_ok else None
                fix = None
                if t is not None:
                    fix = FixOffer(f"append the {self.what} '{show(final)}'", (Edit("set", self.pointer, t[0] + final),))
                yield Finding(line=ln, pointer=self.pointer, fix=fix, record_hash=t[1] if t else None, args=args)
        else:
            if self.common is not None and final not in self.common:
                return  # streamed against a convention that did not hold for the whole file
            for ln, off, h in sorted(self.inside.get(final, ())):
                yield Finding(line=ln, pointer=self.pointer, record_hash=h, args={**args, "offset": off})


@kind("pc-leading-space")
class PcLeadingSpace(DatasetCheck):
    """Completions that do not start with whitespace where the dataset's convention
    (``min-share`` of completions, or ``require: true``) is a leading space."""

    defaults = {"min-share": share(0.5), "require": False}

    def begin(self, ctx):
        self.n = 0
        self.spaced = 0
        self.lines = array("Q")
        self.texts: dict[int, tuple[str, str]] = {}

    def observe(self, rec, ctx):
        obj = rec.obj
        t = obj.get("completion") if isinstance(obj, dict) else None
        if not isinstance(t, str) or not t:
            return
        self.n += 1
        if t[0].isspace():
            self.spaced += 1
            return
        self.lines.append(rec.line)
        if len(self.texts) < OUTLIER_TEXTS:
            self.texts[rec.line] = (t, rec.hash)

    def merge(self, other):
        self.n += other.n
        self.spaced += other.spaced
        self.lines.extend(other.lines)
        for k, v in other.texts.items():
            if len(self.texts) < OUTLIER_TEXTS:
                self.texts[k] = v

    def finish(self, ctx):
        if ctx.format != "prompt-completion" or not self.n:
            return
        share = self.spaced / self.n
        if not self.p["require"] and share < self.p["min-share"]:
            return
        conv = f"{share:.0%} of completions start with whitespace" if not self.p["require"] else "completions must start with whitespace (configured)"
        for ln in self.lines:
            t = self.texts.get(ln)
            fix = FixOffer("add a leading space", (Edit("set", "/completion", " " + t[0]),)) if t else None
            yield Finding(line=ln, pointer="/completion", fix=fix, record_hash=t[1] if t else None, args={"convention": conv})


@kind("edge-token")
class EdgeToken(TurnCheck):
    """Literal special tokens at the very start (``start``) or end (``end``) of a turn, where
    removing them is unambiguous. Constant time per turn: only the edges are looked at."""

    defaults = {"start": strings(), "end": strings()}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        self.start = tuple(sorted(params["start"], key=len, reverse=True))
        self.end = tuple(sorted(params["end"], key=len, reverse=True))
        self.first = {s[0] for s in self.start}
        self.last = {s[-1] for s in self.end}

    def check_text(self, t, rec):
        text = t.text
        if not text:
            return
        a, z = text[0], text[-1]
        if a not in self.first and z not in self.last and not (a.isspace() or z.isspace()):
            return  # fast path: no token can sit at either edge
        s = text.strip()
        if not s or (s[0] not in self.first and s[-1] not in self.last):
            return
        found = []
        changed = True
        while changed and s:
            changed = False
            for tok in self.end:
                if s.endswith(tok) and not (tok == "</s>" and "<s>" in s):  # HTML strikethrough
                    found.append(tok)
                    s = s[:-len(tok)].rstrip()
                    changed = True
                    break
            for tok in self.start:
                if s.startswith(tok):
                    found.append(tok)
                    s = s[len(tok):].lstrip()
                    changed = True
                    break
        if found:
            yield Finding(pointer=t.pointer, args={"match": found[0], "tokens": ", ".join(found), "field": t.field},
                          fix=FixOffer(f"remove {', '.join(found)}", (Edit("set", t.pointer, s),)))
