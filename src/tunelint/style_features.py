"""Cheap per-turn style features (plain Python and regex), shared by the S rules, the
``--profile`` table and the HTML report.

- :func:`turn_features` computes the features of one text (a dict of small ints, floats and
  short category strings); results are cached for the record being processed, so several S
  rules looking at the same record pay once.
- :func:`features` gives one record's features (its last trained answer, plus the system
  prompt and prompt-template keys).
- :func:`rows` yields one row per text turn (role/kind/field plus features) and
  :func:`frame` builds a pandas DataFrame of a file from the engine's events (pandas is
  imported there only).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from .model.hashing import h64

NUMERIC = ("chars", "words", "sentences", "sentence_len", "upper", "emoji")
CATEGORICAL = ("opener", "end", "list_style", "script", "person")
FLAGS = ("heading", "table", "fence", "bold")

_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_ASCII_UPPER = bytes(range(65, 91))

_SENT_END = re.compile(r"[.!?。！？][\s\"'”’)\]]|[.!?。！？]$")
_HEADING = re.compile(r"^#{1,6} \S", re.M)
_TABLE_SEP = re.compile(r"^[ \t]*+\|?[ \t]*+:?-{3,}+:?[ \t]*+\|", re.M)  # blanks, not \s: linear
_LIST = re.compile(r"^(?:([-*•+])|\d+([.)]))[ \t]+\S", re.M)  # top-level items (nested lists may differ)
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.S)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\U0001F000-\U0001F2FF\u2600-\u27BF\u2B50\u2B55]")
_FIRST = re.compile(r"\b(?:I|I'm|I've|I'll|I'd|me|my|mine|myself)\b")
_SECOND = re.compile(r"\b(?:you|your|yours|yourself|you're|you've)\b", re.I)

#: boilerplate openers: category -> pattern at the very start of the answer
OPENERS = {
    "as-an-ai": r"as an ai\b|as a language model|as an artificial intelligence|i am an ai\b|i'm an ai\b|i am a language model",
    "refusal": r"(?:i'?m sorry|i am sorry|i apologi[sz]e|unfortunately),? (?:but )?(?:as an ai\b|i(?:'m| am) (?:not able|unable) to\b|i (?:can(?:no|')t|do not|don't|won't|will not) (?:help|assist|provide|do|answer|fulfil|comply|generate|create|write|browse|access|perform|complete|have)\b)",
    "affirmation": r"(?:sure|certainly|of course|absolutely)[!,.]",
    "praise": r"(?:what a |that's a |this is a )?(?:great|good|excellent) question",
    "offer": r"i(?:'d| would)? (?:be )?(?:happy|glad) to help",
}
_OPENER = re.compile(r"(?:" + "|".join(f"(?P<{k.replace('-', '_')}>{v})" for k, v in OPENERS.items()) + ")", re.I)



# the first two characters (lower case) any opener can start with: an answer starting with two
# other ASCII characters needs no regex (re.I also folds some non-ASCII letters: those go through)
_OPENER_HEADS = frozenset(("as", "i ", "i'", "im", "un", "su", "ce", "of", "ab", "wh", "th", "gr", "go", "ex"))


def opener_match(text: str):
    """The boilerplate opener at the start of ``text`` (a regex match; ``lastgroup`` is its
    category), or None. An opener that is the whole answer ("Of course.") is content, not one."""
    t = text.lstrip()
    if not t[:1].isalpha():
        return None
    head = t[:2]
    if head.isascii() and head.lower() not in _OPENER_HEADS:
        return None
    m = _OPENER.match(t)
    if m is None or len(t[m.end():m.end() + 80].split()) < 2:
        return None
    return m


# Unicode blocks -> script name (checked in order; first script with most letters wins)
SCRIPTS = (
    ("Cyrillic", re.compile(r"[\u0400-\u04ff\u0500-\u052f]")),
    ("Greek", re.compile(r"[\u0370-\u03ff]")),
    ("Arabic", re.compile(r"[\u0600-\u06ff\u0750-\u077f]")),
    ("Hebrew", re.compile(r"[\u0590-\u05ff]")),
    ("Devanagari", re.compile(r"[\u0900-\u097f]")),
    ("Thai", re.compile(r"[\u0e00-\u0e7f]")),
    ("Han", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("Kana", re.compile(r"[\u3040-\u30ff]")),
    ("Hangul", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("Latin", re.compile(r"[\u00c0-\u024f]")),
)


def _script(ascii_letters: int, na: str) -> str:
    """Dominant script of a text from its ASCII letter count and its non-ASCII characters."""
    if not na:
        return "Latin" if ascii_letters else "none"
    counts = {name: len(rx.findall(na)) for name, rx in SCRIPTS}
    counts["Latin"] += ascii_letters
    if counts["Kana"]:  # Japanese mixes kanji and kana
        counts["Kana"] += counts.pop("Han")
    best = max(counts, key=counts.__getitem__)
    n = counts[best]
    if best == "Kana":
        best = "Japanese"
    return best if n else "none"


def _end(text: str) -> str:
    if text.endswith("```"):
        return "code-fence"
    c = text[-1:]
    if not c:
        return "empty"
    if c in ".。":
        return "."
    if c in "!！":
        return "!"
    if c in "?？":
        return "?"
    if c in ":;,":
        return c
    if c in ")]}\"'”’»*_`>":
        return "closing"
    if c.isalnum():
        return "word"
    return "other"


def turn_features(text: str, full: bool = True) -> dict[str, Any]:
    """Style features of one text. Every value is a small int, a float or a short string.

    ``full=False`` computes only what the S rules use (words, letters, upper, opener,
    list_style, script); the profile asks for everything."""
    t = text.strip()
    words = len(t.split())
    if t.isascii():
        b = t.encode()
        na = ""
    else:
        b = t.encode("ascii", "ignore")
        na = "".join(_NON_ASCII.findall(t))
    nb = len(b)
    letters = nb - len(b.translate(None, _ASCII_LETTERS))
    upper = nb - len(b.translate(None, _ASCII_UPPER))
    cased = letters
    if na:
        up = sum(map(str.isupper, na))
        cased += up + sum(map(str.islower, na))
        upper += up
    heading = table = False
    list_style = "none"
    if "\n" in t:
        md = _FENCED.sub("", t) if "```" in t else t  # markup inside code blocks is code, not style
        if full:
            heading = "#" in md and _HEADING.search(md) is not None
            table = "|" in md and _TABLE_SEP.search(md) is not None
        found = _LIST.findall(md)
        if len(found) >= 2:  # a list has two items or more: a lone "* {" is CSS, not a list
            counts: dict[str, int] = {}
            for a, b in found:
                k = a or "1" + b
                counts[k] = counts.get(k, 0) + 1
            mk = max(counts, key=counts.__getitem__)  # the first of the most common (Counter.most_common)
            if counts[mk] >= 2:
                list_style = mk
    m = opener_match(t)
    out = {
        "words": words,
        "letters": cased,
        "upper": upper / cased if cased else float("nan"),
        "opener": m.lastgroup.replace("_", "-") if m else "none",
        "list_style": list_style,
        "script": _script(letters, na),
    }
    if not full:
        return out
    sentences = len(_SENT_END.findall(t)) if words else 0
    if words and not sentences:
        sentences = 1
    first = _FIRST.search(t) is not None
    second = "you" in t.lower() and _SECOND.search(t) is not None
    out.update({
        "chars": len(t),
        "sentences": sentences,
        "sentence_len": words / sentences if sentences else 0.0,
        "emoji": len(_EMOJI.findall(na)) if na else 0,
        "end": _end(t),
        "heading": heading,
        "table": table,
        "fence": "```" in t,
        "bold": "**" in t,
        "person": "first+second" if first and second else "first" if first else "second" if second else "none",
    })
    return out


_cache: list = [None, None]


def answer_turns(rec) -> list:
    """The turns a model is trained to produce (rejected preference branches excluded)."""
    return [t for t in rec.turns if t.kind == "answer" and t.branch != "rejected" and t.text is not None]


def answer_features(rec) -> list[tuple[Any, dict[str, Any]]]:
    """``[(turn, features)]`` for the record's answer turns; computed once per record."""
    if _cache[0] is rec:
        return _cache[1]
    out = [(t, turn_features(t.text, full=False)) for t in answer_turns(rec)]
    _cache[0], _cache[1] = rec, out
    return out


