"""Vectorized MinHash (one-permutation hashing) and LSH banding for near-duplicate detection.

Everything here works on *batches* of texts at once with numpy, so the cost per record is a
few array operations amortized over thousands of records (no Python loop per shingle).

- Texts are lower-cased; a *word* is a maximal run of ASCII letters/digits or non-ASCII bytes
  (so CJK and accented text count as words); punctuation and whitespace separate words.
- Shingles are word bigrams; texts with fewer than ``SHORT_WORDS`` words also get their
  unigrams (a short prompt has too few bigrams for a stable signature). A text with a single
  word has that one word as its only shingle, so two *different* short texts never share an
  empty signature: a text with no word at all gets no signature and is never a candidate
  (exact copies of it are D001's business).
- Word hashes are polynomial hashes over the bytes computed with one prefix sum (mod 2**32,
  combined with the word's length),
  then mixed (splitmix64 finalizer). Deterministic across processes and platforms (--jobs).
- One-permutation hashing: each shingle hash goes to bin ``h >> (64-log2(BINS))`` and the bin
  keeps the minimum of the low 32 bits; empty bins are filled by rotation densification
  (Shrivastava & Li 2014), so P[equal bin] ~ Jaccard similarity of the shingle sets.
- LSH: ``BANDS`` bands of ``ROWS`` bins each, hashed to one uint32 key per band. Two texts are
  candidates when any band key matches: P = 1-(1-J**ROWS)**BANDS (J=0.5: 0.87, J=0.6: 0.99,
  J=0.3: 0.23, J=0.1: 3e-6), so cost stays linear in records.
"""
from __future__ import annotations

BINS = 128
BANDS = 32
ROWS = 4
SHORT_WORDS = 2  # only a one-word text uses its unigram (common words would make every short text a candidate)

_M64 = (1 << 64) - 1
_B = 0x01000193  # odd: invertible mod 2**32 (word hashes are 32-bit, then mixed to 64 with the length)
_BINV = pow(_B, -1, 1 << 32)
_powers = None  # (B**i, B**-i) for i < len, grown on demand


def np_module():
    import numpy as np

    return np


def power_tables(base: int, inv: int, m: int, dtype):
    """(base**i, inv**i) for i < m, wrapping in ``dtype`` (inv: base's inverse modulo its range)."""
    np = np_module()
    with np.errstate(over="ignore"):
        b = np.full(m, base, dtype=dtype)
        b[0] = 1
        binv = np.full(m, inv, dtype=dtype)
        binv[0] = 1
        return np.cumprod(b, dtype=dtype), np.cumprod(binv, dtype=dtype)


def _pow_tables(n: int):
    global _powers
    if _powers is None or len(_powers[0]) < n:
        m = max(n + (n >> 1), 1 << 20)  # 4 bytes x 2 tables per entry: sized to the batch, not far beyond
        _powers = power_tables(_B, _BINV, m, np_module().uint32)
    return _powers


def mix(x):
    """splitmix64 finalizer, in place on a uint64 array."""
    np = np_module()
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


_LUT = None


def _word_lut():
    """(is-word-byte table, byte -> ASCII lower case + 1 as uint32: the word hash's character values)."""
    global _LUT
    if _LUT is None:
        np = np_module()
        lut = np.zeros(256, dtype=bool)
        for c in b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            lut[c] = True
        lut[128:] = True
        low1 = np.arange(1, 257, dtype=np.uint32)
        low1[65:91] += 32
        _LUT = (lut, low1)
    return _LUT


def encode_batch(texts: list[str]) -> tuple[bytes, "object"]:
    """Join texts into one UTF-8 buffer; return it and the doc end offsets.

    Doc ``d`` is ``buf[ends[d-1]+1 : ends[d]]`` (with ``ends[-1] = -1``). NUL separates docs.
    """
    np = np_module()
    joined = "\x00".join(t.replace("\x00", " ") if "\x00" in t else t for t in texts) + "\x00"
    buf = joined.encode("utf-8", "replace")  # ASCII case is folded in signatures()
    arr = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(arr == 0)
    return buf, ends


