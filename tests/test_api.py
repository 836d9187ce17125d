"""The Python API: tunelint.check / check_record / fix over paths, records, DataFrames, pyarrow
Tables and duck-typed Hugging Face Datasets; and one clear line for each missing extra."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tunelint
from tunelint.config import load_config

GOOD = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}
TYPO = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assitant", "content": "Hello"}]}
ROWS = [GOOD, TYPO, GOOD]
EXPECTED = [("D001", 3, ""), ("F005", 2, "/messages/1/role"), ("F007", 2, "/messages")]


def found(result):
    return sorted((d.code, d.line, d.pointer) for d in result.diagnostics)


def cfg():
    return load_config(isolated=True)


class FakeDataset:
    """What tunelint relies on from ``datasets.Dataset``: ``with_format("arrow").iter(n)``."""

    def __init__(self, rows):
        self.rows = rows
        self.fmt = None

    def with_format(self, fmt):
        d = FakeDataset(self.rows)
        d.fmt = fmt
        return d

    def iter(self, batch_size):
        import pyarrow as pa

        assert self.fmt == "arrow"
        for i in range(0, len(self.rows), batch_size):
            yield pa.Table.from_pylist(self.rows[i:i + batch_size])

    def __iter__(self):
        raise AssertionError("read by batch, not row by row")


class FakeIterableDataset:
    """An IterableDataset without arrow formatting: batches are dicts of columns."""

    def __init__(self, rows):
        self.rows = rows

    def with_format(self, fmt):
        return self

    def iter(self, batch_size):
        for i in range(0, len(self.rows), batch_size):
            part = self.rows[i:i + batch_size]
            yield {k: [r.get(k) for r in part] for k in part[0]}


def test_check_records_and_results(tmp_path):
    res = tunelint.check(ROWS, cfg())
    assert found(res) == EXPECTED
    assert all(d.unit == "row" and d.path == "<records>" for d in res.diagnostics)
    assert res.summary["records"] == 3 and res.summary["errors"] == 2 and not res.ok
    js = json.loads(res.to_json())
    assert {d["code"] for d in js["diagnostics"]} == {"D001", "F005", "F007"}
    sarif = json.loads(res.to_sarif())
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == 3


def test_same_findings_from_every_container(tmp_path):
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    jl = tmp_path / "d.jsonl"
    jl.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    c = cfg()
    assert found(tunelint.check(str(jl), c)) == EXPECTED
    assert found(tunelint.check(tmp_path / "d.parquet", c)) == EXPECTED
    assert found(tunelint.check(iter(ROWS), c)) == EXPECTED  # a generator: read once
    assert found(tunelint.check(pd.DataFrame(ROWS), c)) == EXPECTED
    assert found(tunelint.check(pa.Table.from_pylist(ROWS), c)) == EXPECTED
    assert found(tunelint.check(FakeDataset(ROWS), c)) == EXPECTED
    assert found(tunelint.check(FakeIterableDataset(ROWS), c)) == EXPECTED
    assert tunelint.check(pd.DataFrame(ROWS), c).diagnostics[0].path == "<DataFrame>"


def test_dataframe_nan_is_absent():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame([{"instruction": "Say hi", "input": None, "output": "Hi"},
                       {"instruction": "Add", "input": "1 2", "output": "3"}])
    res = tunelint.check(df, cfg(), name="alpaca-df")
    assert not [d for d in res.diagnostics if d.severity == "error"], res.diagnostics
    assert res.files[0].format == "alpaca"


def test_config_as_dict_and_path(tmp_path):
    res = tunelint.check(ROWS, {"ignore": ["F005", "F007"]})
    assert [d.code for d in res.diagnostics] == ["D001"]
    toml = tmp_path / "tunelint.toml"
    toml.write_text('ignore = ["D001"]\n')
    assert "D001" not in {d.code for d in tunelint.check(ROWS, str(toml)).diagnostics}


def test_check_record_for_map_and_filter():
    assert tunelint.check_record(GOOD, config=cfg()) == []
    ds = tunelint.check_record(TYPO, config=cfg())
    assert [(d.code, d.pointer) for d in ds] == [("F005", "/messages/1/role"), ("F007", "/messages")]
    # no dataset state: the same record twice is not a duplicate
    assert tunelint.check_record(GOOD, config=cfg()) == []
    alp = tunelint.check_record({"instruction": "Describe it", "input": "<noinput>", "output": "Fine."}, format="alpaca")
    assert "C002" in {d.code for d in alp}
    kept = [r for r in ROWS if not tunelint.check_record(r)]
    assert kept == [GOOD, GOOD]


def test_fix_records_accounting_and_log():
    rows = ROWS + [{"instruction": "x", "input": "", "output": "y"}]
    fr = tunelint.fix(rows, cfg(), unsafe=True)
    assert fr.input_records == 4 == len(fr.records) + len(fr.rejects)
    # the unsafe F005 fix repairs the role typo (one clear meaning: 'assitant' -> 'assistant')
    repaired = {"messages": [TYPO["messages"][0], {"role": "assistant", "content": "Hello"}]}
    assert fr.records == [GOOD, repaired, rows[3]]
    assert [(e["row"], e["codes"]) for e in fr.rejects] == [(3, ["D001"])]
    assert "row 1" in fr.rejects[0]["reason"]
    assert fr.changes and all("row" in e for e in fr.changes)
    assert (2, "F005", "/messages/1/role", "assistant") in [(e["row"], e["code"], e["pointer"], e.get("after")) for e in fr.changes]
    assert "F005" not in {d.code for d in fr.remaining}
    assert "rejects.jsonl" not in fr.summary
    safe = tunelint.fix(rows, cfg())
    assert len(safe.records) + len(safe.rejects) == 4


def test_fix_to_output_file(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "o.jsonl"
    fr = tunelint.fix(src, cfg(), unsafe=True, output=out)
    assert fr.records is None and fr.output == str(out)
    assert len(out.read_text().splitlines()) == 2 and len(src.read_text().splitlines()) == 3


def test_cli_check_is_the_api(monkeypatch, tmp_path, capsys):
    import tunelint.api as api
    from tunelint.cli import main

    seen = []
    real = api.check

    def spy(data, config=None, **kw):
        seen.append(data)
        return real(data, config, **kw)

    monkeypatch.setattr(api, "check", spy)
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(GOOD) + "\n")
    with pytest.raises(SystemExit) as e:
        main(["check", "--isolated", str(p)])
    assert e.value.code == 0 and seen == [[str(p)]]


def test_import_tunelint_is_light():
    code = ("import sys, tunelint; assert tunelint.__version__;"
            "print(','.join(m for m in ('tunelint.api', 'tunelint.engine', 'pyarrow', 'pandas') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr


@pytest.mark.parametrize("module,extra,args", [
    ("matplotlib", "report", ["report", "--isolated", "{data}", "--html", "{out}"]),
    ("pandas", "report", ["check", "--isolated", "--profile", "{data}"]),
    ("great_expectations", "gx", ["report", "--isolated", "{data}", "--gx-suite", "{out}"]),
])
def test_missing_extra_is_one_line(tmp_path, module, extra, args):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [GOOD, TYPO]))
    argv = [a.format(data=data, out=tmp_path / "out") for a in args]
    code = f"import sys; sys.modules[{module!r}] = None\nfrom tunelint.cli import main\nmain({argv!r})"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert f"tunelint[{extra}]" in lines[0] and module in lines[0] and "internal error" not in lines[0]


def test_missing_spacy_names_its_extra(monkeypatch):
    from tunelint import lemmas
    from tunelint.extras import MissingExtra

    monkeypatch.setitem(sys.modules, "spacy", None)
    lemmas._nlp.cache_clear()
    with pytest.raises(MissingExtra, match=r"tunelint\[spacy\]"):
        lemmas._nlp()
    lemmas._nlp.cache_clear()


def test_check_record_names_every_check_it_skips():
    """The docstring's list of skipped checks is true and complete for the views it skips."""
    import re

    from tunelint.checks import KINDS, load_all
    from tunelint.checks.base import DatasetCheck, FileProblemCheck, LineCheck, UnparsedCheck
    from tunelint.rules import builtin_pack

    load_all()
    rules = builtin_pack().rules
    doc = tunelint.check_record.__doc__
    named = set(re.findall(r"\b[A-Z]\d{3}\b", doc))
    for a, b in re.findall(r"\b([A-Z]\d{3})-([A-Z]\d{3})\b", doc):
        named |= {f"{a[0]}{n:03d}" for n in range(int(a[1:]), int(b[1:]) + 1)}
    skipped = {r.code for r in rules if issubclass(KINDS[r.kind], (LineCheck, UnparsedCheck, FileProblemCheck))}
    dataset = {r.code for r in rules if issubclass(KINDS[r.kind], DatasetCheck)}
    assert skipped <= named, skipped - named  # every raw-line, unparsed and file check is named
    assert named <= skipped | dataset, named - skipped - dataset  # and nothing it does run
