"""--memory: dataset state spills to a temporary directory past the budget, with the same findings."""
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tunelint
from tunelint import parallel, spill
from tunelint.config import load_config

from conftest import run_cli

WORDS = ("the model reads data sets and writes answers about tokens batches GPUs loss curves "
         "prompts schedules checkpoints evaluation training learning rate warmup").split()


def _dataset(path, n=2500):
    """Chat records with exact and near duplicates, a term's variant spellings, style outliers
    (capitals, a stock opener, a very long answer) and system prompt variants."""
    rng = random.Random(11)
    out = []
    for i in range(n):
        q = " ".join(rng.choice(WORDS) for _ in range(12)) + f" {i}?"
        a = " ".join(rng.choice(WORDS) for _ in range(30)) + (" Use e-mail." if i % 7 == 0 else " Use email.") + "."
        if i % 301 == 0:
            a = a.upper()
        if i % 401 == 0:
            a = "Sure! " + a
        if i % 503 == 0:
            a = " ".join([a] * 60)
        msgs = [{"role": "system", "content": "You are helpful." if i % 211 else "Be terse."},
                {"role": "user", "content": q}, {"role": "assistant", "content": a}]
        out.append(json.dumps({"messages": msgs}))
        if i % 50 == 0:
            out.append(json.dumps({"messages": msgs}))  # exact duplicate
            near = [dict(m) for m in msgs]
            near[1]["content"] = q + " please"
            near[2]["content"] = a + " ok"
            out.append(json.dumps({"messages": near}))  # near duplicate
    path.write_text("\n".join(out) + "\n")


def _key(diags):
    return [(d.code, d.line, d.column, d.pointer, d.message) for d in diags]


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "train.jsonl"
    _dataset(p)
    return p


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_tiny_budget_gives_the_same_findings_and_leaves_no_spill_directory(data, monkeypatch, jobs):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(spill, "CHECK_EVERY", 64)
    cfg = load_config(None, str(data), isolated=True)
    free = _key(tunelint.check(str(data), cfg, jobs=jobs, memory=None).diagnostics)
    codes = {c for c, *_ in free}
    assert {"D001", "T001"} <= codes and codes & {"D003", "D004", "D005", "D006"} and any(c[0] == "S" for c in codes)
    tiny = tunelint.check(str(data), cfg, jobs=jobs, memory="64KB")
    assert spill.last.spilled() > 0  # it did spill (the parent's columns, at least)
    assert spill.last.dir is not None and not os.path.exists(spill.last.dir)
    assert _key(tiny.diagnostics) == free


def test_the_spill_directory_is_removed_after_an_error(data, monkeypatch):
    from tunelint.checks import duplicates

    monkeypatch.setattr(spill, "CHECK_EVERY", 16)

    def boom(self, ctx):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr(duplicates.ExactDuplicate, "finish", boom)
    cfg = load_config(None, str(data), isolated=True, select=["D001"])
    with pytest.raises(RuntimeError):
        tunelint.check(str(data), cfg, memory="16KB")
    assert spill.last.spilled() > 0 and not os.path.exists(spill.last.dir)


def test_columns_cross_processes_as_files_and_merge_in_order(tmp_path):
    import pickle

    with spill.budget(64, jobs=1):
        a, b = spill.pool().column("Q"), spill.pool().column("Q")
        a.extend(range(100))
        a.spill()
        a.extend(range(100, 150))
        b.extend(range(150, 300))
        b.spill()
        b.append(300)
        b2 = pickle.loads(pickle.dumps(b))
        a.extend_from(b2)
        assert list(a) == list(range(301)) and a.array().tolist() == list(range(301)) and a[299] == 299
        c = spill.pool().column("I")
        c.extend([0, 1, 1])
        c.spill()
        d = spill.pool().column("I")
        d.extend_from(c, remap=[5, 7])
        assert list(d) == [5, 7, 7] and len(c) == 0


