"""--jobs gives the same output as one process for every rule, default-off ones included."""
import pytest

from tunelint import parallel
from tunelint.config import load_config
from tunelint.engine import FileRun

from test_ray_engine import KEY, _dataset, parquet_dataset, split_setup


@pytest.mark.parametrize("jobs", [3])
def test_every_rule_gives_the_same_findings_with_jobs(tmp_path, monkeypatch, jobs):
    p = tmp_path / "train.jsonl"
    _dataset(p, 400)
    cfg = load_config(data={"select": ["ALL"]})
    key = lambda d: (d.code, d.line, d.column, d.pointer, d.message)
    serial = sorted(map(key, FileRun(str(p), cfg).run()))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    assert len(parallel._ranges(str(p), jobs)) == jobs
    par, _ = parallel.run_parallel(str(p), cfg, jobs)
    assert serial and sorted(map(key, par)) == serial


def test_near_duplicate_verification_split_over_processes_gives_the_same_findings(tmp_path, monkeypatch):
    """--jobs N verifies the candidate pairs in N slices (forked children): same findings, also
    when a child fails (its slice is verified in the parent)."""
    from tunelint import forkmap
    from tunelint import nearstate as neardup

    p = tmp_path / "train.jsonl"
    _dataset(p, 400)
    cfg = load_config(data={"select": ["D003", "D004", "D005", "D006", "D007"]})
    key = lambda d: (d.code, d.line, d.message)
    serial = sorted(map(key, FileRun(str(p), cfg).run()))
    monkeypatch.setattr(neardup, "FORK_PAIRS", 1)
    forkmap.set_workers(3)
    try:
        split = sorted(map(key, FileRun(str(p), cfg).run()))
        real = forkmap.spawn
        monkeypatch.setattr(forkmap, "spawn", lambda fn: real(lambda: 1 / 0))  # every child fails
        failed = sorted(map(key, FileRun(str(p), cfg).run()))
    finally:
        forkmap.set_workers(1)
    assert serial and split == serial and failed == serial


def test_fork_map_results_in_order_and_fallback():
    from tunelint import forkmap

    assert forkmap.fork_map(lambda c: [x * 2 for x in c], [[1], [2, 3], [], [4]]) == [[2], [4, 6], [], [8]]
    assert forkmap.fork_map(len, []) == []
    assert forkmap.collect(None, lambda: "here") == "here"


def test_automatic_jobs_follow_the_cpu_affinity_not_the_machine(monkeypatch):
    """Under taskset or a container's cpuset, -j 0 starts as many workers as may run."""
    import os

    from tunelint import forkmap

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert forkmap.cpus() == 2


def test_keys_exported_and_grouped_apart_give_the_same_findings(tmp_path, monkeypatch):
    """The key hooks without Ray: each part hands its D001/D002 keys and near-duplicate band keys
    out (``DatasetCheck.export_keys``), they are grouped in 3 partitions (``keygroups``, as
    Ray's shuffle does), the first part's checks adopt the groups: the findings of one pass."""
    from tunelint import keygroups

    p, cfg, serial = split_setup(tmp_path, monkeypatch, 400)
    seen = []

    def grouped_apart(args, probe, progress):
        parts = [parallel.work_part(a) for a in args]
        pieces: dict = {}
        for _, st in parts:
            tables, mine = parallel.export_part_keys(st, 3)
            for (tid, _), piece in sorted(mine.items(), reverse=True):  # reducers see pieces in any order
                pieces.setdefault((tid, _), []).append(piece)
        results: dict = {}
        for (tid, _), pcs in pieces.items():
            results.setdefault(tid, []).append(keygroups.reduce(pcs))
        seen.extend(sorted(name for _, _, name, _ in tables))
        parallel.adopt_part_groups(parts[0][1], tables, results)
        return parts

    diags, _ = parallel.run_parallel(str(p), cfg, 3, mapper=grouped_apart)
    assert seen == ["bands", "copies", "prompts"]
    assert {k[0] for k in serial} >= {"D001", "D002", "D003"} and sorted(map(KEY, diags)) == serial


