"""Tabular containers: Parquet, Arrow (``datasets.save_to_disk``), CSV/TSV, and in-memory rows.

A table is read by record batch (Parquet row groups, Arrow IPC batches, CSV rows), sliced to
at most :data:`BATCH_ROWS` rows, and each row becomes one record: a :class:`reader.Chunk`
whose ``line`` is the 1-based **row** (CSV: data row, the header not counted) and whose
``data`` is the row as compact JSON, so the engine and every check treat it as a JSONL line.
Memory is bounded by one batch, never the file. pyarrow is imported only here, only for
Parquet/Arrow (the ``tunelint[parquet]`` extra); CSV uses the standard library.

The row as JSON: a column that is null in a row is absent from the record (a table cannot
leave a key out, so null is how it says "absent"; the same inside struct values); binary
values are base64 text; dates and times ISO 8601 text; anything else JSON cannot hold is
its ``str``. :func:`write_rows` turns such records back into rows of the table's own schema
(``fix``: Parquet in, Parquet out, with the same schema; CSV/TSV keep their header,
delimiter and column order).
"""
from __future__ import annotations

import base64
import csv
import datetime
import decimal
from typing import Any, BinaryIO, Iterator

import orjson

BATCH_ROWS = 1024
#: file name ending -> container
TABLE_EXTS = {".parquet": "parquet", ".arrow": "arrow", ".csv": "csv", ".tsv": "tsv"}
CONTAINER_NAMES = {"parquet": "Parquet", "arrow": "Arrow", "csv": "CSV", "tsv": "TSV", "records": "records"}
_DUMP_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
EXTRA_KEY = "_extra"  # CSV: fields beyond the header's columns


def table_mode(path: str) -> str | None:
    """The tabular container a path names by its extension, or None."""
    name = path.lower()
    for ext, mode in TABLE_EXTS.items():
        if name.endswith(ext):
            return mode
    return None


def pyarrow():
    from .extras import require

    return require("pyarrow", "parquet", "reading and writing Parquet/Arrow")


# -- rows <-> JSON ----------------------------------------------------------------------------
def _default(o: Any) -> Any:
    if isinstance(o, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(o)).decode("ascii")
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, datetime.timedelta):
        return o.total_seconds()
    if hasattr(o, "item") and callable(o.item):  # numpy scalars orjson does not take
        try:
            return o.item()
        except (TypeError, ValueError):
            pass
    return str(o)


#: Parquet schema depth tunelint reads (pyarrow's default, 100, is about 33 levels of JSON lists of
#: objects; a record tunelint parses may nest 1,024 levels, about 3 schema levels each)
SCHEMA_DEPTH = 4096


