"""`--engine ray`: the same findings as the local engine, on a local Ray instance with 2 workers.

Ray is an optional extra (`tunelint[ray]`, part of `[all]`, which README's commands install).
"""
import json
import random

import pytest

from conftest import run_cli

WORDS = ("alpha beta gamma delta model token train data answer prompt quick brown fox jumps over "
         "the lazy dog while seven wizards quietly judge boxing matches near old towers").split()


def _dataset(path, n=600):
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
        if i % 97 == 0:
            lines.append('{"instruction": "broken", ')  # F001 in some part
    path.write_text("\n".join(lines + later) + "\n")


def _findings(out: str) -> list:
    doc = json.loads(out)
    diags = doc["diagnostics"] if isinstance(doc, dict) else doc
    return sorted(json.dumps(d, sort_keys=True) for d in diags)


def test_ray_engine_gives_the_same_findings_as_the_local_engine(tmp_path):
    pytest.importorskip("ray.data", reason="the ray extra is not installed")
    p = tmp_path / "train.jsonl"
    _dataset(p)
    env = {"TUNELINT_MIN_PARALLEL_BYTES": "0", "RAY_AUTH_MODE": "disabled"}
    base = ["check", "--isolated", "--exit-zero", "-q", "--output-format", "json", str(p)]
    local = run_cli(*base, "-j", "1", env=env)
    ray = run_cli(*base, "--engine", "ray", "-j", "2", env=env)
    assert local.returncode == 0 and ray.returncode == 0, ray.stderr[-2000:]
    want = _findings(local.stdout)
    assert want and {json.loads(d)["code"] for d in want} >= {"D001", "F001"}
    assert _findings(ray.stdout) == want


def test_ray_mapper_splits_into_parts_and_merges_in_file_order(tmp_path, monkeypatch):
    """In process: the ranges really go through Ray Data's actor pool (2 parts), and the merged
    result equals --jobs 1 diagnostic for diagnostic."""
    pytest.importorskip("ray.data", reason="the ray extra is not installed")
    from tunelint import parallel
    from tunelint.config import load_config
    from tunelint.engine import FileRun
    from tunelint.rayengine import RayMapper

    p = tmp_path / "train.jsonl"
    _dataset(p, 300)
    cfg = load_config(data={"select": ["D", "F"]})
    serial = sorted((d.code, d.line, d.message) for d in FileRun(str(p), cfg).run())
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    calls = []
    mapper = RayMapper(2)
    real = mapper.__call__

    def spy(args, probe, progress):
        calls.append(len(args))
        return real(args, probe, progress)

    try:
        diags, stats = parallel.run_parallel(str(p), cfg, 2, mapper=spy)
    finally:
        mapper.close()
    assert calls == [2]
    assert sorted((d.code, d.line, d.message) for d in diags) == serial
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
