"""Bounded memory (``--memory``): the run's budget and the append-only columns that spill to disk.

Dataset checks keep per-record state (hashes, line numbers, band keys, style features) in
:class:`Column`s instead of plain ``array``s. A column appends to an in-memory ``array`` (its
``append`` *is* that array's bound method: no cost per record) and, when the process's
:class:`Pool` holds more than its limit, its bytes are appended to a file in the run's spill
directory and the array is emptied. Reading a column back (``array()``, ``numpy()``,
``blocks()``, iteration) gives every item in append order, from the file then from memory.

The mechanism is in this one place:
- :func:`budget` (a context manager; the engine's ``lint`` and the fixer open it with
  ``Config.memory``) sets the budget of the runs inside it and owns the spill directory, which
  is created on the first spill and removed when the context exits, errors included;
- each process has one :class:`Pool` (:func:`pool`): a forked ``--jobs`` worker gets its own,
  with ``limit // jobs``, so the processes together stay within the budget;
- the engine calls :meth:`Pool.check` every ``CHECK_EVERY`` records: past the pool's limit,
  the largest columns are written out until it holds at most half of it;
- a column crosses processes (``--jobs`` parts pickled back to the parent) as the path of its
  file plus its in-memory tail; :meth:`Column.extend_from` appends another column (a later part)
  in order, copying its file block by block.

The pool's limit is ``STATE_SHARE`` of the budget: the rest is left for what does not grow with
the records (the interpreter, numpy, the tokenizer's tables, one batch's temporary arrays) and
for what a check loads back to decide in ``finish`` (see DEVELOPERS.md, "Bounded memory").
Without a budget (no :func:`budget` context: the Python API's ``FileRun`` used directly, Ray
actors) columns never spill.
"""
from __future__ import annotations

import os
import weakref
from array import array
from contextlib import contextmanager

DEFAULT_MEMORY = 1_000_000_000  # 1 GB: see budget()
STATE_SHARE = 4  # the pool keeps at most 1/STATE_SHARE of the budget in columns
CHECK_EVERY = 1024  # records between two Pool.check() calls of the engine
BLOCK_ITEMS = 1 << 18  # items per block when a column is read back in blocks

_session: "_Session | None" = None
last: "_Session | None" = None  # the latest budget opened (tests, benchmarks: .dir, .spilled())


class _Session:
    def __init__(self, memory: int | None, jobs: int):
        self.memory = memory
        self.jobs = max(1, jobs)
        self.pid = os.getpid()
        self.dir = None  # chosen here, created on the first spill (by any process of the run)
        self.pools: dict[int, Pool] = {}

    def spill_dir(self) -> str:
        self._name()
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        return self.dir

    def _name(self) -> None:
        if self.dir is None:
            import tempfile

            self.dir = os.path.join(tempfile.gettempdir(), f"tunelint-spill-{self.pid}-{os.urandom(6).hex()}")

    def spilled(self) -> int:
        """Bytes this process's pool wrote out in this budget."""
        p = self.pools.get(os.getpid())
        return p.spilled if p is not None else 0

    def prepare(self) -> None:
        """Choose the directory's name before forking workers (they inherit it)."""
        if self.memory is not None:
            self._name()


@contextmanager
def budget(memory: int | None = DEFAULT_MEMORY, jobs: int = 1):
    """Bound the dataset state of the runs inside to about ``memory`` bytes (None: no bound);
    ``jobs`` processes share it. The spill directory is removed on exit, whatever happens."""
    global _session, last
    outer = _session
    s = _session = last = _Session(memory, jobs)
    try:
        yield s
    finally:
        _session = outer
        if s.dir is not None and os.getpid() == s.pid:
            import shutil

            shutil.rmtree(s.dir, ignore_errors=True)


def prepare_fork() -> None:
    """Called before ``--jobs`` forks its workers: they will spill into the same directory."""
    if _session is not None:
        _session.prepare()