def test_a_bad_memory_value_is_one_clear_line(tmp_path, data):
    r = run_cli("check", "--isolated", "--memory", "12XB", str(data))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--memory" in r.stderr, r.stderr
    (tmp_path / "tunelint.toml").write_text('memory = "lots"\n')
    r = run_cli("check", str(data), cwd=str(tmp_path))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "memory" in r.stderr, r.stderr
    (tmp_path / "tunelint.toml").write_text('memory = "256MB"\n')
    assert load_config(None, str(data)).memory == 256_000_000
    assert load_config(None, str(data), memory="none").memory is None


_TEXT = st.text(alphabet="ab cd-Ef.!\n", min_size=0, max_size=40)


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(_TEXT, _TEXT, st.booleans()), min_size=1, max_size=60))
def test_property_findings_with_a_tiny_budget_equal_findings_without_one(rows):
    recs = []
    for q, a, dup in rows:
        recs.append({"messages": [{"role": "user", "content": q or "q"}, {"role": "assistant", "content": a or "a"}]})
        if dup:
            recs.append(recs[-1])
    cfg = load_config(None, isolated=True)
    old = spill.CHECK_EVERY
    spill.CHECK_EVERY = 1
    try:
        free = _key(tunelint.check(recs, cfg, memory=None).diagnostics)
        tiny = _key(tunelint.check(recs, cfg, memory=1).diagnostics)
    finally:
        spill.CHECK_EVERY = old
    assert tiny == free


def test_near_duplicate_text_cache_follows_the_budget():
    """The pair verifier's text cache is half of this process's share of --memory (at least
    CACHE_BYTES), and 4x CACHE_BYTES without a bound: a bigger budget re-reads the file less."""
    from tunelint import nearstate, spill

    assert nearstate.cache_bytes() == 4 * nearstate.CACHE_BYTES  # outside a budget: unbounded pool
    with spill.budget(1_000_000_000, jobs=1):
        assert nearstate.cache_bytes() == 1_000_000_000 // spill.STATE_SHARE // 2
    with spill.budget(1_000_000_000, jobs=8):
        assert nearstate.cache_bytes() == nearstate.CACHE_BYTES
    with spill.budget(None, jobs=1):
        assert nearstate.cache_bytes() == 4 * nearstate.CACHE_BYTES


@pytest.mark.parametrize("kind", ["gzip", "records", "plain"])
def test_near_duplicate_texts_without_a_file_to_reread_spill_with_the_same_findings(data, tmp_path, monkeypatch, kind):
    """Past TEXT_BUDGET the texts go to the spill directory under a budget. Without one, gzip,
    JSON arrays, stdin and in-memory records (nothing to re-read) keep them in memory and a
    plain file's records are re-read from it by offset: the same findings."""
    import gzip

    from tunelint import nearstate

    monkeypatch.setattr(nearstate, "TEXT_BUDGET", 10_000)
    monkeypatch.setattr(nearstate, "SMALL_CHARS", 0)
    monkeypatch.setattr(nearstate, "BATCH_CHARS", 20_000)  # many batches, some kept, most spilled
    if kind == "gzip":
        src = tmp_path / "train.jsonl.gz"
        src.write_bytes(gzip.compress(data.read_bytes()))
        src = str(src)
    elif kind == "plain":
        src = str(data)
    else:
        src = [json.loads(line) for line in data.read_text().splitlines()]
    cfg = load_config(None, isolated=True, select=["D"])
    free = _key(tunelint.check(src, cfg, memory=None).diagnostics)
    assert {c for c, *_ in free} >= {"D001", "D003"}
    assert spill.last.dir is None  # nothing spilled without a budget
    bound = tunelint.check(src, cfg, memory="1GB")
    assert spill.last.spilled() > 0 and not os.path.exists(spill.last.dir)
    assert _key(bound.diagnostics) == free
