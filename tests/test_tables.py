"""Parquet, Arrow (``save_to_disk``) and CSV/TSV: read by record batch, findings by row, fixed in
the container they came in, records in = written + rejected."""
from __future__ import annotations

import json
import os
import shutil
import sys

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import run_cli

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from strategies import TABLES, datasets, format_names  # noqa: E402
from tunelint.api import check  # noqa: E402
from tunelint.config import load_config  # noqa: E402
from tunelint.engine import check_paths  # noqa: E402
from tunelint.reader import iter_input_paths  # noqa: E402
from tunelint.tables import parquet_file  # noqa: E402

GOOD = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}
TYPO = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assitant", "content": "Hello"}]}
REPAIRED = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}  # by F005's fix
ROWS = [GOOD, TYPO, GOOD]


def _cfg():
    return load_config(isolated=True)


def write_parquet(path, rows, **kw):
    pq.write_table(pa.Table.from_pylist(rows), path, **kw)
    return path


def write_save_to_disk(folder, rows, shards=2):
    """What ``datasets.Dataset.save_to_disk`` writes: Arrow IPC stream shards, state.json,
    dataset_info.json."""
    os.makedirs(folder, exist_ok=True)
    table = pa.Table.from_pylist(rows)
    names = [f"data-{i:05d}-of-{shards:05d}.arrow" for i in range(shards)]
    per = -(-len(rows) // shards)
    for i, n in enumerate(names):
        with pa.OSFile(os.path.join(folder, n), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
            w.write_table(table.slice(i * per, per))
    with open(os.path.join(folder, "state.json"), "w") as f:
        json.dump({"_data_files": [{"filename": n} for n in names], "_fingerprint": "x", "_split": "train"}, f)
    with open(os.path.join(folder, "dataset_info.json"), "w") as f:
        json.dump({"description": "", "features": {"messages": {"_type": "Sequence"}}}, f)
    return folder


def codes_rows(diags):
    return sorted((os.path.basename(d.path), d.code, d.line, d.pointer) for d in diags)


# -- reading ---------------------------------------------------------------------------
def test_parquet_file_is_checked_by_row(tmp_path):
    p = write_parquet(tmp_path / "train.parquet", ROWS)
    res = check_paths([str(p)], _cfg())
    assert res.files[0].records == 3
    got = {(d.code, d.line, d.pointer, d.unit) for d in res.diagnostics}
    assert ("F005", 2, "/messages/1/role", "row") in got
    assert ("D001", 3, "", "row") in got
    d001 = next(d for d in res.diagnostics if d.code == "D001")
    assert "row 1" in d001.message and "line" not in d001.message
    assert not any(d.code == "F019" for d in res.diagnostics)


def test_parquet_outputs_say_row(tmp_path):
    p = write_parquet(tmp_path / "train.parquet", ROWS)
    r = run_cli("check", "--isolated", str(p))
    assert r.returncode == 1
    assert "train.parquet:row 2: " in r.stdout and "F005" in r.stdout
    js = json.loads(run_cli("check", "--isolated", "--output-format", "json", str(p)).stdout)
    f005 = next(d for d in js["diagnostics"] if d["code"] == "F005")
    assert f005["row"] == 2 and f005["pointer"] == "/messages/1/role"
    sarif = json.loads(run_cli("check", "--isolated", "--output-format", "sarif", str(p)).stdout)
    res = next(x for x in sarif["runs"][0]["results"] if x["ruleId"] == "F005")
    assert res["message"]["text"].startswith("row 2: ")
    assert res["locations"][0]["logicalLocations"][0]["name"] == "row 2"
    gh = run_cli("check", "--isolated", "--output-format", "github", str(p)).stdout
    line = next(ln for ln in gh.splitlines() if "title=F005" in ln)
    assert "::row 2: " in line and "line=" not in line
    junit = run_cli("check", "--isolated", "--output-format", "junit", str(p)).stdout
    assert "(row 2)" in junit
    gitlab = json.loads(run_cli("check", "--isolated", "--output-format", "gitlab", str(p)).stdout)
    assert any(i["description"].startswith("F005 row 2: ") for i in gitlab)


def test_directory_of_hub_shards_is_not_empty(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_parquet(data / "train-00000-of-00002.parquet", ROWS[:2])
    write_parquet(data / "train-00001-of-00002.parquet", ROWS[2:])
    write_parquet(data / "test-00000-of-00001.parquet", [GOOD])
    (tmp_path / "README.md").write_text("# card\n")
    found = [os.path.basename(p) for p in iter_input_paths([str(tmp_path)])]
    assert found == ["test-00000-of-00001.parquet", "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    r = run_cli("check", "--isolated", str(tmp_path))
    assert "in 4 records in 3 files" in r.stdout, r.stdout
    assert "F005" in r.stdout


def test_save_to_disk_folder_reads_arrow_and_skips_metadata(tmp_path):
    folder = write_save_to_disk(tmp_path / "ds", ROWS + [GOOD], shards=2)
    with open(folder / "cache-abc.arrow", "wb") as f:
        f.write(b"not listed in state.json")
    found = sorted(os.path.basename(p) for p in iter_input_paths([str(folder)]))
    assert found == ["data-00000-of-00002.arrow", "data-00001-of-00002.arrow"]
    res = check_paths([str(folder)], _cfg())
    assert sum(f.records for f in res.files) == 4
    assert ("data-00000-of-00002.arrow", "F005", 2, "/messages/1/role") in codes_rows(res.diagnostics)
    assert not any(d.code.startswith("F01") and d.line == 0 for d in res.diagnostics)


def test_dataset_dict_folder(tmp_path):
    top = tmp_path / "dd"
    write_save_to_disk(top / "train", ROWS, shards=1)
    write_save_to_disk(top / "test", [GOOD], shards=1)
    (top / "dataset_dict.json").write_text('{"splits": ["train", "test"]}')
    found = sorted(os.path.relpath(p, top) for p in iter_input_paths([str(top)]))
    assert found == ["test/data-00000-of-00001.arrow", "train/data-00000-of-00001.arrow"]


def test_csv_and_tsv(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('instruction,input,output\n"Say hi","","Hi"\n"Say hi","","Hi"\n"Add, please","1 2",""\n'
                 '"multi\nline","","ok",extra\n', encoding="utf-8")
    res = check_paths([str(p)], _cfg())
    assert res.files[0].records == 4
    got = {(d.code, d.line) for d in res.diagnostics}
    assert ("D001", 2) in got and ("C001", 3) in got
    t = tmp_path / "b.tsv"
    t.write_text("prompt\tcompletion\nHello\t world END\n", encoding="utf-8")
    res = check_paths([str(t)], _cfg())
    assert res.files[0].records == 1 and res.files[0].format == "prompt-completion"


def test_batches_are_bounded_and_give_the_same_findings(tmp_path, monkeypatch):
    import tunelint.reader as reader
    import tunelint.tables as tables

    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i % 7}"}]}
            for i in range(60)] + [TYPO, GOOD]
    p = write_parquet(tmp_path / "t.parquet", rows, row_group_size=16)
    full = codes_rows(check_paths([str(p)], _cfg()).diagnostics)
    sizes = []
    orig = reader.TableSource._rows

    def spy(self, batch):
        sizes.append(len(batch))
        return orig(self, batch)

    monkeypatch.setattr(tables, "BATCH_ROWS", 5)
    monkeypatch.setattr(reader.TableSource, "_rows", spy)
    assert codes_rows(check_paths([str(p)], _cfg()).diagnostics) == full
    assert sizes and max(sizes) <= 5 and sum(sizes) == len(rows)


def test_jobs_give_the_same_findings(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELINT_MIN_PARALLEL_BYTES", "1")
    write_parquet(tmp_path / "a.parquet", ROWS * 5)
    write_save_to_disk(tmp_path / "ds", ROWS * 3)
    (tmp_path / "c.csv").write_text("prompt,completion\nA,B\nA,B\n")
    one = run_cli("check", "--isolated", "--output-format", "json", "--jobs", "1", str(tmp_path))
    four = run_cli("check", "--isolated", "--output-format", "json", "--jobs", "4", str(tmp_path),
                   env={"TUNELINT_MIN_PARALLEL_BYTES": "1"})
    assert json.loads(one.stdout)["diagnostics"] == json.loads(four.stdout)["diagnostics"]
    assert json.loads(one.stdout)["diagnostics"]


def test_corrupt_parquet_is_a_finding_not_a_crash(tmp_path):
    good = write_parquet(tmp_path / "good.parquet", ROWS)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[:40] + b"\x00" * 30)
    r = run_cli("check", "--isolated", str(bad))
    assert r.returncode == 1 and "internal error" not in r.stderr
    assert "F019" in r.stdout and "cannot read Parquet file" in r.stdout
    r = run_cli("fix", "--isolated", str(bad), "-o", str(tmp_path / "out.parquet"))
    assert r.returncode == 1 and not (tmp_path / "out.parquet").exists()
    lfs = tmp_path / "lfs.parquet"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n")
    assert "F018" in run_cli("check", "--isolated", str(lfs)).stdout


def test_missing_pyarrow_is_one_line_naming_the_extra(tmp_path):
    p = write_parquet(tmp_path / "t.parquet", ROWS)
    code = ("import sys; sys.modules['pyarrow'] = None\n"
            "from tunelint.cli import main\n"
            f"main(['check', '--isolated', {str(p)!r}])")
    import subprocess

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "tunelint[parquet]" in lines[0] and "pyarrow" in lines[0]
    # CSV needs no pyarrow
    c = tmp_path / "a.csv"
    c.write_text("prompt,completion\nA, B END\n")
    code = code.replace(repr(str(p)), repr(str(c)))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode in (0, 1) and "tunelint[" not in r.stderr, r.stderr


# -- fixing ------------------------------------------------------------------------------
def _schema_with_meta(rows):
    t = pa.Table.from_pylist(rows)
    return t.replace_schema_metadata({b"huggingface": b'{"info": {"features": {}}}'})


def test_fix_parquet_keeps_container_and_schema(tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"Question {q}?"}, {"role": "assistant", "content": a}],
             "blob": b"\x00\x01", "n": i} for i, (q, a) in enumerate([("one", "Yes."), ("two hundred", "No, never."), ("x", "")])]
    rows[2] = dict(rows[0])
    rows.append({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],
                 "blob": None, "n": None})
    t = _schema_with_meta(rows)
    src = tmp_path / "in.parquet"
    pq.write_table(t, src)
    out = tmp_path / "out.parquet"
    r = run_cli("fix", "--isolated", "--unsafe-fixes", str(src), "-o", str(out), "--changes", str(tmp_path / "ch.jsonl"))
    assert r.returncode == 0, r.stderr
    got = pq.read_table(out)
    assert got.schema.equals(pq.read_schema(src), check_metadata=True)
    assert got.num_rows == 3
    rej = [orjson.loads(x) for x in (tmp_path / "out.rejects.jsonl").read_bytes().splitlines()]
    assert [e["row"] for e in rej] == [3] and rej[0]["codes"] == ["D001"]
    assert got.to_pylist() == [rows[0], rows[1], rows[3]]
    ch = [orjson.loads(x) for x in (tmp_path / "ch.jsonl").read_bytes().splitlines()]
    assert ch and all("row" in e and "line" not in e for e in ch)
    # a second fix changes nothing; an untouched file is copied byte for byte
    out2 = tmp_path / "out2.parquet"
    r = run_cli("fix", "--isolated", "--unsafe-fixes", str(out), "-o", str(out2))
    assert r.returncode == 0 and out2.read_bytes() == out.read_bytes()


