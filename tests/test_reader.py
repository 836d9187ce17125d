"""The streaming reader: JSONL lines, JSON-array elements with their start lines, gzip."""
from __future__ import annotations

import gzip
import json

import orjson
import pytest

from tunelint.reader import Chunk, FileProblem, PhysLine, Source, iter_input_paths


def chunks(path, **kw):
    return [c for c in Source(str(path), **kw) if isinstance(c, Chunk)]


def problems(path):
    return [c for c in Source(str(path)) if isinstance(c, FileProblem)]


def test_jsonl_lines_and_endings(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(b'{"a": 1}\r\n\n{"b": 2}')
    cs = chunks(f)
    assert [(c.line, c.data, c.phys.ending) for c in cs] == [(1, b'{"a": 1}', b"\r\n"), (2, b"", b"\n"), (3, b'{"b": 2}', b"")]


def test_array_elements_keep_start_lines_and_tricky_strings(tmp_path):
    records = [
        {"instruction": "brackets ] } [ { inside", "output": "quote \" and backslash \\"},
        {"nested": [[1, 2], {"x": [3]}], "s": "a,b"},
        {"emoji": "😀", "esc": "\\u005d"},
    ]
    text = json.dumps(records, indent=2, ensure_ascii=False)
    f = tmp_path / "a.json"
    f.write_text(text)
    cs = chunks(f)
    assert [orjson.loads(c.data) for c in cs] == records
    lines = text.split("\n")
    for c in cs:
        assert lines[c.line - 1].strip().startswith("{")


def test_array_on_one_line_and_scalars(tmp_path):
    f = tmp_path / "a.json"
    f.write_text('[{"a": 1}, 2, "x", {"b": [1, {"c": "]"}]}]')
    cs = chunks(f)
    assert [c.data for c in cs] == [b'{"a": 1}', b"2", b'"x"', b'{"b": [1, {"c": "]"}]}']
    assert [c.column for c in cs] == [2, 12, 15, 20]


def test_array_problems(tmp_path):
    f = tmp_path / "a.json"
    f.write_text('[{"a": 1}] {"b": 2}')
    assert [p.kind for p in problems(f)] == ["json-array"]
    f.write_text('[\n{"a": 1},\n{"b": 2\n')
    ps = problems(f)
    assert ps and "not closed" in ps[-1].detail


def test_gzip_transparent_and_mode_guess(tmp_path):
    f = tmp_path / "a.json.gz"
    with gzip.open(f, "wb") as g:
        g.write(b'[\n {"a": 1},\n {"a": 2}\n]\n')
    cs = chunks(f)
    assert [orjson.loads(c.data) for c in cs] == [{"a": 1}, {"a": 2}]
    assert [c.line for c in cs] == [2, 3]


@pytest.mark.parametrize("content,kind", [(b"", "empty-file"), (b"  \n\n", "empty-file"),
                                          (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 1\n", "lfs-pointer"),
                                          (b"\x89PNG\r\n\x1a\n\x00\x00", "binary-file"),
                                          (b"\x1f\x8bnot really gzip", "gzip-error")])
def test_file_problems(tmp_path, content, kind):
    f = tmp_path / "x.jsonl"
    f.write_bytes(content)
    assert [p.kind for p in problems(f)] == [kind]


def test_directory_expansion_is_sorted_and_filtered(tmp_path):
    for name in ("b.jsonl", "a.json", "c.txt", "d.jsonl.gz", ".hidden/e.jsonl"):
        p = tmp_path / name
        p.parent.mkdir(exist_ok=True)
        p.write_text("{}")
    got = [p.split("/")[-1] for p in iter_input_paths([str(tmp_path)])]
    assert got == ["a.json", "b.jsonl", "d.jsonl.gz"]


def test_physical_lines_reported_for_arrays(tmp_path):
    f = tmp_path / "a.json"
    f.write_bytes(b'[\r\n{"a": 1}\r\n]\r\n')
    phys = [c for c in Source(str(f)) if isinstance(c, PhysLine)]
    assert [p.ending for p in phys] == [b"\r\n"] * 3
