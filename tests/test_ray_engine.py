"""`--engine ray`: the same findings as the local engine, on a local Ray instance with 2 workers.

Ray is an optional extra (`tunelint[ray]`, part of `[all]`, which README's commands install);
the tests that need it skip without it. One local Ray instance (2 CPUs) serves the module: the
CLI test joins it with `--address`.
"""
import json
import os
import random

import pytest

from conftest import run_cli

WORDS = ("alpha beta gamma delta model token train data answer prompt quick brown fox jumps over "
         "the lazy dog while seven wizards quietly judge boxing matches near old towers").split()
# files of any size split, and their keys grouped by Ray's shuffle
ENV = {"TUNELINT_MIN_PARALLEL_BYTES": "0", "RAY_AUTH_MODE": "disabled", "TUNELINT_RAY_GROUP_KEYS_BYTES": "0"}
IN_PROCESS = ("RAY_AUTH_MODE", "TUNELINT_RAY_GROUP_KEYS_BYTES")  # what the module's own process sets


def _dataset(path, n=600):
    """Records with exact duplicates (D001), near-duplicates (D003...), conflicting answers
    (D002) and broken lines (F001) spread over the file, so every part holds some."""
    rng = random.Random(5)
    lines, later = [], []
    for i in range(n):
        q = " ".join(rng.choice(WORDS) for _ in range(14))
        a = " ".join(rng.choice(WORDS) for _ in range(20))
        rec = {"instruction": q, "input": "", "output": a}
        lines.append(json.dumps(rec))
        if i % 25 == 0:
            later.append(json.dumps(rec))  # exact duplicate (D001) in the last part
            later.append(json.dumps({"instruction": q + "?", "input": "", "output": a + " ok"}))  # near duplicate
        if i % 40 == 7:  # the same prompt, another short answer: a conflict (D002) across parts
            later.append(json.dumps({"instruction": q, "input": "", "output": "no"}))
        if i % 97 == 0:
            lines.append('{"instruction": "broken", ')  # F001 in some part
    path.write_text("\n".join(lines + later) + "\n")


def parquet_dataset(path, n=600, group_rows=97):
    """``_dataset``'s parseable records as a Parquet file of several row groups."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    jl = path.with_suffix(".jsonl")
    _dataset(jl, n)
    rows = [json.loads(line) for line in jl.read_text().splitlines() if not line.startswith('{"instruction": "broken"')]
    jl.unlink()
    pq.write_table(pa.Table.from_pylist(rows), str(path), row_group_size=group_rows)
    return path


def KEY(d):
    return (d.code, d.line, d.column, d.pointer, d.message)


def split_setup(tmp_path, monkeypatch, n, select=("D", "F")):
    """A dataset of ``n`` records, its config, its findings in one pass (``KEY``), and files of
    any size split by ``run_parallel``."""
    from tunelint import parallel
    from tunelint.config import load_config
    from tunelint.engine import FileRun

    p = tmp_path / "train.jsonl"
    _dataset(p, n)
    cfg = load_config(data={"select": list(select)})
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    return p, cfg, sorted(map(KEY, FileRun(str(p), cfg).run()))


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance with 2 CPUs for the module (started through the engine's own
    mapper, so with its options); yields its address."""
    pytest.importorskip("ray.data", reason="the ray extra is not installed")
    saved = {k: os.environ.get(k) for k in IN_PROCESS}
    os.environ.update({k: ENV[k] for k in IN_PROCESS})
    from tunelint.rayengine import RayMapper

    mapper = RayMapper(2)
    ray = mapper._init()
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        mapper.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_ray_engine_gives_the_same_output_as_the_local_engine(tmp_path, ray_local):
    """The CLI on an existing Ray instance (--address): output byte for byte that of --jobs 1."""
    p = tmp_path / "train.jsonl"
    _dataset(p)
    base = ["check", "--isolated", "--exit-zero", "-q", "--output-format", "json", str(p)]
    local = run_cli(*base, "-j", "1", env=ENV)
    ray = run_cli(*base, "--engine", "ray", "--address", ray_local, "-j", "2", env=ENV)
    assert local.returncode == 0 and ray.returncode == 0, ray.stderr[-2000:]
    codes = {d["code"] for d in json.loads(local.stdout)["diagnostics"]}
    assert codes >= {"D001", "D002", "D003", "F001"}
    assert ray.stdout == local.stdout