def test_fix_in_place_and_to_jsonl(tmp_path):
    src = write_parquet(tmp_path / "d.parquet", ROWS)
    j = tmp_path / "d.jsonl"
    r = run_cli("fix", "--isolated", "--unsafe-fixes", str(src), "-o", str(j))
    assert r.returncode == 0, r.stdout + r.stderr  # F005 repaired ('assitant' means 'assistant'), the copy rejected
    assert [orjson.loads(x) for x in j.read_bytes().splitlines()] == [ROWS[0], REPAIRED]
    r = run_cli("fix", "--isolated", "--unsafe-fixes", str(src), "--in-place")
    assert pq.read_table(src).num_rows == 2
    assert (tmp_path / "d.rejects.jsonl").exists()
    # JSONL is not turned into a table
    r = run_cli("fix", "--isolated", str(j), "-o", str(tmp_path / "x.parquet"))
    assert r.returncode == 2 and "container it read" in r.stderr


def test_fix_csv_keeps_header_and_delimiter(tmp_path):
    src = tmp_path / "a.tsv"
    src.write_text("instruction\tinput\toutput\nSay hi\t\tHi\nSay hi\t\tHi\nName it\tN/A\tOK\n", encoding="utf-8")
    out = tmp_path / "b.tsv"
    r = run_cli("fix", "--isolated", "--unsafe-fixes", str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "instruction\tinput\toutput"
    assert text.count("Say hi") == 1


def test_fix_arrow_stream(tmp_path):
    folder = write_save_to_disk(tmp_path / "ds", ROWS, shards=1)
    src = folder / "data-00000-of-00001.arrow"
    before = pa.ipc.open_stream(pa.memory_map(str(src))).read_all()
    r = run_cli("fix", "--isolated", "--unsafe-fixes", str(src), "--in-place")
    assert r.returncode == 0, r.stderr  # F005 repaired, the copy rejected
    after = pa.ipc.open_stream(pa.memory_map(str(src))).read_all()
    assert after.schema.equals(before.schema) and after.num_rows == 2


FIX_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                                                               HealthCheck.function_scoped_fixture])


