"""Counting word forms over a dataset's text turns, in batches: the tokenizer (``WORD``,
:func:`batch_words`: numpy over one ASCII buffer, exactly WORD's matches with a 64-bit hash
each, :func:`word_hash` its twin in Python), spaced compounds (``SPACED_PREFIXES``,
:func:`spaced_forms`) and :class:`FormCounter`, the mergeable state behind ``add``/``flush``/
``merge``/``fold``/``places``: every form counted once per record, the first ``cap`` places of
each kept (word ids, record counts and capped places in arrays; a small input is counted per
turn with WORD.findall, without importing numpy; a test keeps both paths equal).

This is the counting half of T001 (``checks/terms.py`` makes the linguistic decisions over
the counted vocabulary); it holds no rule and imports no check.
"""
from __future__ import annotations

import codecs
import re
from collections import Counter, defaultdict
from typing import NamedTuple

from .minhash import mix, np_module, power_tables, pymix
from .model.hashing import h64_personal

# A word: letters/digits with inner hyphens; not part of an identifier, path, URL, e-mail,
# file name or option (the neighbours exclude it).
WORD = re.compile(r"(?<![\w/\\.<@#$%&=+~-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?![\w/\\@+~-]|\.\w|\(|'|:/)")
CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)
TRIM_EVERY = 100_000  # location appends between two cuts of the location lists to their cap


def prose(text: str) -> str:
    """The text with inline and fenced code blanked out (offsets are kept)."""
    return CODE.sub(lambda m: " " * len(m.group()), text) if "`" in text else text


def word_forms(text: str) -> set[str]:
    """The set of word forms of a turn's prose."""
    return set(WORD.findall(prose(text)))


# -- the batch tokenizer (T001 on files of more than a few hundred kB) ---------------------
# WORD's matches are exactly the maximal runs of [\w-] that spell a word (an ASCII letter, then
# ASCII letters/digits, single inner hyphens) and whose neighbours pass its look-arounds: inside a
# run every other position follows a word character or a hyphen, and a shorter match would be
# followed by one. ``batch_words`` finds those runs for thousands of turns at once with numpy on
# one ASCII buffer: a non-ASCII character becomes "_" when it is a word character (it can only
# spoil a run, never be part of a word) and a space otherwise (WORD's look-arounds name ASCII
# characters only). A test checks it equals WORD.findall.
BATCH_CHARS = 1_000_000  # turn characters per batch
SMALL_FLUSH_CHARS = 200_000  # fewer waiting characters: WORD.findall per turn (no numpy import)
SORT_KEYS = True  # False: always the argsort path of _flush_batch (tests compare both)
LONG_WORD = 32  # longer words are hashed with blake2b (see batch_words)
_HASH_B = 0x100000001B3  # odd: invertible mod 2**64
_HASH_BINV = pow(_HASH_B, -1, 1 << 64)


class Batch(NamedTuple):
    """The turns of one flush, in file order: texts, record numbers, lines, pointer ids."""

    texts: tuple
    recs: tuple
    lines: tuple
    pids: list


class _AsciiWords(dict):
    """str.translate table: ASCII as is; a non-ASCII character to "_" when
    it is a regex word character, else to " "."""

    def __missing__(self, code):
        ch = chr(code)
        r = self[code] = "_" if ch.isalnum() else " "  # re's \w: str.isalnum() or "_"
        return r


_TO_ASCII = _AsciiWords({i: i for i in range(128)})
_ASCII_WORDS = "tunelint-ascii-words"  # codec error handler: non-ASCII runs through _TO_ASCII
_handler_registered = False


def _ascii_words() -> str:
    """The codec error handler :func:`batch_words` encodes non-ASCII text with, registered on
    first use (not when the module is imported). A handler sees only the non-ASCII runs: much
    cheaper than a regex substitution over the whole text (benchmarks/README.md, design measurements)."""
    global _handler_registered
    if not _handler_registered:
        codecs.register_error(_ASCII_WORDS, lambda e: (e.object[e.start:e.end].translate(_TO_ASCII), e.end))
        _handler_registered = True
    return _ASCII_WORDS
_LUTS = None
_POW = None
_SPACED_HASHES = None


def _luts():
    global _LUTS
    if _LUTS is None:
        np = np_module()

        def lut(chars: bytes):
            t = np.zeros(256, dtype=bool)
            t[list(chars)] = True
            return t

        letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        wordc = letters + b"0123456789_"
        _LUTS = (lut(wordc + b"-"), lut(letters), lut(wordc), lut(b"/\\.<@#$%&=+~"), lut(b"/\\@+~('"))
    return _LUTS