def parquet_file(path: str):
    """``pyarrow.parquet.ParquetFile`` that reads schemas as deep as a JSON record may nest
    (``schema_depth_limit``; older pyarrow without it: its default)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, schema_depth_limit=SCHEMA_DEPTH)
    except TypeError:  # pyarrow before schema_depth_limit
        return pq.ParquetFile(path)


def drop_nulls(v: Any) -> Any:
    """``v`` with null values left out of every mapping (NaN counts as null), recursively."""
    if isinstance(v, dict):
        return {k: drop_nulls(x) for k, x in v.items() if x is not None and not (isinstance(x, float) and x != x)}
    if isinstance(v, (list, tuple)):
        return [drop_nulls(x) for x in v]
    return v


def row_json(row: Any) -> bytes:
    """One row (a mapping of column -> value) as compact JSON, nulls left out."""
    return orjson.dumps(drop_nulls(row), default=_default, option=_DUMP_OPTS)


# -- reading ---------------------------------------------------------------------------------
def iter_rows(data: Any) -> Iterator[Any]:
    """The records of an in-memory dataset: a pandas DataFrame, a ``datasets`` Dataset or
    IterableDataset (duck-typed: nothing imports ``datasets``), a pyarrow Table, or any iterable
    of mappings. Large objects are read in batches of :data:`BATCH_ROWS`."""
    if hasattr(data, "to_batches") and hasattr(data, "schema"):  # pyarrow Table / RecordBatch
        for b in data.to_batches(max_chunksize=BATCH_ROWS):
            yield from b.to_pylist()
        return
    if hasattr(data, "iloc") and hasattr(data, "columns"):  # pandas DataFrame
        for start in range(0, len(data), BATCH_ROWS):
            yield from data.iloc[start:start + BATCH_ROWS].to_dict("records")
        return
    if hasattr(data, "with_format") and hasattr(data, "iter"):  # datasets.Dataset / IterableDataset
        try:
            batches = data.with_format("arrow").iter(batch_size=BATCH_ROWS)
        except Exception:  # an older or different implementation: plain rows below
            batches = None
        if batches is not None:
            for b in batches:
                if hasattr(b, "to_pylist"):
                    yield from b.to_pylist()
                else:  # a dict of columns
                    cols = list(b)
                    yield from (dict(zip(cols, vals)) for vals in zip(*(b[c] for c in cols)))
            return
    yield from data


# -- writing ---------------------------------------------------------------------------------
def _revive(v: Any, t) -> Any:
    """A JSON value back into the Python value pyarrow expects for type ``t`` (the inverse of
    :func:`row_json` for binary, date/time and decimal values)."""
    import pyarrow.types as pt

    if v is None:
        return None
    if pt.is_struct(t):
        if not isinstance(v, dict):
            return v
        return {t.field(i).name: _revive(v.get(t.field(i).name), t.field(i).type) for i in range(t.num_fields)}
    if pt.is_list(t) or pt.is_large_list(t) or pt.is_fixed_size_list(t):
        return [_revive(x, t.value_type) for x in v] if isinstance(v, list) else v
    if pt.is_map(t):
        return [(_revive(k, t.key_type), _revive(x, t.item_type)) for k, x in v] if isinstance(v, list) else v
    if (pt.is_binary(t) or pt.is_large_binary(t) or pt.is_fixed_size_binary(t)) and isinstance(v, str):
        return base64.b64decode(v)
    if pt.is_decimal(t) and isinstance(v, (str, int, float)):
        return decimal.Decimal(str(v))
    if pt.is_timestamp(t) and isinstance(v, str):
        return datetime.datetime.fromisoformat(v)
    if pt.is_date(t) and isinstance(v, str):
        return datetime.date.fromisoformat(v)
    if pt.is_time(t) and isinstance(v, str):
        return datetime.time.fromisoformat(v)
    if pt.is_duration(t) and isinstance(v, (int, float)):
        return datetime.timedelta(seconds=v)
    return v


class TableWriter:
    """Writes records (parsed JSON objects) as rows of a table with ``schema``: Parquet or Arrow
    (pyarrow schema, batches of :data:`BATCH_ROWS`) or CSV/TSV (``schema`` = header)."""

    def __init__(self, f: BinaryIO, mode: str, schema: Any, dialect: str = ","):
        self.mode = mode
        self.schema = schema
        self.f = f
        self.pending: list = []
        self.n = 0
        self._w = None
        if mode in ("csv", "tsv"):
            import io

            self._text = io.TextIOWrapper(f, encoding="utf-8", newline="", write_through=True)
            self._csv = csv.writer(self._text, delimiter=dialect, lineterminator="\n")
            self._csv.writerow(schema or [])

    def add(self, obj: Any) -> None:
        self.n += 1
        if self.mode in ("csv", "tsv"):
            if not isinstance(obj, dict):
                raise ValueError(f"row {self.n} is not an object and has no CSV form")
            fields = [_csv_cell(obj.get(h)) for h in self.schema]
            extra = obj.get(EXTRA_KEY)
            if isinstance(extra, list):
                fields += [_csv_cell(x) for x in extra]
            self._csv.writerow(fields)
            return
        self.pending.append(obj)
        if len(self.pending) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        pa = pyarrow()
        rows = []
        for i, obj in enumerate(self.pending):
            if not isinstance(obj, dict):
                raise ValueError(f"row {self.n - len(self.pending) + i + 1} is not an object and has no table form")
            rows.append({f.name: _revive(obj.get(f.name), f.type) for f in self.schema})
        table = pa.Table.from_pylist(rows, schema=self.schema)
        self.pending = []
        if self._w is None:
            if self.mode == "parquet":
                import pyarrow.parquet as pq

                self._w = pq.ParquetWriter(self.f, self.schema)
            else:
                self._w = pa.ipc.new_stream(self.f, self.schema)
        self._w.write_table(table)

    def close(self) -> None:
        if self.mode in ("csv", "tsv"):
            self._text.flush()
            self._text.detach()
            return
        self._flush()
        if self._w is None:  # no rows: still a valid, empty table of the same schema
            pa = pyarrow()
            if self.mode == "parquet":
                import pyarrow.parquet as pq

                self._w = pq.ParquetWriter(self.f, self.schema)
            else:
                self._w = pa.ipc.new_stream(self.f, self.schema)
        self._w.close()


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return orjson.dumps(v, default=_default).decode()
