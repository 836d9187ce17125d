"""The first promise: any input gets findings or one clear exit-2 line naming the file, never an
internal error (issue 14). Each test is named after the promise it protects and failed on the code
before the fix."""
from __future__ import annotations

import gzip

import pytest

from tunelint.config import load_config
from tunelint.engine import check_paths

CHAT = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}'
SHAREGPT = b'{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}'
ALPACA = b'{"instruction": "Say hi", "input": "", "output": "hi"}'


def run(path, **cfg):
    """(code, line, message) of every finding of a real check run (every rule enabled)."""
    res = check_paths([str(path)], load_config(isolated=True, **cfg), jobs=1)
    return [(d.code, d.line, d.message) for d in res.diagnostics], res


def codes_at(found, line):
    return {c for c, ln, _ in found if ln == line}


def write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


# -- records that fit no format, or another one ------------------------------------------------
@pytest.mark.parametrize("main,odd,key", [
    (CHAT, b'{"message": [{"role": "user", "content": "hi"}]}', "messages"),
    (CHAT, b'{"foo": "bar"}', "messages"),
    (SHAREGPT, b'{"conversation": [{"from": "human", "value": "hi"}]}', "conversations"),
    (SHAREGPT, b'{"foo": "bar"}', "conversations"),
])
def test_promise_no_internal_error_on_a_record_of_another_shape(tmp_path, main, odd, key):
    p = write(tmp_path, "d.jsonl", main + b"\n" + odd + b"\n" + main.replace(b"hello", b"hey") + b"\n"
              + b'{"messages": [{"role": "assitant", "content": "x"}]}\n')
    found, res = run(p)
    assert res.files[0].records == 4
    missing = [m for c, ln, m in found if c == "F003" and ln == 2]
    assert missing and f"missing required key {key!r}" in missing[0]
    if b"foo" not in odd:  # a near miss of the key is named
        assert "did you mean" in missing[0] and key[:-1] in missing[0]
    assert "F005" in codes_at(found, 4)  # the rest of the file is still checked


@pytest.mark.parametrize("fmt", ["chat", "sharegpt"])
def test_promise_forced_format_gives_findings_not_internal_errors(tmp_path, fmt):
    p = write(tmp_path, "d.jsonl", CHAT + b"\n" + SHAREGPT + b"\n" + b'{"foo": 1}\n')
    found, _ = run(p, fmt=fmt)
    for line in (1, 2, 3):  # each record that does not fit the forced format has its finding
        if (line, fmt) in ((1, "chat"), (2, "sharegpt")):
            assert "F003" not in codes_at(found, line)
        else:
            assert "F003" in codes_at(found, line), (line, found)


def test_promise_forced_format_is_not_a_silent_pass(tmp_path):
    p = write(tmp_path, "chat.jsonl", CHAT + b"\n" + CHAT.replace(b"hi", b"hey").replace(b"hello", b"ho") + b"\n")
    found, _ = run(p, fmt="alpaca")
    msgs = [m for c, ln, m in found if c == "F003"]
    assert len(msgs) == 4 and all("for alpaca records" in m for m in msgs)
    assert not run(p)[0]  # the same file is clean as chat


def test_promise_unknown_record_names_the_near_miss_key(tmp_path):
    p = write(tmp_path, "d.jsonl", b'{"mesages": []}\n{"q": 1}\n')
    found, _ = run(p)
    f020 = {ln: m for c, ln, m in found if c == "F020"}
    assert "did you mean 'messages'" in f020[1] and "did you mean" not in f020[2]


# -- values orjson cannot write back -----------------------------------------------------------
@pytest.mark.parametrize("container", ["jsonl", "json"])
def test_promise_no_internal_error_on_deeply_nested_records(tmp_path, container):
    deep = b"[" * 600 + b"]" * 600
    recs = [CHAT[:-1] + b', "metadata": ' + deep + b"}", CHAT[:-1] + b', "tools": ' + deep + b"}",
            b'{"instruction": "a", "output": ' + deep + b"}"]
    if container == "json":
        p = write(tmp_path, "d.json", b"[\n" + b",\n".join(recs) + b"\n]\n")
    else:
        p = write(tmp_path, "d.jsonl", b"\n".join(recs) + b"\n")
    found, res = run(p)
    assert res.files[0].parsed == 3
    assert "F004" in codes_at(found, 3 if container == "jsonl" else 4)