def _powers(n: int):
    """(B**i, B**-i) mod 2**64 for i < n (grown on demand)."""
    global _POW
    if _POW is None or len(_POW[0]) < n:
        _POW = power_tables(_HASH_B, _HASH_BINV, max(n + (n >> 1), 1 << 16), np_module().uint64)
    return _POW


def batch_words(texts: list[str]):
    """WORD's matches in every text at once: (buffer, starts, ends, text index, hash) with one
    entry per word in text order. ``buffer[start:end]`` is the word (ASCII); the hash is a
    64-bit polynomial hash of its bytes and length, blake2b for words over ``LONG_WORD`` bytes
    (long Thue-Morse strings collide under any polynomial hash mod 2**64). Two different words
    of real text sharing a hash is about as likely as a 64-bit collision; short colliding words
    could still be crafted on purpose against the fixed base (they would merge two spellings'
    counts, a missed or wrong T001 finding, nothing else)."""
    np = np_module()
    joined = "\x00".join(texts) + "\x00\x00"
    if joined.isascii():
        buf = joined.encode("ascii")
    else:  # one character -> one byte
        buf = joined.encode("ascii", _ascii_words())
    a = np.frombuffer(buf, dtype=np.uint8)
    _, letter, wordc, prebad, postbad = _luts()
    # runs of [A-Za-z0-9_-] (comparisons: cheaper than a table lookup per byte); the buffer
    # ends with two NULs, so run edges alternate start, end, start, end
    u8 = np.uint8
    w = ((a | u8(32)) - u8(97) < u8(26)) | (a - u8(48) < u8(10)) | (a == u8(95)) | (a == u8(45))
    edges = np.flatnonzero(w[1:] != w[:-1]) + 1
    if w[0]:
        edges = np.concatenate(([0], edges))
    st = edges[0::2]
    en = edges[1::2]
    post = a[en]
    post1 = a[en + 1]
    ok = letter[a[st]] & ~prebad[a[st - 1]] & (a[en - 1] != 45) & ~postbad[post]
    ok &= ~((post == 46) & wordc[post1]) & ~((post == 58) & (post1 == 47))  # ".x", ":/"
    # "_" (or a non-ASCII word character) or "--" inside the run: rare, found by position
    hy = a == 45
    bad = np.concatenate((np.flatnonzero(a == 95), np.flatnonzero(hy[1:] & hy[:-1]) + 1))
    if len(bad):
        bad.sort()
        ok &= np.searchsorted(bad, st) == np.searchsorted(bad, en)
    st = st[ok]
    en = en[ok]
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    first = np.concatenate(([0], np.cumsum(lens + 1)[:-1]))
    doc = np.searchsorted(first, st, side="right") - 1
    pw, pinv = _powers(len(a) + 1)
    s = np.empty(len(a) + 1, dtype=np.uint64)
    s[0] = 0
    x = a.astype(np.uint64)
    x *= pinv[: len(a)]
    np.cumsum(x, out=s[1:])
    h = (s[en] - s[st]) * pw[en - 1]
    h ^= (en - st).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    # a polynomial hash mod 2**64 has known long colliding pairs (Thue-Morse strings): words
    # longer than LONG_WORD (rare in prose) get a cryptographic hash instead
    long_ = np.flatnonzero((en - st) > LONG_WORD)
    if len(long_):
        h[long_] = [_blake64(buf[a:b]) for a, b in zip(st[long_].tolist(), en[long_].tolist())]
    # a bijective mix: the low bits of a polynomial hash hardly depend on the last letters
    # ("in"/"is" differ by 5), and _flush_batch keys sort on the high bits
    with np.errstate(over="ignore"):
        mix(h)
    return buf, st, en, doc, h


