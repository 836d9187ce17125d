"""The 64-bit content hashes (blake2b, 8 bytes, little-endian) shared by the checks and the report."""
from __future__ import annotations

from hashlib import blake2b


def h64(data: bytes) -> int:
    """A 64-bit hash of ``data`` (exact-duplicate keys, prompt/answer keys, text keys)."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little")


def h64_personal(data: bytes, person: bytes) -> int:
    """:func:`h64` in its own domain (``person``: up to 16 bytes), independent of plain h64."""
    return int.from_bytes(blake2b(data, digest_size=8, person=person).digest(), "little")
