"""Atomic writes: write to a temporary file in the destination's directory, then rename."""
from __future__ import annotations

import contextlib
import os
import tempfile

from .model.errors import UserError


@contextlib.contextmanager
def atomic_write(path: str, mode: str = "wb", encoding: str | None = None):
    path = os.path.abspath(path)
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tunelint-", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline="" if "b" not in mode else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        replace_file(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def replace_file(tmp: str, path: str) -> None:
    """Rename the finished, synced temporary file ``tmp`` (in ``path``'s directory) over ``path``:
    the one atomic replacement every writer uses. An existing file's mode is kept; a new file
    gets the usual 0666 & ~umask, not mkstemp's 0600."""
    try:
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)
    except OSError:
        pass
    os.replace(tmp, path)


def atomic_write_text(path: str):
    return atomic_write(path, "w", encoding="utf-8")


class Unwritable(UserError):
    """An output or side file that cannot be written (one line for the user, exit 2)."""


def check_writable(path: str, what: str, append: bool = False) -> None:
    """Raise :class:`Unwritable` unless ``path`` can be written the way :func:`atomic_write`
    writes it (a temporary file in its directory, renamed over it). Called for every output and
    side file before any data is replaced, so a typo in one path loses nothing."""
    a = os.path.abspath(path)
    d = os.path.dirname(a)
    if os.path.isdir(a):
        raise Unwritable(f"cannot write the {what} {path}: it is a directory; give a file name")
    if not os.path.isdir(d):
        why = "does not exist" if not os.path.exists(d) else "is not a directory"
        raise Unwritable(f"cannot write the {what} {path}: directory {d} {why}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tunelint-", suffix=".tmp", dir=d)
    except OSError as e:
        raise Unwritable(f"cannot write the {what} {path}: {e.strerror or e}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    if append and os.path.exists(a) and not os.access(a, os.R_OK):
        raise Unwritable(f"cannot write the {what} {path}: the existing file cannot be read (tunelint appends to it)")