def word_hash(word: str) -> int:
    """``batch_words``' hash of one ASCII word, in pure Python (a test keeps them equal)."""
    b = word.encode("ascii")
    if len(b) > LONG_WORD:
        return pymix(_blake64(b))
    h = 0
    for c in b:
        h = (h * _HASH_B + c) & 0xFFFFFFFFFFFFFFFF
    return pymix(h ^ ((len(b) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF))


def _blake64(b: bytes) -> int:
    return h64_personal(b, b"tunelint-word")


def _spaced_hashes():
    global _SPACED_HASHES
    if _SPACED_HASHES is None:
        _SPACED_HASHES = batch_words(sorted(_SPACED_TRIGGER))[4]
    return _SPACED_HASHES


# Prefixes safe to read as a spaced compound ("pre trained", "co founder", "e mail"): a subset of
# PREFIXES without those that are ordinary words before another word (a lot, over time, out
# there, up front, well known, de facto, ex wife, pro bono, un ...).
SPACED_PREFIXES = frozenset("""anti auto bio co counter cross cyber e eco extra hyper inter intra macro mega meta
micro mid mini multi neo non post pre pseudo re semi self sub super trans tri ultra vice""".split())
# "<prefix> <word>": one space or tab, the prefix lower case or capitalized (a sentence start),
# the word >= 3 lower-case letters; bounded like WORD (and not after an apostrophe: "they're").
# One compiled pattern per prefix spelling, starting with the literal prefix (re's fast literal
# scan; the check on the character before the prefix follows it), is much cheaper than one
# pattern with 72 alternatives tried at every position (benchmarks/README.md, design measurements).
_SPACED_BEFORE = r"[\w/\\.<@#$%&=+~'\u2019-]"
_SPACED_AFTER = r"[ \t]([a-z]{3,})(?![\w/\\@+~'\u2019-]|\.\w|\(|:/)"


class _Lazy(dict):
    """Compiled on first use (72 patterns are a noticeable share of a small check's start; benchmarks/README.md, design measurements)."""

    def __missing__(self, w):
        rx = self[w] = re.compile(re.escape(w) + f"(?<!{_SPACED_BEFORE}{'.' * len(w)})" + _SPACED_AFTER)
        return rx


# Words that start open compounds written three ways ("health care", "healthcare"; "data set",
# "dataset"; "machine learning", "machine-learning"). Unlike a prefix, the spaced spelling of
# these is standard English and may be the dominant one. Only heads whose spaced pair is
# almost always the compound are listed ("work out" is a verb, "key word" an important word).
SPACED_HEADS = frozenset("data health web smart machine".split())
SPACED = _Lazy()
_SPACED_TRIGGER = frozenset(w for p in SPACED_PREFIXES | SPACED_HEADS for w in (p, p.capitalize()))


def spaced_forms(text: str, forms: set[str]) -> set[str]:
    """``forms`` plus the turn's spaced compounds ("pre trained", one space): a new set when
    there are any (the cached ``word_forms`` set is shared and never mutated). The regexes run
    only for the prefixes the turn's word set holds (a C-level set test first)."""
    if _SPACED_TRIGGER.isdisjoint(forms):
        return forms
    scan = prose(text)
    spaced = [f"{w} {b}" for w in _SPACED_TRIGGER.intersection(forms) for b in SPACED[w].findall(scan)]
    return forms.union(spaced) if spaced else forms


class FormCounter:
    """Word forms of text turns counted per record, with the first ``cap`` (line, pointer)
    places of each form in file order (forms that can be a minority are rare by definition, so
    their places are all kept; ``full`` says which lists were cut). Turns wait in a queue
    (:meth:`add`); each batch of ``BATCH_CHARS`` goes through :func:`batch_words` (and, once one
    has, every later rest), a small input through WORD per turn. Mergeable (``--jobs``): counts
    add, places concatenate in file order up to the cap; picklable (the queue is flushed)."""

    def __init__(self, cap: int):
        self._cap = cap
        # per-turn path (small inputs) and spaced compounds: form -> records, form -> places
        self.counts: Counter = Counter()
        self.locs: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
        self.full: set[str] = set()
        self._appended = 0
        self._next_trim = TRIM_EVERY
        self._pending: list[tuple] = []  # (text, record number, line, pointer) of turns waiting for a batch
        self._chars = 0
        self._ptrs: dict[str, int] = {}  # pointer -> small id
        # batch path (words only): word id -> word; sorted word hashes and their ids; records
        # and places (capped) per id; places as arrays (id, line, pointer id) in file order
        self._words: list[str] = []
        self._hkeys = self._hids = self._cnt = self._nlocs = None
        self._lw: list = []
        self._ll: list = []
        self._lp: list = []
        self._index = None

    @property
    def batched(self) -> bool:
        """Whether this state counts in arrays (a batch went through :func:`batch_words`)."""
        return self._hkeys is not None

    def add(self, text: str, record: int, line: int, pointer: str) -> None:
        """Queue one turn of record number ``record`` (records numbered in file order); call
        :meth:`end_record` after a record's turns (a record is never split between batches)."""
        self._pending.append((text, record, line, pointer))
        self._chars += len(text)

    def end_record(self) -> None:
        """Count the queue once it holds a batch's worth of characters."""
        if self._chars >= BATCH_CHARS:
            self.flush()

    def __getstate__(self):
        self.flush()
        d = self.__dict__.copy()
        d["_index"] = None
        return d

    def flush(self) -> None:
        """Count the waiting turns' word forms: per record (each form once), with the first
        ``max-locations`` (line, pointer) places of each form. Batches of ``BATCH_CHARS`` go
        through the vectorized tokenizer (and, once one has, every later rest); a small input
        through WORD per turn (no numpy import), with the same result."""
        if not self._pending:
            return
        texts, recs, lines, pointers = zip(*self._pending)
        ptrs = self._ptrs
        batch = Batch(texts, recs, lines, [ptrs.setdefault(p, len(ptrs)) for p in pointers])
        if self._hkeys is not None or self._chars >= SMALL_FLUSH_CHARS:
            self._flush_batch(batch)
        else:
            self._flush_each(batch)
        self._pending, self._chars = [], 0
        self._index = None

    def _flush_each(self, batch: "Batch") -> None:
        texts, recs = batch.texts, batch.recs
        ptr = list(self._ptrs)
        locs = self.locs
        full = self.full
        n = len(texts)
        i = 0
        while i < n:
            seq = recs[i]
            rec_forms: set[str] = set()
            while i < n and recs[i] == seq:
                text = texts[i]
                forms = set(WORD.findall(prose(text)))
                if not _SPACED_TRIGGER.isdisjoint(forms):
                    forms = spaced_forms(text, forms)
                rec_forms |= forms
                new = forms - full
                if new:
                    loc = (batch.lines[i], ptr[batch.pids[i]])
                    for w in new:
                        locs[w].append(loc)
                    self._appended += len(new)
                i += 1
            self.counts.update(rec_forms)
            if self._appended >= self._next_trim:
                self.trim()

    def _flush_batch(self, batch: "Batch") -> None:
        np = np_module()
        scans = [prose(t) for t in batch.texts]
        buf, st, en, doc, h = batch_words(scans)
        if self._hkeys is None:
            self._hkeys = np.zeros(0, dtype=np.uint64)
            self._hids = np.zeros(0, dtype=np.int64)
            self._cnt = np.zeros(0, dtype=np.int64)
            self._nlocs = np.zeros(0, dtype=np.int32)
        if not len(st):
            return
        # tokens grouped by word, in file order within a word: one sort of the word hashes with
        # the token's index in their low bits (np.sort is several times faster than argsort); if
        # two words' hashes differ only there (they would share a group), an argsort instead
        n = len(h)
        bits = max(1, n.bit_length())
        low = np.uint64((1 << bits) - 1)
        key = np.sort((h & ~low) | np.arange(n, dtype=np.uint64))
        ti = (key & low).astype(np.int64)
        hk = h[ti]
        new_word = np.empty(n, dtype=bool)
        new_word[0] = True
        np.not_equal(key[1:] >> np.uint64(bits), key[:-1] >> np.uint64(bits), out=new_word[1:])
        if not SORT_KEYS or ((hk[1:] != hk[:-1]) & ~new_word[1:]).any():
            ti = np.argsort(h, kind="stable")
            hk = h[ti]
            np.not_equal(hk[1:], hk[:-1], out=new_word[1:])
        ds = doc[ti]
        rs = np.array(batch.recs, dtype=np.int64)[ds]
        pair = new_word.copy()
        pair[1:] |= ds[1:] != ds[:-1]
        new_rec = new_word.copy()
        new_rec[1:] |= rs[1:] != rs[:-1]
        gstart = np.flatnonzero(new_word)
        uh = hk[gstart]  # the words' hashes, sorted
        ftok = ti[gstart]  # and a token of each
        n_recs = np.add.reduceat(new_rec.astype(np.int64), gstart)  # records holding each word
        keep = np.flatnonzero(pair)
        pstart = np.searchsorted(keep, gstart)  # each word's first (word, turn) pair
        npairs = np.diff(np.append(pstart, len(keep)))
        pdoc = ds[keep]

        def names(ix):  # the words of uh[ix] (new ones)
            tok = ftok[ix]
            return [buf[a:b].decode("ascii") for a, b in zip(st[tok].tolist(), en[tok].tolist())]

        ids = self._ids_of(uh, names)
        self._cnt[ids] += n_recs
        # places: only for words with fewer than ``cap`` so far, only as many as they lack
        take = np.minimum(np.maximum(self._cap - self._nlocs[ids], 0), npairs).astype(np.int64)
        self._nlocs[ids] += take.astype(np.int32)
        sel = np.flatnonzero(take)
        if len(sel):
            k = take[sel]
            at = np.repeat(pstart[sel] - (np.cumsum(k) - k), k) + np.arange(int(k.sum()))
            d = pdoc[at]
            self._lw.append(np.repeat(ids[sel], k))
            self._ll.append(np.array(batch.lines, dtype=np.int64)[d])
            self._lp.append(np.array(batch.pids, dtype=np.int32)[d])
        # spaced compounds ("pre trained") in the turns holding a prefix word
        sh = _spaced_hashes()
        at = np.minimum(np.searchsorted(uh, sh), len(uh) - 1)
        trig = at[uh[at] == sh]
        if len(trig):
            self._spaced(batch, scans, trig, ids, pstart, npairs, pdoc)

    def _spaced(self, batch: "Batch", scans, trig, ids, pstart, npairs, pdoc) -> None:
        by_doc: dict[int, set[str]] = {}
        for g in trig.tolist():
            w = self._words[ids[g]]
            for d in pdoc[pstart[g]:pstart[g] + npairs[g]].tolist():
                by_doc.setdefault(d, set()).add(w)
        rec_of = batch.recs
        counts, locs, full, cap = self.counts, self.locs, self.full, self._cap
        ptr = list(self._ptrs)
        prev = None
        rec_sp: set[str] = set()
        for d in sorted(by_doc):
            if rec_of[d] != prev:
                counts.update(rec_sp)
                rec_sp = set()
                prev = rec_of[d]
            scan = scans[d]
            sp = {f"{w} {b}" for w in by_doc[d] for b in SPACED[w].findall(scan)}
            rec_sp |= sp
            for f in sp:
                if f not in full:
                    lst = locs[f]
                    lst.append((batch.lines[d], ptr[batch.pids[d]]))
                    if len(lst) >= cap:
                        full.add(f)
        counts.update(rec_sp)

    def _ids_of(self, uh, names):
        """Ids of words given their hashes ``uh`` (sorted, unique); a word seen for the first
        time gets the next id, its string (``names(positions in uh)``) and zeroed counters."""
        np = np_module()
        keys = self._hkeys
        if len(keys):
            pos = np.minimum(np.searchsorted(keys, uh), len(keys) - 1)
            known = keys[pos] == uh
            ids = np.where(known, self._hids[pos], -1)
        else:
            known = np.zeros(len(uh), dtype=bool)
            ids = np.full(len(uh), -1, dtype=np.int64)
        fresh = np.flatnonzero(~known)
        if len(fresh):
            base = len(self._words)
            new_ids = np.arange(base, base + len(fresh), dtype=np.int64)
            ids[fresh] = new_ids
            self._words.extend(names(fresh))
            self._cnt = np.concatenate((self._cnt, np.zeros(len(fresh), dtype=np.int64)))
            self._nlocs = np.concatenate((self._nlocs, np.zeros(len(fresh), dtype=np.int32)))
            allk = np.concatenate((keys, uh[fresh]))
            alli = np.concatenate((self._hids, new_ids))
            order = np.argsort(allk, kind="stable")
            self._hkeys, self._hids = allk[order], alli[order]
        return ids

    def _materialize(self) -> None:
        """Move the batch path's words into ``counts``/``locs``/``full`` (to merge with a part
        that counted per turn); a later batch of this part starts new arrays after them."""
        if self._hkeys is None:
            return
        np = np_module()
        self.fold()
        words, cap = self._words, self._cap
        ptr = list(self._ptrs)
        w, ln, pi = self._loc_arrays()
        locs = self.locs
        for i, a, b in self._runs(w):
            locs[words[i]].extend(zip(ln[a:b].tolist(), [ptr[p] for p in pi[a:b].tolist()]))
        self.full.update(words[i] for i in np.flatnonzero(self._nlocs >= cap).tolist())
        self._words, self._lw, self._ll, self._lp = [], [], [], []
        self._hkeys = self._hids = self._cnt = self._nlocs = self._index = None

    def _loc_arrays(self):
        """All places of the batch path, ordered by word id, file order within a word."""
        np = np_module()
        if not self._lw:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z
        w = np.concatenate(self._lw)
        o = np.argsort(w, kind="stable")
        self._lw, self._ll, self._lp = [w[o]], [np.concatenate(self._ll)[o]], [np.concatenate(self._lp)[o]]
        return self._lw[0], self._ll[0], self._lp[0]

    @staticmethod
    def _runs(w):
        """(id, start, end) of each run of equal ids in the sorted array ``w``."""
        np = np_module()
        if not len(w):
            return []
        starts = np.flatnonzero(np.concatenate(([True], w[1:] != w[:-1])))
        ends = np.append(starts[1:], len(w))
        return zip(w[starts].tolist(), starts.tolist(), ends.tolist())

    def places(self, form: str) -> tuple[list[tuple[int, str]], bool]:
        """The first ``max-locations`` places of ``form`` in file order, and whether it had more:
        those counted per turn (``locs``: always before any batch) then those of the batches."""
        cap = self._cap
        lst = self.locs.get(form, [])
        more = form in self.full
        if self._hkeys is not None and " " not in form:
            if self._index is None:
                self._index = self._loc_arrays() + (list(self._ptrs),)
            w, ln, pi, ptr = self._index
            i = self._id_of(form)
            a = b = 0
            if i is not None:  # its places: the run of its id in the places sorted by id
                np = np_module()
                a, b = (int(x) for x in np.searchsorted(w, [i, i + 1]))
            if a < b:
                b = min(b, a + cap)
                more = more or len(lst) + int(self._nlocs[i]) >= cap
                lst = (lst + list(zip(ln[a:b].tolist(), [ptr[p] for p in pi[a:b].tolist()])))[:cap]
        return lst, more

    def _id_of(self, form: str) -> int | None:
        """The batch path's id of the word ``form`` (found by its hash), or None."""
        if len(self._hkeys) == 0 or not form.isascii():
            return None
        h = word_hash(form)
        np = np_module()
        pos = min(int(np.searchsorted(self._hkeys, np.uint64(h))), len(self._hkeys) - 1)
        if int(self._hkeys[pos]) != h:
            return None
        i = int(self._hids[pos])
        return i if self._words[i] == form else None

    def trim(self) -> None:
        """Cut location lists to the cap and stop collecting for full forms. Done now and then,
        not per occurrence: the per-word loop above stays a bare append."""
        cap = self._cap
        full = self.full
        for w, lst in self.locs.items():
            if len(lst) >= cap:
                del lst[cap:]
                full.add(w)
        self._next_trim = self._appended + max(TRIM_EVERY, len(self.locs))

    def _merge_batches(self, other) -> None:
        """Both parts counted in batches: map the other's word ids onto ours by hash (new words
        get new ids), add counters, append its places after ours (file order)."""
        np = np_module()
        oids = other._hids
        mine = self._ids_of(other._hkeys, lambda ix: [other._words[i] for i in oids[ix].tolist()])
        remap = np.empty(len(other._words), dtype=np.int64)
        remap[oids] = mine
        self._cnt[remap] += other._cnt
        self._nlocs[remap] = np.minimum(self._nlocs[remap] + other._nlocs, self._cap)
        pmap = np.array([self._ptrs.setdefault(p, len(self._ptrs)) for p in other._ptrs] or [0], dtype=np.int32)
        for w, ln, pi in zip(other._lw, other._ll, other._lp):
            self._lw.append(remap[w])
            self._ll.append(ln)
            self._lp.append(pmap[pi])
        self._index = None

    def merge(self, other):
        self.flush()
        other.flush()
        if self._hkeys is not None and other._hkeys is not None:
            self._merge_batches(other)
        elif self._hkeys is not None or other._hkeys is not None:
            self._materialize()
            other._materialize()
        self.trim()
        other.trim()
        self.counts.update(other.counts)
        cap = self._cap
        for w, lst in other.locs.items():
            mine = self.locs[w]
            if len(mine) < cap:
                mine.extend(lst[: cap - len(mine)])
        self.trim()

    def fold(self) -> None:
        """Add the batch path's record counts to ``counts`` (before deciding from them)."""
        if self._hkeys is None:
            return
        np = np_module()
        nz = np.flatnonzero(self._cnt)
        words = self._words
        self.counts.update(dict(zip([words[i] for i in nz.tolist()], self._cnt[nz].tolist())))
        self._cnt[:] = 0