@FIX_SETTINGS
@given(data=st.data(), kind=st.sampled_from(sorted(TABLES)))
def test_property_fix_loses_no_row(tmp_path_factory, data, kind):
    """For every table container: rows in = rows written + rejects; the schema is kept; a second
    fix changes nothing; check never fails internally."""
    from tunelint.fixer import Fixer, FixPolicy

    fmt = "alpaca" if kind == "csv" else data.draw(format_names())
    # generated and mutated records (CSV: flat alpaca rows; the writers skip what a table cannot hold)
    lines = data.draw(datasets(fmt, mutate=0.0 if kind == "csv" else 0.3, blank_lines=False))
    d = tmp_path_factory.mktemp("t")
    src = TABLES[kind](d / "data", lines)
    assume(src is not None)
    cfg = _cfg()
    res = check_paths([str(src)], cfg)
    n_in = res.files[0].records
    out = d / ("out" + src.suffix)
    rej = d / "rej.jsonl"
    fx = Fixer(cfg, FixPolicy.from_config(cfg, unsafe=True))
    r = fx.fix_file(str(src), str(out), rejects=str(rej))
    assert r.input_records == n_in
    written = check_paths([str(out)], cfg).files[0].records
    rejected = len(rej.read_bytes().splitlines()) if rej.exists() else 0
    assert n_in == written + rejected == r.output_records + r.rejected
    if kind == "parquet":
        assert parquet_file(str(out)).schema_arrow.equals(parquet_file(str(src)).schema_arrow)
    again = d / ("again" + src.suffix)
    r2 = fx.fix_file(str(out), str(again), rejects=str(d / "rej2.jsonl"))
    assert not r2.changed and r2.rejected == 0


