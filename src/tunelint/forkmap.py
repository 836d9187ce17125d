"""Run work in forked child processes (POSIX) and take the results back through pipes.

The children inherit the parent's state copy-on-write, so nothing is pickled on the way in;
only results travel back (pickled). If a process cannot be forked, or a child fails for any
reason, its work is done in this process instead: the results are the same either way.

``--jobs N`` sets :func:`workers` so a dataset check's ``finish`` may split its heaviest loop
(the near-duplicate verification) over N processes; one process when N is 1.
"""
from __future__ import annotations

import os
import pickle

_WORKERS = 1
_FAILED = object()


def cpus() -> int:
    """CPUs this process may run on: its affinity (taskset, cgroup cpusets in containers), not
    the machine's count, so an automatic --jobs never starts more workers than can run."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_workers(n: int) -> None:
    global _WORKERS
    _WORKERS = max(1, int(n))


def workers() -> int:
    return _WORKERS


def spawn(fn):
    """Start ``fn()`` in a forked child: a handle for :func:`collect`, or None (no fork here)."""
    if not hasattr(os, "fork"):
        return None
    rfd, wfd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        return None
    if pid == 0:  # the child: compute, send, leave at once (no atexit, no cleanup of the parent's state)
        code = 1
        try:
            os.close(rfd)
            data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(wfd, "wb") as f:
                f.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    return pid, rfd


def collect(child, fallback):
    """The child's result; ``fallback()`` computed here when there is no child or it failed."""
    if child is None:
        return fallback()
    pid, rfd = child
    with os.fdopen(rfd, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    try:
        got = pickle.loads(data) if status == 0 else _FAILED
    except Exception:
        got = _FAILED
    return fallback() if got is _FAILED else got


def fork_map(fn, chunks: list) -> list:
    """``[fn(c) for c in chunks]``, the first chunk here and the others in forked children."""
    if len(chunks) < 2:
        return [fn(c) for c in chunks]
    children = [spawn(lambda c=c: fn(c)) for c in chunks[1:]]
    out = [fn(chunks[0])]
    for c, child in zip(chunks[1:], children):
        out.append(collect(child, lambda c=c: fn(c)))
    return out