def test_key_groups_equal_grouping_the_merged_keys():
    """keygroups over parts and partitions: the candidate pairs of minhash.candidate_pairs on
    the merged band keys, and the groups of duplicates.groups on the merged keys."""
    np = pytest.importorskip("numpy")
    from array import array

    from tunelint import keygroups, minhash
    from tunelint.checks.duplicates import groups

    rng = np.random.default_rng(3)
    n, cols = 3000, 6
    keys = rng.integers(0, 400, size=(n, cols)).astype(np.uint32)
    valid = rng.random((n, cols)) > 0.1
    order = np.cumsum(rng.integers(1, 4, size=n)).astype(np.uint64)  # lines: increasing, with gaps
    cuts = [0, 700, 701, 2200, n]
    tables = [keygroups.KeyTable("bands", "pairs", keys[a:b], order[a:b], valid[a:b]) for a, b in zip(cuts, cuts[1:])]
    I, J, C = keygroups.group(tables, 4)
    want, counts = minhash.link_counts([minhash.candidate_pairs(keys[:, c:c + 1], valid[:, c]) for c in range(cols)])
    assert len(want) > 1000 and counts.max() > 1
    assert I.tolist() == order[want // n].tolist() and J.tolist() == order[want % n].tolist()
    assert C.tolist() == counts.tolist()

    k = rng.integers(0, 900, size=n).astype(np.uint64)
    pay = rng.integers(0, 3, size=n).astype(np.uint64)
    got = keygroups.group([keygroups.KeyTable("p", "members", k[a:b], order[a:b], pay[a:b]) for a, b in zip(cuts, cuts[1:])], 3)
    ref = sorted((tuple(int(order[i]) for i in g), tuple(int(pay[i]) for i in g))
                 for g in groups(array("Q", k.tolist()), array("Q", order.tolist())))
    assert got == ref and len(got) > 100


def test_parquet_row_groups_are_parts_with_the_rows_of_the_file(tmp_path, monkeypatch):
    """--jobs splits a Parquet file into runs of whole row groups (about equal in rows), each
    numbering its rows as the file does: the findings of one pass, row for row."""
    p = parquet_dataset(tmp_path / "train.parquet")
    cfg = load_config(data={"select": ["ALL"]})
    key = lambda d: KEY(d) + (d.unit,)
    serial = sorted(map(key, FileRun(str(p), cfg).run()))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    parts = []

    def spy(args, probe, progress):
        parts.extend(a[2] for a in args)
        return parallel.map_local(args, probe, progress)

    par, stats = parallel.run_parallel(str(p), cfg, 3, mapper=spy)
    assert parts == [("row-groups", 0, 3, 1), ("row-groups", 3, 5, 292), ("row-groups", 5, 7, 486)]
    assert {k[0] for k in serial} >= {"D001", "D002", "D003"} and sorted(map(key, par)) == serial
    assert stats.records == 663 and stats.mode == "parquet" and stats.format == "alpaca"
    # one row group, or Arrow/CSV: one pass
    one = parquet_dataset(tmp_path / "one.parquet", 50, 10_000)
    assert not parallel._splittable(str(one))


@pytest.mark.parametrize("kind", ["chat", "legacy-prompt-completion"])
def test_a_parts_state_pickles_so_jobs_never_fall_back_to_one_process(tmp_path, kind):
    """``run_parallel`` checks the file serially (same findings, one core) when a part's state
    cannot be pickled back; every rule's state must pickle after a pass over each format
    (a rule that kept a closure in ``begin`` once made every legacy file serial)."""
    import json
    import pickle

    p = tmp_path / "train.jsonl"
    if kind == "chat":
        _dataset(p, 50)
    else:
        p.write_text("".join(json.dumps({"prompt": f"Q{i}?\n\n###\n\n", "completion": f" A{i}. END"}) + "\n" for i in range(50)))
    run = FileRun(str(p), load_config(data={"select": ["ALL"]}))
    for _ in run.events():
        pass
    pickle.loads(pickle.dumps(run.state()))
