"""column_of / offset_of: where the value at a JSON pointer starts in a raw JSONL line."""
from __future__ import annotations

import json
import random

import pytest

from tunelint.diagnostic import pointer as make_pointer
from tunelint.locate import column_of, offset_of, relative_path


def col(line: str, ptr: str) -> int:
    return column_of(line.encode("utf-8"), ptr)


def test_top_level_members_and_whole_record():
    line = '{"a": 1, "bb": "x", "c": [1, 2]}'
    assert col(line, "") == 1
    assert col(line, "/a") == line.index("1") + 1
    assert col(line, "/bb") == line.index('"x"') + 1
    assert col(line, "/c") == line.index("[") + 1
    assert col(line, "/c/1") == line.index("2]") + 1


def test_nested_chat_messages():
    line = '{"messages":[{"role":"user","content":"hi"},{"role":"assitant","content":"hello"}]}'
    assert col(line, "/messages/1/role") == line.index('"assitant"') + 1
    assert col(line, "/messages/1/content") == line.index('"hello"') + 1
    assert col(line, "/messages/0") == line.index('{"role":"user"') + 1


def test_keys_and_values_inside_strings_do_not_confuse_the_scanner():
    line = r'{"note": "a \"role\": [1, {\"x\": 2}] }", "role": "user"}'
    assert col(line, "/role") == line.index('"user"') + 1
    line = '{"a": "]}", "b": {"c": "{[", "d": 5}}'
    assert col(line, "/b/d") == line.index("5") + 1


def test_escaped_keys_are_decoded():
    line = r'{"caf\u00e9": 1, "a\/b": 2, "t~x": 3}'
    assert col(line, "/café") == line.index("1") + 1
    assert col(line, "/a~1b") == line.index("2") + 1  # pointer escape ~1 = "/"
    assert col(line, "/t~0x") == line.index("3") + 1  # pointer escape ~0 = "~"


def test_columns_count_characters_not_bytes():
    line = '{"é": "ü€", "k": 7}'
    assert col(line, "/k") == line.index("7") + 1  # str.index counts code points
    assert offset_of(line.encode(), "/k") == line.encode().index(b"7")


def test_emoji_counts_as_one_column():
    line = '{"t": "😀😀", "k": true}'
    assert col(line, "/k") == line.index("true") + 1


def test_duplicate_keys_last_one_wins_like_the_parser():
    line = '{"a": 1, "a": 22}'
    assert col(line, "/a") == line.index("22") + 1
    assert json.loads(line)["a"] == 22


def test_bom_and_leading_whitespace():
    raw = b"\xef\xbb\xbf" + b'  {"a": 1}'
    assert column_of(raw, "/a") == len('  {"a": ') + 1


def test_top_level_array_and_scalars():
    assert col("[10, [20, 30]]", "/1/1") == len("[10, [20, ") + 1
    assert col('{"n": -1.5e3, "z": null}', "/z") == len('{"n": -1.5e3, "z": ') + 1


@pytest.mark.parametrize("line,ptr", [
    ('{"a": 1}', "/b"),            # missing key
    ('{"a": [1]}', "/a/1"),         # index out of range
    ('{"a": [1]}', "/a/01"),        # leading zero is not an index
    ('{"a": [1]}', "/a/-"),         # "-" is past the end
    ('{"a": 1}', "/a/b"),           # scalar has no children
    ('{"a": 1, }', "/b"),           # invalid JSON before target
    ('{"a": "unterminated', "/a/x"),
    ('{"a": 1}', "a"),              # not a pointer
    ("", "/a"),
    ("not json", "/a"),
    ('{"a": {}}', "/a/x"),
    ('{"a": []}', "/a/0"),
])
def test_falls_back_to_column_1(line, ptr):
    assert col(line, ptr) == 1


def test_value_before_a_syntax_error_is_still_found():
    line = '{"a": 1, "b": 2,}'
    assert col(line, "/a") == line.index("1") + 1


def _random_value(rng: random.Random, depth: int):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -3, 2.5, 1e10, 123456])
    if kind in (2, 3):
        alphabet = 'ab "\\/{}[],:\n\t\u00e9\u20ac\U0001f600~'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
    if kind in (4, 5):
        return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def _random_key(rng):
    return "".join(rng.choice('kq/~" é\\') for _ in range(rng.randrange(1, 4)))


def _pointers(v, prefix=()):
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _pointers(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _pointers(x, prefix + (i,))


def test_every_pointer_of_random_documents_points_at_its_value():
    rng = random.Random(7)
    dec = json.JSONDecoder()
    checked = 0
    for _ in range(300):
        doc = {"r": _random_value(rng, 0), "messages": [_random_value(rng, 1)]}
        seps = rng.choice([(",", ":"), (", ", ": "), (" , ", " : ")])
        line = json.dumps(doc, ensure_ascii=rng.random() < 0.5, separators=seps)
        raw = line.encode("utf-8")
        for toks in _pointers(doc):
            ptr = make_pointer(*toks)
            off = offset_of(raw, ptr)
            assert off is not None, (line, ptr)
            expected = doc
            for t in toks:
                expected = expected[t]
            value, _ = dec.raw_decode(raw[off:].decode("utf-8"))
            assert value == expected, (line, ptr)
            assert column_of(raw, ptr) == len(raw[:off].decode("utf-8")) + 1
            checked += 1
    assert checked > 1000


def test_relative_path(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    monkeypatch.chdir(tmp_path)
    assert relative_path(str(tmp_path / "d" / "x.jsonl")) == "d/x.jsonl"
    assert relative_path("d/x.jsonl") == "d/x.jsonl"
    outside = str(tmp_path.parent / "y.jsonl")
    assert relative_path(outside) == outside
    assert relative_path("<stdin>") == "<stdin>"


def test_line_column_of_multi_line_array_elements():
    from tunelint.locate import line_column_of

    element = b'{\n    "instruction": "x",\n    "output": "y"\n  }'
    assert line_column_of(element, "/output", line=10, column=3) == (12, len('    "output": ') + 1)
    assert line_column_of(element, "", line=10, column=3) == (10, 3)
    assert line_column_of(b'{"a": 1, "b": 2}', "/b", line=4, column=3) == (4, 3 + len('{"a": 1, "b": '))
    assert line_column_of(b'{"a": 1}', "/zz", line=4, column=3) == (4, 3)
    raw = '{"é": "ü", "k": 1}'.encode()
    assert line_column_of(raw, "/k", 7) == (7, column_of(raw, "/k"))