def test_api_fix_table_path(tmp_path):
    import tunelint

    src = write_parquet(tmp_path / "d.parquet", ROWS)
    fr = tunelint.fix(src, unsafe=True)
    assert fr.records == [ROWS[0], REPAIRED] and [e["row"] for e in fr.rejects] == [3]
    assert fr.input_records == len(fr.records) + len(fr.rejects)
    assert pq.read_table(src).num_rows == 3  # the input is never modified
    shutil.rmtree(tmp_path)


def test_deeply_nested_parquet_is_read_and_fixed(tmp_path):
    """A record nested deeper than pyarrow's default Parquet schema depth (100) is still data: it
    is read (no F019), and fix writes its output (the table property found it; the example was
    drawn only in some test orders, because Hypothesis draws constants from the modules loaded)."""
    v: object = {"messages": [{"role": "user", "content": "the"}]}
    for _ in range(40):
        v = [{"a": v}]
    rec = {"input": v, "preferred_output": [{"role": "assistant", "content": "the"}],
           "non_preferred_output": [{"role": "assistant", "content": "the (worse)"}]}
    src = write_parquet(tmp_path / "deep.parquet", [rec, rec])
    res = check_paths([str(src)], _cfg())
    assert res.files[0].records == 2 and not any(d.code == "F019" for d in res.diagnostics)
    from tunelint.fixer import Fixer, FixPolicy

    out = tmp_path / "out.parquet"
    r = Fixer(_cfg(), FixPolicy.from_config(_cfg(), unsafe=True)).fix_file(str(src), str(out), rejects=str(tmp_path / "rej.jsonl"))
    assert out.exists() and r.output_records + r.rejected == 2
    assert parquet_file(str(out)).schema_arrow.equals(parquet_file(str(src)).schema_arrow)