def system_text(rec) -> str | None:
    """The record's system prompt (first system turn), or None when it has none."""
    for t in rec.turns:
        if t.kind == "system" and t.text is not None:
            return t.text
    return None


def text_key(text: str | None) -> int:
    """A 64-bit key of a text after trimming (0 = no text)."""
    if text is None:
        return 0
    return h64(text.strip().encode()) or 1


_TEMPLATE_WORD = re.compile(r"\w+")


def prompt_template(rec) -> str:
    """The record's prompt template: which prompt fields it fills before its first answer
    (e.g. ``instruction+input``; ``no prompt`` when the conversation opens with an answer)."""
    parts = []
    for t in rec.turns:
        if t.kind in ("prompt", "input") and t.text is not None and t.text.strip():
            if not parts or parts[-1] != t.field:
                parts.append(t.field)
        elif t.kind == "answer":
            break
    return "+".join(parts) or "no prompt"


def features(rec) -> dict[str, Any]:
    """One record's style features: those of its last answer turn, plus record-level keys."""
    af = answer_turns(rec)
    out: dict[str, Any] = turn_features(af[-1].text) if af else {}
    sys_t = system_text(rec)
    out["answers"] = len(af)
    out["system"] = "none" if sys_t is None else f"{text_key(sys_t):016x}"
    out["template"] = prompt_template(rec)
    return out


