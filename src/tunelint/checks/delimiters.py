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

from ..diagnostic import Edit, Fix
from . import Check, Finding, kind

OUTLIER_TEXTS = 10_000


def show(s: str) -> str:
    return repr(s)[1:-1]


def infer_suffix(suffixes, min_share: float, keep: float = 0.98) -> tuple[str, float]:
    """The dominant common suffix of ``suffixes`` and its share ("" when there is none).

    Start from the most common last character and extend one character at a time while
    (almost: ``keep``) every text ending with the current suffix also ends with the longer one.
    """
    texts = [s for s in suffixes if s]
    n = len(texts)
    if not n:
        return "", 0.0
    c1 = Counter(s[-1] for s in texts).most_common(1)[0]
    cur, cnt = c1[0], c1[1]
    group = [s for s in texts if s.endswith(cur)]
    maxlen = max(len(s) for s in texts)
    for ln in range(2, maxlen + 1):
        c = Counter(s[-ln:] for s in group if len(s) >= ln)
        if not c:
            break
        cand, k = c.most_common(1)[0]
        if k < keep * cnt:
            break
        cur, cnt = cand, k
        group = [s for s in group if s.endswith(cur)]
    share = cnt / n
    if share < min_share or (len(cur) == 1 and not cur.isspace()):
        return "", share
    return cur, share


@kind("pc-suffix")
class PcSuffix(Check):
    """Separator (``field: prompt``) or stop sequence (``field: completion``) of legacy data.

    ``check: missing`` reports texts that do not end with it; ``check: inside`` reports texts
    that contain it before their end. ``separator``/``stop`` fix the convention instead of
    inferring it; ``min-share`` is the share of texts that must end with the inferred one.
    """

    scope = "dataset"
    defaults = {"field": "prompt", "check": "missing", "separator": None, "stop": None,
                "min-share": 0.9, "suffix-chars": 24, "sample": 2000}

    def begin(self, ctx):
        f = self.p["field"]
        self.field = f
        self.what = "separator" if f == "prompt" else "stop sequence"
        self.plural = "prompts" if f == "prompt" else "completions"
        explicit = self.p["separator"] if f == "prompt" else self.p["stop"]
        self.explicit = explicit or None
        self.suf = bytearray()
        self.ends = array("Q")
        self.lines = array("Q")
        self.buffer: list[tuple[int, str, str]] = []  # (line, text, hash) until the convention is settled
        self.prov = self.explicit  # the convention used while streaming
        self.out_lines = array("Q")  # records not ending with prov (after it was settled)
        self.out_texts: dict[int, tuple[str, str]] = {}
        self.inside: list[tuple[int, int, str]] = []  # (line, offset, hash)
        self.inconsistent = False
        self.n = 0

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
        if self.explicit is None:
            self.suf += text[-self.p["suffix-chars"]:].encode("utf-8", "surrogatepass")
            self.ends.append(len(self.suf))
            self.lines.append(rec.line)
        if self.prov is None:
            self.buffer.append((rec.line, text, rec.hash))
            if len(self.buffer) >= self.p["sample"]:
                self.prov, _ = infer_suffix(self._suffixes(), self.p["min-share"])
                buf, self.buffer = self.buffer, []
                if self.prov:
                    for line, t, h in buf:
                        self._stream(line, t, h)
                else:
                    self.prov = ""  # no convention in the sample: nothing to stream against
            return
        if self.prov:
            self._stream(rec.line, text, None, rec)

    def _stream(self, line, text, h, rec=None):
        s = self.prov
        if text.endswith(s):
            i = text.find(s, 0, len(text) - len(s))
            if i >= 0 and len(text) > len(s):
                self.inside.append((line, i, h if h is not None else rec.hash))
        else:
            self.out_lines.append(line)
            if len(self.out_texts) < OUTLIER_TEXTS:
                self.out_texts[line] = (text, h if h is not None else rec.hash)
            i = text.find(s)
            if i >= 0:
                self.inside.append((line, i, h if h is not None else rec.hash))

    def _suffixes(self):
        out = []
        start = 0
        mv = self.suf
        for e in self.ends:
            out.append(mv[start:e].decode("utf-8", "surrogatepass"))
            start = e
        return out

    def merge(self, other):
        base = len(self.suf)
        self.suf += other.suf
        self.ends.extend(e + base for e in other.ends)
        self.lines.extend(other.lines)
        self.n += other.n
        if other.buffer:
            if self.prov:
                for line, t, h in other.buffer:
                    self._stream(line, t, h)
            else:
                self.buffer.extend(other.buffer)
        if other.prov is not None and other.prov != "":
            if self.prov is None or self.prov == "":
                if self.prov == "" or self.buffer:
                    self.inconsistent = True
                self.prov = other.prov
            elif other.prov != self.prov:
                self.inconsistent = True
        self.out_lines.extend(other.out_lines)
        for k, v in other.out_texts.items():
            if len(self.out_texts) < OUTLIER_TEXTS:
                self.out_texts[k] = v
        self.inside.extend(other.inside)

    def finish(self, ctx):
        if ctx.format != "prompt-completion" or not self.n:
            return
        if self.explicit is not None:
            final, share, origin = self.explicit, None, "configured"
        else:
            final, share = infer_suffix(self._suffixes(), self.p["min-share"])
            origin = "inferred"
            if not final:
                return  # no dominant convention: nothing to hold records to
        if self.buffer:  # never settled while streaming: settle now, exactly
            self.prov = final
            buf, self.buffer = self.buffer, []
            for line, t, h in buf:
                self._stream(line, t, h)
        if share is None:
            missing = len(self.out_lines)
            share = 1 - missing / self.n if self.n else 1.0
        pct = f"{share:.0%}" if share < 0.995 or share == 1 else ">99%"
        conv = f"the {self.what} '{show(final)}' ({origin}) used by {pct} of {self.plural}"
        if self.p["check"] == "missing":
            if self.explicit is not None or final == self.prov:
                lines = self.out_lines
            else:
                ss = self._suffixes()
                lines = [ln for ln, s in zip(self.lines, ss) if not s.endswith(final)]
            for ln in lines:
                t = self.out_texts.get(ln) if final == self.prov else None
                fix = None
                if t is not None:
                    fix = Fix("unsafe", f"append the {self.what} '{show(final)}'", (Edit("set", "/" + self.field, t[0] + final),))
                yield Finding(line=ln, pointer="/" + self.field, fix=fix, record_hash=t[1] if t else None,
                              args={"convention": conv, "value": show(final), "share": pct, "field": self.field})
        else:
            if self.inconsistent or final != self.prov:
                return
            for ln, off, h in self.inside:
                yield Finding(line=ln, pointer="/" + self.field, record_hash=h,
                              args={"convention": conv, "value": show(final), "share": pct, "offset": off, "field": self.field})


@kind("pc-leading-space")
class PcLeadingSpace(Check):
    """Completions that do not start with whitespace where the dataset's convention
    (``min-share`` of completions, or ``require: true``) is a leading space."""

    scope = "dataset"
    defaults = {"min-share": 0.5, "require": False}

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
            fix = Fix("unsafe", "add a leading space", (Edit("set", "/completion", " " + t[0]),)) if t else None
            yield Finding(line=ln, pointer="/completion", fix=fix, record_hash=t[1] if t else None, args={"convention": conv})
