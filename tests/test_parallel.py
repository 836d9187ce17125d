"""--jobs gives the same output as one process for every rule, default-off ones included."""
import pytest

from tunelint import parallel
from tunelint.config import load_config
from tunelint.engine import FileRun

from test_ray_engine import _dataset


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