def rows(rec, count_tokens=None) -> Iterable[dict[str, Any]]:
    """One row per non-empty text turn of a record: line, role, kind, field, branch and features
    (plus ``tokens`` when ``count_tokens`` is a function text -> int)."""
    for t in rec.turns:
        if t.text is None or not t.text.strip():
            continue  # empty turns are the C/F rules' business; they would skew every percentile
        f = turn_features(t.text)
        if count_tokens is not None:
            f["tokens"] = count_tokens(t.text)
        yield {"line": rec.line, "pointer": t.pointer, "role": t.role, "kind": t.kind, "field": t.field,
               "branch": t.branch, **f}


class _TokenCount:
    """text -> tokens under one encoding (picklable, so a sink holding it can cross processes)."""

    def __init__(self, enc: str):
        self.enc = enc

    def __call__(self, text: str) -> int:
        from .tokens import count_text

        return count_text(text, self.enc)


def token_counter(config):
    """A function text -> tokens under the configured target's encoding."""
    target = getattr(config, "target", None)
    from .tokens import chat_model

    model = chat_model(target) if target is not None else None
    if model is not None:  # the model's own tokenizer (--tokenizer)
        return model.count_text
    return _TokenCount(getattr(target, "encoding", None) or "o200k_base")


class StyleRows:
    """An engine sink (:class:`tunelint.engine.Sink`) that collects the style rows of every
    record of a pass: ``turn_rows`` (one per text turn) and ``rec_rows`` (one per record),
    each with a ``path`` column. ``tokens=True`` adds a ``tokens`` column (slower)."""

    def __init__(self, config, tokens: bool = False):
        self.turn_rows: list[dict] = []
        self.rec_rows: list[dict] = []
        self.counter = token_counter(config) if tokens else None
        self.rec_counter = record_token_counter(config) if tokens else None

    def start_file(self, run) -> None:
        pass

    def record(self, rec, run) -> None:
        for r in rows(rec, self.counter):
            r["path"] = run.display
            self.turn_rows.append(r)
        f = features(rec)
        self.rec_rows.append({"path": run.display, "line": rec.line, "format": rec.format,
                              "system": f["system"], "template": f["template"], "answers": f["answers"]})
        if self.rec_counter is not None:  # the whole example as the trainer sees it
            self.rec_rows[-1]["tokens"] = self.rec_counter(rec)

    def end(self) -> None:
        pass

    splittable = True

    def fork(self) -> "StyleRows":
        new = StyleRows.__new__(StyleRows)
        new.turn_rows, new.rec_rows, new.counter = [], [], self.counter
        return new

    def merge(self, other: "StyleRows") -> None:
        self.turn_rows += other.turn_rows
        self.rec_rows += other.rec_rows


def record_token_counter(config):
    """A function record -> tokens of the whole example as the trainer sees it (the rendered chat
    template with --tokenizer; the target's encoding and chat overhead otherwise)."""
    from .tokens import count_record

    target = config.target
    return lambda rec: count_record(rec, target)