def test_ray_engine_checks_parquet_row_groups_as_parts(tmp_path, ray_local):
    """A Parquet file of 7 row groups, split into runs of row groups on Ray: rows keep their
    numbers in the file; output byte for byte that of --jobs 1 (and of --jobs 2)."""
    p = parquet_dataset(tmp_path / "train.parquet")
    base = ["check", "--isolated", "--exit-zero", "-q", "--output-format", "json", str(p)]
    local = run_cli(*base, "-j", "1", env=ENV)
    ray = run_cli(*base, "--engine", "ray", "--address", ray_local, "-j", "2", env=ENV)
    jobs = run_cli(*base, "-j", "2", env=ENV)
    assert local.returncode == 0 and ray.returncode == 0, ray.stderr[-2000:]
    codes = {d["code"] for d in json.loads(local.stdout)["diagnostics"]}
    assert codes >= {"D001", "D002", "D003"}
    assert ray.stdout == local.stdout and jobs.stdout == local.stdout


def test_ray_groups_the_keys_with_its_shuffle_not_on_the_driver(tmp_path, monkeypatch, ray_local):
    """In process: the ranges go through Ray Data's actor pool (2 parts); the parts come back
    without their D001/D002 keys and near-duplicate band keys, which Ray's groupby grouped (the
    checks adopt the groups); the merged result equals --jobs 1 diagnostic for diagnostic."""
    from tunelint import parallel, rayengine

    p, cfg, serial = split_setup(tmp_path, monkeypatch, 300)
    adopted, left = [], []
    real_adopt = rayengine.adopt_part_groups

    def spy_adopt(first, tables, results):
        adopted.extend((name, mode, len(results.get(tid, ()))) for tid, _, name, mode in tables)
        return real_adopt(first, tables, results)

    monkeypatch.setattr(rayengine, "adopt_part_groups", spy_adopt)
    mapper = rayengine.RayMapper(2)
    real = mapper.__call__

    def spy(args, probe, progress):
        parts = real(args, probe, progress)
        for _, part in parts:  # what reached the driver
            for c in part.checks:
                for col in ("keys", "pkeys", "akeys"):
                    if c.rule.code in ("D001", "D002") and hasattr(c, col):
                        left.append(len(getattr(c, col)))
                st = getattr(c, "state", None)
                if st is not None and getattr(st, "owner", None) is c:
                    left.append(sum(map(len, st.train.pband + st.train.aband)))  # band-major columns, emptied
        return parts

    diags, stats = parallel.run_parallel(str(p), cfg, 2, mapper=spy)
    mapper.close()
    assert sorted(map(KEY, diags)) == serial and {k[0] for k in serial} >= {"D001", "D002", "D003"}
    # every table grouped by Ray, each in 2 partitions (both reached the driver: groups in each)
    assert sorted(adopted) == [("bands", "pairs", 2), ("copies", "members", 2), ("prompts", "members", 2)]
    assert left and not any(left)
    assert stats.records == sum(1 for line in p.read_text().splitlines() if line.strip())


def test_engine_ray_without_the_extra_is_one_line_naming_it(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"prompt": "a", "completion": " b"}\n')
    # a sitecustomize that hides ray, as if the extra were not installed
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None\n")
    import os

    r = run_cli("check", "--isolated", "--engine", "ray", str(p),
                env={"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "tunelint[ray]" in lines[0], r.stderr


def test_address_without_engine_ray_is_a_usage_error(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"prompt": "a", "completion": " b"}\n')
    r = run_cli("check", "--isolated", "--address", "auto", str(p))
    assert r.returncode == 2 and "--engine ray" in r.stderr


def test_small_files_merge_their_keys_on_the_driver(tmp_path, monkeypatch, ray_local):
    """Below ``group_min_bytes`` (default 256 MB: Ray's shuffle costs seconds whatever its
    size) the keys come back in the part states: no groups adopted, the same findings."""
    from tunelint import rayengine

    p, cfg, serial = split_setup(tmp_path, monkeypatch, 200)
    monkeypatch.delenv("TUNELINT_RAY_GROUP_KEYS_BYTES")
    adopted = []
    monkeypatch.setattr(rayengine, "adopt_part_groups", lambda *a: adopted.append(a))
    mapper = rayengine.RayMapper(2)
    assert mapper.group_min_bytes == rayengine.GROUP_KEYS_BYTES
    from tunelint import parallel

    diags, _ = parallel.run_parallel(str(p), cfg, 2, mapper=mapper)
    assert sorted(map(KEY, diags)) == serial and adopted == []