def test_deep_canonical_form_equals_orjson_where_both_work():
    import orjson

    from tunelint.model.record import _dumps_deep, dumps_sorted

    for v in [{"b": [1, {"z": None, "a": 'x"\u00e9'}], "a": 1.5, "c": True}, [], {}, [[[]]], "x", {"k": {}}]:
        assert _dumps_deep(v) == orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
    deep = orjson.loads(b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}")
    assert dumps_sorted(deep) == b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}"


# -- containers -------------------------------------------------------------------------------
def test_promise_corrupt_gzip_is_a_finding(tmp_path):
    g = bytearray(gzip.compress((CHAT + b"\n") * 50))
    g[20] ^= 0xFF
    g[30] ^= 0xFF
    p = write(tmp_path, "d.jsonl.gz", bytes(g))
    found, _ = run(p)
    assert [c for c, _, _ in found] == ["F019"]


def test_promise_truncated_gzip_is_a_finding(tmp_path):
    g = gzip.compress(b"".join(CHAT.replace(b"hi", b"hi %d" % i) + b"\n" for i in range(2000)))
    p = write(tmp_path, "d.jsonl.gz", g[: len(g) * 3 // 4])
    found, _ = run(p)
    f019 = [(ln, m) for c, ln, m in found if c == "F019"]
    assert len(f019) == 1 and "broken" in f019[0][1]
    assert f019[0][0] > 1  # the records before the break were checked, the finding is after them


def test_promise_garbage_between_gzip_members_is_a_finding_on_its_line(tmp_path):
    p = write(tmp_path, "d.jsonl.gz", gzip.compress(CHAT + b"\n") + b"garbage!!" + gzip.compress(CHAT + b"\n"))
    found, _ = run(p)
    assert [(c, ln) for c, ln, _ in found] == [("F019", 2)]


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf[\n" + ALPACA + b"\n]\n",
    b"\xef\xbb\xbf  [" + ALPACA + b"]",
])
def test_promise_json_array_with_bom_is_read(tmp_path, data):
    found, res = run(write(tmp_path, "d.json", data))
    assert res.files[0].parsed == 1
    assert [c for c, _, _ in found] == ["E002"]


def test_promise_unclosed_json_array_is_a_finding(tmp_path):
    found, res = run(write(tmp_path, "d.json", b"[\n" + ALPACA + b",\n" + ALPACA[:-9] + b"\n"))
    assert res.files[0].parsed == 1
    assert "F021" in {c for c, _, _ in found}


@pytest.mark.parametrize("name,data", [
    ("d.jsonl", ALPACA + b"\r\r\n" + ALPACA.replace(b"hi", b"yo") + b"\r\r\n"),
    ("d.json", b"[\r\r\n" + ALPACA + b",\r\r\n" + ALPACA.replace(b"hi", b"yo") + b"\r\r\n]\r\r\n"),
    ("e.jsonl", b'{"instruction": "a",\r\r\n"output": "b"}\r\r\n'),
])
def test_promise_cr_cr_lf_line_endings_get_findings(tmp_path, name, data):
    found, res = run(write(tmp_path, name, data))
    assert res.files[0].lines == data.count(b"\n")
    assert "E003" in {c for c, _, _ in found}


def test_promise_json_array_element_with_junk_before_its_brace_is_one_record(tmp_path):
    """A BOM (or other junk) before an element's '{' made the scanner take the element for a
    scalar and end it at the first ']' inside it: the array 'closed' early and the rest of the
    file was never checked (found by the check property suite)."""
    el = b'\xef\xbb\xbf{"messages": [{"role": "user", "content": "a, b]"}, {"role": "assistant", "content": "c"}]}'
    p = write(tmp_path, "d.json", b"[\n  " + el + b",\n  " + ALPACA + b",\n  {\"x\": 1}\n]\n")
    found, res = run(p)
    assert res.files[0].lines == 5 and res.files[0].records == 3, res.files
    assert "F021" not in {c for c, _, _ in found}
    assert codes_at(found, 4)  # the record after it is still read (and checked)