def test_hub_shard_set_is_one_dataset_for_dataset_rules(tmp_path):
    """Duplicates across the shards of one set are found, each reported at its own shard and row."""
    data = tmp_path / "data"
    data.mkdir()
    r1, r2 = ROWS[0], {"messages": [{"role": "user", "content": "Name a prime number."}, {"role": "assistant", "content": "Seven is prime."}]}
    write_parquet(data / "train-00000-of-00002.parquet", [r1, r2])
    write_parquet(data / "train-00001-of-00002.parquet", [r2, r1])
    write_parquet(data / "test-00000-of-00001.parquet", [r1])  # another split: its own dataset
    res = check_paths([str(tmp_path)], _cfg())
    d001 = sorted((os.path.basename(d.path), d.line, d.message) for d in res.diagnostics if d.code == "D001")
    assert d001 == [("train-00001-of-00002.parquet", 1, "exact duplicate of row 2 of train-00000-of-00002.parquet (2 copies in these shards)"),
                    ("train-00001-of-00002.parquet", 2, "exact duplicate of row 1 of train-00000-of-00002.parquet (2 copies in these shards)")]
    assert [f.records for f in res.files] == [1, 2, 2]


def test_jsonl_shards_and_what_is_a_shard_set(tmp_path):
    from tunelint.engine.shards import shard_sets

    a, b = tmp_path / "train-00000-of-00002.jsonl", tmp_path / "train-00001-of-00002.jsonl"
    a.write_text('{"prompt": "a", "completion": " b"}\n{"prompt": "c", "completion": " d"}\n')
    b.write_text('{"prompt": "e", "completion": " f"}\n\n{"prompt": "c", "completion": " d"}\n')
    res = check_paths([str(tmp_path)], _cfg())
    assert [(os.path.basename(d.path), d.line, d.column, d.code) for d in res.diagnostics if d.code in ("D001", "E004")] == [
        ("train-00001-of-00002.jsonl", 2, 1, "E004"), ("train-00001-of-00002.jsonl", 3, 1, "D001")]
    assert shard_sets(["x/a-00000-of-00002.parquet", "y.jsonl", "x/a-00001-of-00002.parquet", "x/b-00000-of-00002.parquet"]) == [
        ["x/a-00000-of-00002.parquet", "x/a-00001-of-00002.parquet"], "y.jsonl", "x/b-00000-of-00002.parquet"]