def signatures(buf: bytes, ends) -> tuple["object", "object"]:
    """OPH signatures for the docs of one encoded batch, bin-major (``BINS x n_docs`` uint32:
    row ``b`` holds bin ``b`` of every doc), and a bool array saying which docs have at least
    one word (the others have no usable signature)."""
    np = np_module()
    n_docs = len(ends)
    arr = np.frombuffer(buf, dtype=np.uint8)
    n = len(arr)
    wlut, low1 = _word_lut()
    isw = wlut[arr]
    prev = np.empty(n, dtype=bool)
    prev[0] = False
    prev[1:] = isw[:-1]
    nxt = np.empty(n, dtype=bool)
    nxt[-1] = False
    nxt[:-1] = isw[1:]
    starts = np.flatnonzero(isw & ~prev)
    tends = np.flatnonzero(isw & ~nxt) + 1
    sig = np.full((BINS, n_docs), 0xFFFFFFFF, dtype=np.uint32)
    if len(starts) == 0:
        return sig, np.zeros(n_docs, dtype=bool)
    pw, pinv = _pow_tables(n + 1)
    with np.errstate(over="ignore"):
        c = low1[arr]
        c *= pinv[:n]
        S = np.empty(n + 1, dtype=np.uint32)
        S[0] = 0
        np.cumsum(c, out=S[1:], dtype=np.uint32)
        h32 = (S[tends] - S[starts]) * pw[tends - 1]
        h = h32.astype(np.uint64) | ((tends - starts).astype(np.uint64) << np.uint64(32))
        h = mix(h)
        doc = np.searchsorted(ends, starts)  # doc index of every word
        counts = np.bincount(doc, minlength=n_docs)
        has = counts > 0
        # bigrams of consecutive words in the same doc
        same = doc[1:] == doc[:-1]
        bi = h[:-1][same] * np.uint64(0x9E3779B97F4A7C15) + (h[1:][same] ^ np.uint64(0x632BE59BD9B4E019))
        bi = mix(bi)
        bdoc = doc[:-1][same]
        # unigrams for short docs (and the only shingle of one-word docs)
        short = counts[doc] < SHORT_WORDS
        sh = np.concatenate((bi, h[short]))
        sdoc = np.concatenate((bdoc, doc[short]))
        b = (sh >> np.uint64(64 - 7)).astype(np.intp)  # BINS == 128
        v = np.minimum(sh & np.uint64(0xFFFFFFFF), np.uint64(0xFFFFFFFE)).astype(np.uint32)
    b *= n_docs
    b += sdoc
    np.minimum.at(sig.reshape(-1), b, v)
    _densify(sig)
    return sig, has


def _densify(sig) -> None:
    """Rotation densification of bin-major signatures, in place: an empty bin takes the next
    non-empty bin to its right (circularly) plus a constant times the distance. Docs with no
    bin at all stay empty (no signature). One pass from the last bin to the first, carrying
    each doc's next non-empty value and distance (vectorized over docs)."""
    np = np_module()
    empty = sig == 0xFFFFFFFF
    if not empty.any():
        return
    full = ~empty
    first = np.argmax(full, axis=0)  # each doc's first non-empty bin: where the wrap lands
    docs = np.arange(sig.shape[1])
    val = sig[first, docs]
    dist = first.astype(np.uint32)  # from the last bin, the wrap is first + 1 bins away
    one = np.uint32(1)
    step = np.uint32(0x9E3779B1)
    with np.errstate(over="ignore"):
        for j in range(BINS - 1, -1, -1):
            row = sig[j]
            val = np.where(full[j], row, val)
            dist += one
            dist *= empty[j]
            row[:] = val + dist * step  # a non-empty bin: itself, distance 0
    dead = np.flatnonzero(~full[first, docs])  # no bin at all: back to empty
    if len(dead):
        sig[:, dead] = 0xFFFFFFFF


def band_keys(sig):
    """One uint32 key per band (n_docs x BANDS) from bin-major signatures."""
    np = np_module()
    # band b = bins b, b+BANDS, b+2*BANDS, b+3*BANDS: bins far apart are filled from different
    # shingles by rotation densification, so a band rarely hinges on a single shingle
    u = np.uint64
    x0 = sig[:BANDS].astype(u) | (sig[BANDS:2 * BANDS].astype(u) << u(32))
    x1 = sig[2 * BANDS:3 * BANDS].astype(u) | (sig[3 * BANDS:].astype(u) << u(32))
    with np.errstate(over="ignore"):
        x0 *= u(0xD6E8FEB86659FD93)
        k = mix(x0 ^ mix(x1))
    return np.ascontiguousarray((k >> u(32)).astype(np.uint32).T)


def candidate_pairs(keys, valid, max_first: int = 1):
    """Candidate pairs (i < j, as one int64 code ``i * n + j``) of rows sharing a band key.

    Inside a bucket every member is paired with the bucket's first member and with its
    predecessor (linear in bucket size, never all pairs). ``valid`` masks rows without a
    signature. Returns a sorted unique int64 array.
    """
    np = np_module()
    n = len(keys)
    rows = np.flatnonzero(valid)
    if len(rows) < 2:
        return np.zeros(0, dtype=np.int64)
    out = []
    for b in range(keys.shape[1]):
        packed = (keys[rows, b].astype(np.uint64) << np.uint64(32)) | rows.astype(np.uint64)
        packed.sort()
        sk = packed >> np.uint64(32)
        same = sk[1:] == sk[:-1]
        if not same.any():
            continue
        r = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
        # predecessor links
        i, j = r[:-1][same], r[1:][same]
        out.append(np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j))
        # first-member links
        newgrp = np.concatenate(([True], ~same))
        gid = np.cumsum(newgrp) - 1
        first = r[np.flatnonzero(newgrp)][gid]
        m = first != r
        i, j = first[m], r[m]
        out.append(np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j))
    if not out:
        return np.zeros(0, dtype=np.int64)
    return sorted_unique(np.concatenate(out))


