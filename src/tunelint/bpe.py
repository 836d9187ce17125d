"""Reading a shipped BPE table (``src/tunelint/data/*.tiktoken.gz``) offline, sha256 checked:
what :mod:`tunelint.tokens` (tiktoken encodings) and :mod:`tunelint.chat` (built-in model
tokenizers) both build on. Imports nothing of tunelint but the error model."""
from __future__ import annotations

import os

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
