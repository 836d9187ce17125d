"""Per-record keys that a dataset check hands to an external grouper instead of merging them.

With ``--engine ray`` the parts' exact-duplicate keys (D001), prompt keys (D002) and
near-duplicate LSH band keys (D003-D007) are not pickled back to the driver with the rest of
the part state: each part exports them as :class:`KeyTable` s (``DatasetCheck.export_keys``),
:func:`split` cuts each table into ``n`` partitions, Ray's shuffle (``groupby``) brings each
partition of every part to one worker, :func:`reduce` groups it there, and only the groups of
two or more members (duplicate groups, candidate pairs) come back to the driver, where
:func:`combine` joins the partitions' results and the check takes them
(``DatasetCheck.adopt_groups``). :func:`group` does all of it in one process (the reference
the tests compare with).

A table's ``order`` column is each record's *global* identity: its line (JSONL) or row
(tables), unique and increasing in file order, known to every part without knowing the others
(a record index is not: it needs the record counts of the parts before).

Two modes:

- ``members``: ``keys`` (uint64, one per record), ``order``, optional ``payload`` (uint64, one
  per record, e.g. D002's answer hash). Partitioned by key. Result: a list of
  ``(orders, payloads)`` tuples, one per group of 2+ equal keys, members by order, groups by
  their first member's order (``payloads`` is None without a payload column).
- ``pairs``: ``keys`` (uint32, records x columns: LSH bands), ``valid`` (bool, same shape:
  the rows that take part in each column), ``order``. Partitioned by column. Result: the
  candidate pairs ``(I, J, C)`` (two uint64 arrays of orders, ``I < J``, sorted by ``(I, J)``,
  unique, and the number of columns linking each pair) of rows sharing a key in some column,
  each bucket member paired with the bucket's first member and its predecessor
  (:func:`tunelint.minhash.candidate_pairs`' rule, so pairs and counts equal those a check
  finds on the merged keys: :func:`tunelint.minhash.link_counts`).
"""
from __future__ import annotations

from typing import Any, NamedTuple

MODES = ("members", "pairs")


class KeyTable(NamedTuple):
    name: str  # which of the check's tables (a check may export several)
    mode: str  # "members" or "pairs"
    keys: Any  # numpy array (see the module doc)
    order: Any  # uint64 array: each record's line/row
    payload: Any = None  # members: uint64 array or None; pairs: the ``valid`` mask


class Piece(NamedTuple):
    """One partition of one part's table (picklable)."""

    name: str
    mode: str
    cols: tuple  # pairs: the table's column numbers this piece holds; members: ()
    keys: Any
    order: Any
    payload: Any


def _np():
    import numpy as np

    return np


def _mix(x):
    from .minhash import mix

    return mix(x.astype(_np().uint64, copy=True))


def split(table: KeyTable, n: int) -> list[Piece]:
    """``table`` cut into ``n`` partitions (by key for ``members``, by column for ``pairs``);
    piece ``p`` of every part's table goes to the same reducer."""
    np = _np()
    if table.mode == "members":
        part = (_mix(table.keys) % np.uint64(n)).astype(np.int64) if len(table.keys) else np.zeros(0, np.int64)
        out = []
        for p in range(n):
            m = part == p
            out.append(Piece(table.name, "members", (), table.keys[m], table.order[m],
                             None if table.payload is None else table.payload[m]))
        return out
    if table.mode != "pairs":
        raise ValueError(f"unknown key table mode {table.mode!r}")
    ncols = table.keys.shape[1] if table.keys.ndim == 2 else 0
    out = []
    for p in range(n):
        cols = tuple(range(p, ncols, n))
        out.append(Piece(table.name, "pairs", cols, np.ascontiguousarray(table.keys[:, list(cols)]), table.order,
                         np.ascontiguousarray(table.payload[:, list(cols)])))
    return out


def reduce(pieces: list[Piece]):
    """The groups of one partition, from its pieces of every part (in any order)."""
    np = _np()
    pieces = [p for p in pieces if len(p.order)]
    mode = pieces[0].mode if pieces else "members"
    if not pieces:
        return []
    pieces.sort(key=lambda p: int(p.order[0]))  # parts hold disjoint runs of the file: now in file order
    order = np.concatenate([p.order for p in pieces]).astype(np.uint64)
    if mode == "members":
        keys = np.concatenate([p.keys for p in pieces]).astype(np.uint64)
        payload = None if pieces[0].payload is None else np.concatenate([p.payload for p in pieces])
        idx = np.lexsort((order, keys))
        ks = keys[idx]
        brk = np.flatnonzero(ks[1:] != ks[:-1]) + 1
        starts = np.concatenate(([0], brk))
        ends = np.concatenate((brk, [len(ks)]))
        big = (ends - starts) > 1
        out = []
        for s, e in zip(starts[big].tolist(), ends[big].tolist()):
            g = idx[s:e]
            out.append((tuple(order[g].tolist()), None if payload is None else tuple(payload[g].tolist())))
        return out
    from .minhash import candidate_pairs, link_counts

    if np.any(order[1:] <= order[:-1]):
        raise ValueError("key table orders are not unique and increasing across parts")
    cols = pieces[0].cols
    n = len(order)
    codes = []
    for c in range(len(cols)):
        keys = np.concatenate([p.keys[:, c] for p in pieces])
        valid = np.concatenate([p.payload[:, c] for p in pieces])
        codes.append(candidate_pairs(keys[:, None], valid))
    codes, counts = link_counts(codes)
    return order[codes // max(n, 1)], order[codes % max(n, 1)], counts


def combine(mode: str, results: list):
    """One result from the partitions' :func:`reduce` results (in any order)."""
    np = _np() if mode == "pairs" else None
    if mode == "members":
        out = [g for r in results for g in r]
        out.sort(key=lambda g: g[0][0])
        return out
    parts = [r for r in results if isinstance(r, tuple) and len(r[0])]
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.int64)
    I = np.concatenate([r[0] for r in parts])
    J = np.concatenate([r[1] for r in parts])
    C = np.concatenate([r[2] for r in parts])
    idx = np.lexsort((J, I))
    I, J, C = I[idx], J[idx], C[idx]
    first = np.flatnonzero(np.concatenate(([True], (I[1:] != I[:-1]) | (J[1:] != J[:-1]))))
    return I[first], J[first], np.add.reduceat(C, first)  # a pair's columns summed over the partitions


def group(tables: list[KeyTable], n: int = 1):
    """The whole grouping in one process: ``tables`` are one name's tables of every part."""
    parts = [split(t, n) for t in tables]
    mode = tables[0].mode
    return combine(mode, [reduce([pp[p] for pp in parts]) for p in range(n)])