def link_counts(code_arrays: list):
    """The candidate pairs of several columns (``candidate_pairs`` results, one per column, each
    already unique): sorted unique codes and, for each, the number of columns linking it (the
    LSH evidence for the pair: more bands agree on closer texts)."""
    np = np_module()
    if not code_arrays:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    codes, counts = np.unique(np.concatenate(code_arrays), return_counts=True)
    return codes.astype(np.int64), counts.astype(np.int64)


def bounded(I, J, counts, k: int):
    """Which pairs (numpy arrays, ``I < J``) to verify: for each later record ``J`` at most the
    ``k`` pairs linked in the most columns (ties: the earlier ``I``), so verification work is at
    most ``k`` pairs per record however many records share parts of their texts. A bool mask."""
    np = np_module()
    keep = np.zeros(len(J), dtype=bool)
    if not len(J):
        return keep
    idx = np.lexsort((I, -np.asarray(counts, dtype=np.int64), J))
    Js = np.asarray(J)[idx]
    new = np.concatenate(([True], Js[1:] != Js[:-1]))
    at = np.arange(len(Js))
    first = np.maximum.accumulate(np.where(new, at, 0))  # where each J's run starts
    keep[idx[at - first < k]] = True
    return keep


def py_bounded(pairs: dict, k: int) -> list:
    """``bounded`` in pure Python: ``pairs`` maps ``(i, j)`` to its column count; the kept
    pairs, sorted."""
    per: dict[int, list] = {}
    for (i, j), c in pairs.items():
        per.setdefault(j, []).append((-c, i))
    out = []
    for j, lst in per.items():
        lst.sort()
        out.extend((i, j) for _, i in lst[:k])
    return sorted(out)


def sorted_unique(a):
    np = np_module()
    a = np.sort(a)
    if len(a) < 2:
        return a
    return a[np.concatenate(([True], a[1:] != a[:-1]))]


# -- the same in pure Python, for small inputs (importing numpy is a third of a small check's start) --
import re as _re

_PYWORD = _re.compile(rb"[a-z0-9\x80-\xff]+")
_M32 = 0xFFFFFFFF
_WORDS: dict[bytes, int] = {}  # word -> its mixed hash


def pymix(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def py_band_keys(text: str) -> tuple[int, ...] | None:
    """The ``BANDS`` band keys of one text, bit for bit what ``band_keys(signatures(...))``
    gives for it; None for a text without a word (no signature)."""
    raw = text.replace("\x00", " ").encode("utf-8", "replace").lower()  # bytes.lower(): ASCII only
    words = _PYWORD.findall(raw)
    if not words:
        return None
    hs = []
    cache = _WORDS
    for w in words:
        x = cache.get(w)
        if x is None:
            h = 0
            for c in w:
                h = (h * _B + c + 1) & _M32
            if len(cache) >= 100_000:
                cache.clear()
            x = cache[w] = pymix(h | (len(w) << 32))
        hs.append(x)
    sh = [pymix((a * 0x9E3779B97F4A7C15 + (b ^ 0x632BE59BD9B4E019)) & _M64) for a, b in zip(hs, hs[1:])]
    if len(hs) < SHORT_WORDS:
        sh += hs
    sig = [_M32] * BINS
    for s in sh:
        b = s >> 57
        v = min(s & _M32, 0xFFFFFFFE)
        if v < sig[b]:
            sig[b] = v
    if _M32 in sig:  # rotation densification (a text with a word fills at least one bin)
        out = sig[:]
        nxt = 0
        for j in range(2 * BINS - 1, -1, -1):  # right to left over the row twice: circular
            if sig[j & (BINS - 1)] != _M32:
                nxt = j
            elif j < BINS:
                out[j] = (sig[nxt & (BINS - 1)] + (nxt - j) * 0x9E3779B1) & _M32
        sig = out
    keys = []
    for b in range(BANDS):
        x0 = sig[b] | (sig[b + BANDS] << 32)
        x1 = sig[b + 2 * BANDS] | (sig[b + 3 * BANDS] << 32)
        keys.append(pymix(((x0 * 0xD6E8FEB86659FD93) & _M64) ^ pymix(x1)) >> 32)
    return tuple(keys)


def py_candidate_pairs(keys: list, n: int, counts: dict | None = None) -> list[int]:
    """``candidate_pairs`` for rows given as ``py_band_keys`` results (None = no signature),
    one band at a time: sorted unique codes ``i * n + j``. With ``counts`` (a dict), each
    code's number of linking bands is added to it (``link_counts``)."""
    out = set()
    rows = [r for r, k in enumerate(keys) if k is not None]
    for b in range(BANDS):
        buckets: dict[int, list[int]] = {}
        for r in rows:
            buckets.setdefault(keys[r][b], []).append(r)
        band = set()
        for members in buckets.values():
            if len(members) > 1:
                first = members[0]
                for prev, r in zip(members, members[1:]):
                    band.add(prev * n + r)
                    band.add(first * n + r)
        out |= band
        if counts is not None:
            for c in band:
                counts[c] = counts.get(c, 0) + 1
    return sorted(out)