def pool() -> "Pool":
    """This process's pool in the current budget (an unbounded one outside :func:`budget`)."""
    s = _session
    if s is None or s.memory is None:
        return _UNBOUNDED
    p = s.pools.get(os.getpid())
    if p is None:  # each process (the parent, a forked --jobs worker) has its share of the budget
        p = s.pools[os.getpid()] = Pool(max(1, s.memory // STATE_SHARE // s.jobs), s)
    return p


class Pool:
    """The columns of one process and the most bytes they may hold in memory together."""

    def __init__(self, limit: int | None, session: _Session | None = None):
        self.limit = limit
        self.session = session
        self.columns = weakref.WeakSet()  # a finished file's columns go with its checks
        self.spilled = 0  # bytes written out (for tests and benchmarks)
        self._n = 0

    def column(self, typecode: str) -> "Column":
        c = Column(typecode)
        if self.limit is not None:
            c.pool = self
            self.columns.add(c)
        return c

    def held(self) -> int:
        return sum(c.mem.itemsize * len(c.mem) for c in self.columns)

    def check(self) -> None:
        """Past the limit, write out the largest columns until at most half of it is held."""
        if self.limit is None:
            return
        cols = list(self.columns)
        held = sum(len(c.mem) * c.mem.itemsize for c in cols)
        if held <= self.limit:
            return
        for c in sorted(cols, key=lambda c: len(c.mem) * c.mem.itemsize, reverse=True):
            if held <= self.limit // 2:
                break
            held -= len(c.mem) * c.mem.itemsize
            c.spill()

    def new_path(self) -> str:
        self._n += 1
        return os.path.join(self.session.spill_dir(), f"{os.getpid()}-{self._n}.col")


_UNBOUNDED = Pool(None)


class Column:
    """An append-only column of one ``array`` typecode; its head may live in a file.

    ``append`` and ``extend`` are the in-memory array's own methods; ``add_bytes`` appends raw
    items (a numpy array's buffer). Read it back whole (``array()``, ``numpy()``), in blocks, or
    item by item (``col[i]``: a spilled column loads its file once for that and keeps it)."""

    def __init__(self, typecode: str):
        self.typecode = typecode
        self.mem = array(typecode)
        self.path: str | None = None
        self.spilled = 0  # items in the file
        self.pool: Pool | None = None
        self._loaded: array | None = None
        self._bind()

    def _bind(self) -> None:
        self.append = self.mem.append
        self.extend = self.mem.extend

    def add_bytes(self, items) -> None:
        """Append raw items: a C-contiguous buffer of this column's item type (a numpy array)."""
        self.mem.frombytes(memoryview(items).cast("B"))

    def __len__(self) -> int:
        return self.spilled + len(self.mem)

    @property
    def itemsize(self) -> int:
        return self.mem.itemsize

    def spill(self) -> None:
        """Append the in-memory items to this column's file and empty the array."""
        if not self.mem:
            return
        if self.path is None:
            self.path = (self.pool or pool()).new_path()
        with open(self.path, "ab") as f:
            self.mem.tofile(f)
        if self.pool is not None:
            self.pool.spilled += len(self.mem) * self.mem.itemsize
        self.spilled += len(self.mem)
        del self.mem[:]
        self._loaded = None

    def blocks(self, items: int = BLOCK_ITEMS):
        """The items in order, as arrays of at most ``items`` (file blocks, then the memory's)."""
        if self.spilled:
            with open(self.path, "rb") as f:
                left = self.spilled
                while left:
                    a = array(self.typecode)
                    a.fromfile(f, min(items, left))
                    left -= len(a)
                    yield a
        if self.mem:
            yield self.mem

    def __iter__(self):
        if not self.spilled:
            return iter(self.mem)
        return (x for b in self.blocks() for x in b)

    def array(self) -> array:
        """Every item as one in-memory ``array`` (the column itself when nothing is spilled)."""
        if not self.spilled:
            return self.mem
        out = array(self.typecode)
        with open(self.path, "rb") as f:
            out.fromfile(f, self.spilled)
        out.extend(self.mem)
        return out

    def numpy(self, dtype):
        """Every item as a numpy array of ``dtype`` (same item size)."""
        import numpy as np

        if not self.spilled:
            return np.frombuffer(self.mem, dtype=dtype).copy() if self.mem else np.zeros(0, dtype=dtype)
        out = np.empty(len(self), dtype=dtype)
        with open(self.path, "rb") as f:
            f.readinto(memoryview(out[:self.spilled]).cast("B"))
        if self.mem:
            out[self.spilled:] = np.frombuffer(self.mem, dtype=dtype)
        return out

    def __getitem__(self, i):
        if not self.spilled:
            return self.mem[i]
        if self._loaded is None or len(self._loaded) != len(self):
            self._loaded = self.array()
        return self._loaded[i]

    def extend_from(self, other: "Column", remap=None) -> None:
        """Append every item of ``other`` (a later part's column), mapped through ``remap``
        (a list: item -> remap[item]) if given; ``other`` is left empty. A plain ``array``
        is appended as it is."""
        if not isinstance(other, Column):
            self.mem.extend(other if remap is None else map(remap.__getitem__, other))
            return
        if remap is None and other.spilled:
            self.spill()
            if self.path is None:
                self.path = (self.pool or pool()).new_path()
            import shutil

            with open(other.path, "rb") as src, open(self.path, "ab") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            self.spilled += other.spilled
            self.mem.extend(other.mem)
        else:
            for b in other.blocks():
                self.mem.extend(b if remap is None else map(remap.__getitem__, b))
                if self.pool is not None and len(self.mem) * self.mem.itemsize > self.pool.limit // 2:
                    self.spill()
        other.clear()
        self._loaded = None
        if self.pool is not None:
            self.pool.check()

    def clear(self) -> None:
        if self.path is not None:
            try:
                os.remove(self.path)
            except OSError:
                pass
        self.path, self.spilled = None, 0
        del self.mem[:]
        self._loaded = None

    def __getstate__(self):
        # another process (the --jobs parent) takes the file over: its path travels, not its bytes
        return {"typecode": self.typecode, "path": self.path, "spilled": self.spilled, "mem": self.mem}

    def __setstate__(self, d):
        self.typecode, self.path, self.spilled, self.mem = d["typecode"], d["path"], d["spilled"], d["mem"]
        self._loaded = None
        self._bind()
        self.pool = None
        p = pool()  # unpickled in the --jobs parent: its budget holds this column from now on
        if p.limit is not None:
            self.pool = p
            p.columns.add(self)

    def __repr__(self) -> str:
        return f"Column({self.typecode!r}, {len(self)} items, {self.spilled} spilled)"
