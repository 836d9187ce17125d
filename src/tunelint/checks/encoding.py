"""E kinds: bytes and characters. Raw-level kinds see physical lines; text-level kinds see turns."""
from __future__ import annotations

import re
import unicodedata

from ..diagnostic import Edit
from ..reader import BOM
from .base import DatasetCheck, Finding, FixOffer, LineCheck, Param, TurnCheck, UnparsedCheck, kind


@kind("invalid-utf8")
class InvalidUtf8(UnparsedCheck):
    defaults: dict = {}

    def check_unparsed(self, chunk, data: bytes, err, ctx):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            bad = data[e.start:e.end]
            yield Finding(column=e.start + 1, args={"offset": e.start, "bytes": bad.hex(" ")},
                          fix=FixOffer("drop the record (its bytes go to the rejects file)", (Edit("drop"),)))


@kind("bom")
class Bom(LineCheck):
    defaults: dict = {}

    def check_line(self, phys, ctx):
        if phys.line == 1 and phys.data.startswith(BOM):
            yield Finding(line=1, fix=FixOffer("remove the byte order mark", (Edit("line", "", phys.data[3:]),)))


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
                          fix=FixOffer("convert line endings to LF", (Edit("line-endings", "", ("\r\n", "\n")),)))


@kind("blank-line")
class BlankLine(LineCheck):
    defaults: dict = {}

    def check_line(self, phys, ctx):
        if ctx.mode == "jsonl" and not phys.data.strip() and (phys.data or phys.ending):
            yield Finding(line=phys.line, fix=FixOffer("remove the blank line", (Edit("line", "", None),)))


# C0 controls except tab/newline/CR, DEL, C1 controls
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\x7f-\x9f]")


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


@kind("control-chars")
class ControlChars(TurnCheck):
    defaults = {"allow-cr": Param(False, doc="allow carriage returns (\\r) inside texts")}

    def begin(self, ctx):
        self.gate = (_CONTROL if self.p["allow-cr"] else _CONTROL_ALL).search

    def check_text(self, t, rec):
        rx = _CONTROL if self.p["allow-cr"] else _CONTROL_ALL
        m = rx.search(t.text)
        if m:
            n = len(rx.findall(t.text))
            fixed = rx.sub(lambda m: "\n" if m.group() == "\r" else "", t.text.replace("\r\n", "\n"))
            yield Finding(pointer=t.pointer, args={"char": _char_name(m.group()), "offset": m.start(), "count": n},
                          fix=FixOffer("remove control characters", (Edit("set", t.pointer, fixed),)))


def _not_ascii(s: str) -> bool:
    return not s.isascii()  # C, word at a time: far cheaper than a regex scan for [^\x00-\x7f]


_not_ascii.non_ascii = True  # falsy on every ASCII text: the engine skips it there (TurnCheck.gate)


def _non_ascii_then(search):
    """A gate for characters that are all non-ASCII: most texts are ASCII and pass at once."""
    def gate(s: str, _search=search):
        return not s.isascii() and _search(s) is not None
    gate.non_ascii = True  # the engine does not call it on ASCII texts (TurnCheck.gate)
    return gate


def edge_space(s: str) -> bool:
    """Whitespace at the start or the very end (what ``\\A\\s|\\s\\Z`` finds, in O(1): the
    regex tries ``\\s\\Z`` at every position)."""
    return s[:1].isspace() or s[-1:].isspace()


_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")


def _pictographic(ch: str) -> bool:
    """An emoji's part: a pictograph, a dingbat or symbol with an emoji form, a skin tone, the
    emoji variation selector (U+FE0F) or a keycap (U+20E3)."""
    o = ord(ch)
    return o >= 0x1F000 or 0x2600 <= o <= 0x27BF or 0x2B00 <= o <= 0x2BFF or o in (0xFE0F, 0x20E3, 0x2640, 0x2642,
                                                                                     0x2695, 0x2696, 0x2708, 0x2764)


def _joins(text: str, i: int) -> bool:
    """The zero-width (non-)joiner at ``i`` is part of the text: inside an emoji sequence
    (a family emoji is one character) or between two letters of a script that writes with it
    (Arabic, Persian, the Indic scripts)."""
    if i == 0 or i + 1 >= len(text):
        return False
    a, b = text[i - 1], text[i + 1]
    if text[i] == "\u200d" and _pictographic(a) and _pictographic(b):
        return True
    return all(0x0600 <= ord(c) <= 0x06FF or 0x0900 <= ord(c) <= 0x0DFF for c in (a, b))


@kind("invisible-chars")
class InvisibleChars(TurnCheck):
    """Zero-width, bidi-control and other invisible characters. A zero-width joiner inside an
    emoji sequence, and a joiner or non-joiner between letters of a script that needs it, are
    part of the text and pass."""

    defaults: dict = {}

    gate = staticmethod(_non_ascii_then(_INVISIBLE.search))

    def check_text(self, t, rec):
        text = t.text
        bad = [m.start() for m in _INVISIBLE.finditer(text) if not (text[m.start()] in "\u200c\u200d" and _joins(text, m.start()))]
        if bad:
            drop = set(bad)
            fixed = "".join(c for i, c in enumerate(text) if i not in drop)
            yield Finding(pointer=t.pointer, args={"char": _char_name(text[bad[0]]), "offset": bad[0], "count": len(bad)},
                          fix=FixOffer("remove invisible characters", (Edit("set", t.pointer, fixed),)))


@kind("replacement-char")
class ReplacementChar(TurnCheck):
    """U+FFFD, the replacement character, written in the file: text that was decoded with
    errors upstream, its original characters lost. (Invalid bytes in this file are E001's;
    they decode to U+FFFD too and are not reported twice.)"""

    defaults: dict = {}

    gate = staticmethod(_non_ascii_then(re.compile("\ufffd").search))

    def check_text(self, t, rec):
        text = t.text
        i = text.find("\ufffd")
        if i < 0:
            return
        raw = rec.data
        if raw is not None and b"\xef\xbf\xbd" not in raw and b"\\ufffd" not in raw.lower():
            return  # decoded from invalid bytes here: E001 reports it
        yield Finding(pointer=t.pointer, args={"offset": i, "count": text.count("\ufffd"), "field": t.field,
                                               "sample": text[max(0, i - 15):i + 15]})


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
                          fix=FixOffer("repair mojibake (ftfy.fix_encoding)", (Edit("set", t.pointer, fixed),)))


@kind("not-nfc")
class NotNfc(TurnCheck):
    defaults = {"form": Param("NFC", choices=("NFC", "NFD", "NFKC", "NFKD"), doc="the Unicode normalization form texts must be in")}

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
                          fix=FixOffer(f"normalize to {form}", (Edit("set", t.pointer, fixed),)))


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
                      fix=FixOffer("strip whitespace at the turn's edges", (Edit("set", t.pointer, stripped),)))
