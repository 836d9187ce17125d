"""Reading a shipped BPE table (``src/tunelint/data/*.tiktoken.gz``) offline, sha256 checked:
what :mod:`tunelint.tokens` (tiktoken encodings) and :mod:`tunelint.chat` (built-in model
tokenizers) both build on, and encoding a long text in linear time (:func:`encode_linear`).
Imports nothing of tunelint but the error model."""
from __future__ import annotations

import os
import re
from typing import Callable

from .model.errors import RuleError


class TokenizerError(RuleError):
    """The shipped BPE table is missing or fails its checksum (a broken installation; exit 2)."""


def load_ranks(gz_path: str, expected_hash: str) -> dict[bytes, int]:
    """Decompress ``gz_path`` and read it with ``tiktoken.load.load_tiktoken_bpe`` (sha256 checked)."""
    import gzip
    import hashlib
    import shutil
    import tempfile

    import tiktoken.load

    name = os.path.basename(gz_path)
    try:
        with gzip.open(gz_path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise TokenizerError(f"cannot read the shipped token table {gz_path}: {e}; reinstall tunelint") from None
    mismatch = TokenizerError(f"the shipped token table {name} fails its sha256 check (expected {expected_hash}); "
                              "the installation is corrupt, reinstall tunelint")
    if hashlib.sha256(raw).hexdigest() != expected_hash:
        raise mismatch
    tmp = tempfile.mkdtemp(prefix="tunelint-bpe-")
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    try:
        path = os.path.join(tmp, name[:-3] if name.endswith(".gz") else name)
        with open(path, "wb") as f:
            f.write(raw)
        del raw
        # A private, empty download cache: tiktoken reads our local file, checks its sha256 against
        # expected_hash (it skips that check when caching is disabled) and never goes online.
        os.environ["TIKTOKEN_CACHE_DIR"] = os.path.join(tmp, "cache")
        try:
            return tiktoken.load.load_tiktoken_bpe(path, expected_hash=expected_hash)
        except ValueError as e:
            if "hash" in str(e).lower():
                raise mismatch from None
            raise TokenizerError(f"cannot parse the shipped token table {gz_path}: {e}") from None
    finally:
        if old is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old
        shutil.rmtree(tmp, ignore_errors=True)


#: texts longer than this are encoded in pieces cut at :func:`piece_cuts`
CHUNK = 4096
#: where no space allows an exact cut, parts of this many characters (BPE time is quadratic in a
#: piece's length; benchmarks/README.md, design measurements)
FIXED_CUT = 256


def piece_cuts(text: str, chunk: int = CHUNK):
    """Offsets that cut ``text`` into parts of at most ``chunk`` characters, each at a boundary
    where tiktoken's pre-tokenizer (cl100k, o200k and Qwen's patterns alike) starts a new piece.

    Why: tiktoken's byte-pair merge is quadratic in the length of one pre-token piece (measured:
    benchmarks/README.md, design measurements), so one long record could
    stall a run. A single space between two non-space characters always starts a piece in those
    patterns (no piece ends in a space unless it is all whitespace, and the piece that starts at
    the space is matched the same whether or not the text before it is there: the patterns have no
    look-behind), and BPE runs per piece, so encoding the parts and joining the ids gives exactly
    the ids of the whole text (a property test checks this on generated text). Only where a
    stretch of ``chunk // 2`` characters holds no such space (a run of one character, a base64
    blob, Chinese without spaces) is the text cut after :data:`FIXED_CUT` characters, which may
    shift the count by a token or two at that cut: the price of linear time, documented with L001."""
    n = len(text)
    start = 0
    clear = 0  # no exact cut lies before this offset (searched already): each character is searched once
    while n - start > chunk:
        lo, hi = start + chunk // 2, start + chunk
        m = None
        if hi > clear:
            m = SAFE_CUT.search(text, max(lo, clear), hi)
            if m is None:
                clear = hi
        cut = m.start() if m is not None else start + min(FIXED_CUT, chunk // 2)
        yield cut
        start = cut


#: a single space between two non-blank characters: where every supported pattern starts a piece
SAFE_CUT = re.compile(r"(?<=\S) (?=\S)")


def encode_linear(encode: Callable[[str], list], text: str, chunk: int = CHUNK) -> list:
    """``encode(text)`` in time linear in ``len(text)`` (see :func:`piece_cuts`)."""
    if len(text) <= chunk:
        return encode(text)
    out: list = []
    prev = 0
    for cut in piece_cuts(text, chunk):
        out += encode(text[prev:cut])
        prev = cut
    out += encode(text[prev:])
    return out
