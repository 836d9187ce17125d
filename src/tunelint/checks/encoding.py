"""E kinds: bytes and characters. Raw-level kinds see physical lines; text-level kinds see turns."""
from __future__ import annotations

import re
import unicodedata

from ..diagnostic import Edit, Fix
from ..reader import BOM
from .base import DatasetCheck, Finding, LineCheck, TurnCheck, UnparsedCheck, kind


@kind("invalid-utf8")
class InvalidUtf8(UnparsedCheck):
    defaults: dict = {}

    def check_unparsed(self, chunk, data: bytes, err, ctx):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            bad = data[e.start:e.end]
            yield Finding(column=e.start + 1, args={"offset": e.start, "bytes": bad.hex(" ")})


@kind("bom")
class Bom(LineCheck):
    defaults: dict = {}

    def check_line(self, phys, ctx):
        if phys.line == 1 and phys.data.startswith(BOM):
            yield Finding(line=1, fix=Fix("safe", "remove the byte order mark", (Edit("line", "", phys.data[3:]),)))


@kind("line-endings")
class LineEndings(LineCheck, DatasetCheck):
    """Reports the first CRLF line with the file's total, once per file."""

    observes = False
    defaults: dict = {}

    def begin(self, ctx):
        self.first = 0
        self.count = 0

    def check_line(self, phys, ctx):
        if phys.ending == b"\r\n":
            self.count += 1
            if not self.first:
                self.first = phys.line
        return ()

    def merge(self, other):
        self.count += other.count
        if other.first and (not self.first or other.first < self.first):
            self.first = other.first

    def finish(self, ctx):
        if self.count:
            yield Finding(line=self.first, args={"count": self.count},
                          fix=Fix("safe", "convert line endings to LF"))


@kind("blank-line")
class BlankLine(LineCheck):
    defaults: dict = {}

    def check_line(self, phys, ctx):
        if ctx.mode == "jsonl" and not phys.data.strip() and (phys.data or phys.ending):
            yield Finding(line=phys.line, fix=Fix("safe", "remove the blank line", (Edit("line", "", None),)))


# C0 controls except tab/newline/CR, DEL, C1 controls
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\x7f-\x9f]")


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


@kind("control-chars")
class ControlChars(TurnCheck):
    defaults = {"allow-cr": False}

    def begin(self, ctx):
        self.gate = (_CONTROL if self.p["allow-cr"] else _CONTROL_ALL).search

    def check_text(self, t, rec):
        rx = _CONTROL if self.p["allow-cr"] else _CONTROL_ALL
        m = rx.search(t.text)
        if m:
            n = len(rx.findall(t.text))
            fixed = rx.sub(lambda m: "\n" if m.group() == "\r" else "", t.text.replace("\r\n", "\n"))
            yield Finding(pointer=t.pointer, args={"char": _char_name(m.group()), "offset": m.start(), "count": n},
                          fix=Fix("safe", "remove control characters", (Edit("set", t.pointer, fixed),)))


def _not_ascii(s: str) -> bool:
    return not s.isascii()  # C, word at a time: far cheaper than a regex scan for [^\x00-\x7f]


def _non_ascii_then(search):
    """A gate for characters that are all non-ASCII: most texts are ASCII and pass at once."""
    def gate(s: str, _search=search):
        return not s.isascii() and _search(s) is not None
    return gate


def edge_space(s: str) -> bool:
    """Whitespace at the start or the very end (what ``\\A\\s|\\s\\Z`` finds, in O(1): the
    regex tries ``\\s\\Z`` at every position)."""
    return s[:1].isspace() or s[-1:].isspace()


_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")


@kind("invisible-chars")
class InvisibleChars(TurnCheck):
    defaults: dict = {}

    gate = staticmethod(_non_ascii_then(_INVISIBLE.search))

    def check_text(self, t, rec):
        m = _INVISIBLE.search(t.text)
        if m:
            n = len(_INVISIBLE.findall(t.text))
            yield Finding(pointer=t.pointer, args={"char": _char_name(m.group()), "offset": m.start(), "count": n},
                          fix=Fix("safe", "remove invisible characters", (Edit("set", t.pointer, _INVISIBLE.sub("", t.text)),)))


# Latin-1/cp1252 renderings of UTF-8 lead bytes followed by continuation-looking chars.
_MOJI_HINT = re.compile("[\u00c2\u00c3\u00c5\u00e2\u00f0\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")


@kind("mojibake")
class Mojibake(TurnCheck):
    defaults: dict = {}

    gate = staticmethod(_non_ascii_then(_MOJI_HINT.search))

    def check_text(self, t, rec):
        text = t.text
        if text.isascii() or not _MOJI_HINT.search(text):
            return
        import ftfy

        fixed = ftfy.fix_encoding(text)
        if fixed != text:
            m = _MOJI_HINT.search(text)
            s = max(0, m.start() - 10)
            yield Finding(pointer=t.pointer, args={"sample": text[s:m.end() + 10], "fixed": fixed[s:m.end() + 8]},
                          fix=Fix("safe", "repair mojibake (ftfy.fix_encoding)", (Edit("set", t.pointer, fixed),)))


@kind("not-nfc")
class NotNfc(TurnCheck):
    defaults = {"form": "NFC"}

    gate = staticmethod(_not_ascii)

    def check_text(self, t, rec):
        text = t.text
        if text.isascii():
            return
        form = self.p["form"]
        if not unicodedata.is_normalized(form, text):
            fixed = unicodedata.normalize(form, text)
            i = next((i for i, (a, b) in enumerate(zip(text, fixed)) if a != b), min(len(text), len(fixed)))
            yield Finding(pointer=t.pointer, args={"form": form, "offset": i},
                          fix=Fix("safe", f"normalize to {form}", (Edit("set", t.pointer, fixed),)))


@kind("edge-whitespace")
class EdgeWhitespace(TurnCheck):
    defaults: dict = {}

    gate = staticmethod(edge_space)

    def check_text(self, t, rec):
        text = t.text
        if not text or not (text[0].isspace() or text[-1].isspace()):
            return
        stripped = text.strip()
        if not stripped:
            return  # empty turns are C001's
        where = "leading and trailing" if text[0].isspace() and text[-1].isspace() else "leading" if text[0].isspace() else "trailing"
        yield Finding(pointer=t.pointer, args={"where": where, "field": t.field},
                      fix=Fix("safe", "strip whitespace at the turn's edges", (Edit("set", t.pointer, stripped),)))
