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
