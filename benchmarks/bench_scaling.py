"""Scaling of `tunelint check` over cores (and Ray, when installed), on independent and on
templated ("shared halves") data. Prints figures; asserts nothing.

    python benchmarks/bench_scaling.py                       # quick: 26k/104k records, jobs 1,2
    python benchmarks/bench_scaling.py --records 52000,416000 --jobs 1,2,4,8,16
    python benchmarks/bench_scaling.py --only neardup        # near-duplicate linearity only

Two generators (cached in /tmp/tunelint-bench/):
- ``independent``: chat records of Zipf pseudo-words (``bench_memory.record``): texts rarely share
  anything, so the dataset-level rules see few candidates;
- ``alpaca-pc``: the 52k Alpaca records as prompt/completion (``--records`` is ignored);
- ``halves``: chat records built by pairing Alpaca records (``--alpaca``; record k joins base
  record i with base record j, prompt with prompt and answer with answer), so many prompts share
  long halves, as templated datasets do. Without the Alpaca file, pseudo-word base records are
  paired instead.

For each generator and size it runs, in the same run and interleaved:
1. ``check`` at each ``--jobs`` value (default rules): wall, CPU (the child and its workers),
   records/s, speed-up over ``--jobs 1``, peak RSS of the largest single process (ru_maxrss);
2. the near-duplicate rules alone (``--select D003,D004,D005,D006,D007 -j 1``) at each size, and
   the cost ratio between consecutive sizes next to the records ratio (linear = equal);
3. ``--engine ray`` at the largest ``--jobs`` value when the installed tunelint has it and ray
   imports (otherwise one line says why it was skipped), against ``--jobs`` of the same value,
   then with the keys always grouped by Ray's shuffle and always merged on the driver
   (``TUNELINT_RAY_GROUP_KEYS_BYTES`` 0 / huge; the default groups files of 256 MB and more);
   then Ray's fixed cost (the same command on the file's first 100 records, split the same way)
   and the run against a Ray instance already up (``ray start --head``, ``--address auto``), as a
   team on Ray runs it.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_memory  # noqa: E402  (the pseudo-word record generator)

WORK = "/tmp/tunelint-bench"
ALPACA = "/work/shared/data/alpaca/alpaca_data.jsonl"
NEAR = "D003,D004,D005,D006,D007"


def _alpaca_base(path: str) -> list[tuple[str, str]]:
    import orjson

    out = []
    with open(path, "rb") as f:
        for raw in f:
            r = orjson.loads(raw)
            p = r["instruction"] + (("\n\n" + r["input"]) if r.get("input") else "")
            out.append((p, r["output"]))
    return out


def _pseudo_base(n: int, rnd: random.Random) -> list[tuple[str, str]]:
    bench_memory.VOCAB = bench_memory.vocabulary(rnd)
    return [(bench_memory.sentence(rnd, 5, 40), " ".join(bench_memory.sentence(rnd, 4, 25) for _ in range(rnd.choice((1, 2, 4, 8)))))
            for _ in range(n)]


def generate(kind: str, n: int, alpaca: str) -> str:
    import orjson

    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, f"scale_{kind}.jsonl" if kind == "alpaca-pc" else f"scale_{kind}_{n}.jsonl")
    if os.path.exists(path):
        return path
    rnd = random.Random(7)
    tmp = path + ".tmp"
    with open(tmp, "wb", buffering=1 << 20) as f:
        if kind == "alpaca-pc":  # Alpaca as prompt/completion, as the issue measured (n is ignored)
            for p, a in _alpaca_base(alpaca):
                f.write(orjson.dumps({"prompt": p + "\n\n###\n\n", "completion": " " + a + " END"}) + b"\n")
        elif kind == "independent":
            bench_memory.VOCAB = bench_memory.vocabulary(rnd)
            for i in range(n):
                f.write(orjson.dumps(bench_memory.record(rnd, i)) + b"\n")
        else:
            base = _alpaca_base(alpaca) if os.path.exists(alpaca) else _pseudo_base(52002, rnd)
            m = len(base)
            for k in range(n):
                i = k % m
                # the (k // m)-th partner of record i: every base record sits in 2 * n / m records
                j = (i + 1 + (k // m) * 7919 + rnd.randrange(3)) % m
                (pa, aa), (pb, ab) = base[i], base[j]
                rec = {"messages": [{"role": "user", "content": pa + "\n\n" + pb},
                                    {"role": "assistant", "content": aa + "\n\n" + ab}]}
                f.write(orjson.dumps(rec) + b"\n")
    os.replace(tmp, path)
    return path


def run(cmd: list[str]) -> dict:
    """Run one command; wall, CPU (the child and the workers it reaped) and the child's own peak
    RSS, from ``os.wait4`` (what ``/usr/bin/time -v`` reports). Output goes to temp files."""
    import tempfile

    env = dict(os.environ, NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-400:]
    return {"wall": wall, "rc": p.returncode, "err": tail, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}


def tunelint() -> list[str]:
    exe = shutil.which("tunelint")
    return [exe] if exe else [sys.executable, "-m", "tunelint"]


def has_engine_ray() -> str | None:
    h = subprocess.run(tunelint() + ["check", "--help"], capture_output=True, text=True).stdout
    if "--engine" not in h:
        return "this tunelint has no --engine option"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install 'tunelint[ray]')"
    return None


def ray_fixed_and_cluster(base: list[str], j: int, path: str, best, local: dict, ray: dict) -> None:
    """What the Ray run's wall time is made of: its fixed cost (the same command on the file's
    first 100 records: starting Ray, its actors, the plan), and the run against a Ray instance
    that is already up (``ray start --head``, then ``--address auto``: how a team on Ray runs it),
    where the fixed cost is the actors and the plan only."""
    tiny = path + ".head100"
    if not os.path.exists(tiny):
        with open(path, "rb") as f, open(tiny, "wb") as g:
            for _ in range(100):
                g.write(f.readline())
    os.environ["TUNELINT_MIN_PARALLEL_BYTES"] = "0"  # split the tiny file as the big one is split
    try:
        fixed = best(base + ["--engine", "ray", "-j", str(j), tiny])
        lfixed = best(base + ["-j", str(j), tiny])
    finally:
        os.environ.pop("TUNELINT_MIN_PARALLEL_BYTES")
    print(f"    fixed cost (first 100 records): ray {fixed['wall']:6.2f}s, -j {j} {lfixed['wall']:6.2f}s; "
          f"without it: ray x{(ray['wall'] - fixed['wall']) / max(local['wall'] - lfixed['wall'], 1e-9):.2f} of -j {j}")
    ray_bin = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    up = subprocess.run([ray_bin, "start", "--head", f"--num-cpus={j}", "--include-dashboard=false",
                         "--disable-usage-stats"], capture_output=True, text=True)
    if up.returncode != 0:
        print(f"    running cluster: skipped: ray start failed: {up.stderr.strip()[-200:]}")
        return
    try:
        warm = best(base + ["--engine", "ray", "--address", "auto", "-j", str(j), path])
        os.environ["TUNELINT_MIN_PARALLEL_BYTES"] = "0"
        try:
            wfixed = best(base + ["--engine", "ray", "--address", "auto", "-j", str(j), tiny])
        finally:
            os.environ.pop("TUNELINT_MIN_PARALLEL_BYTES")
        print(f"    on a running Ray instance (--address auto): {warm['wall']:7.2f}s x{warm['wall'] / local['wall']:.2f} "
              f"vs -j {j} (fixed cost {wfixed['wall']:.2f}s)")
    finally:
        subprocess.run([ray_bin, "stop", "--force"], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", default="26000,104000", help="comma-separated sizes, smallest first")
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    ap.add_argument("--kinds", default="independent,halves", help="independent, halves, alpaca-pc")
    ap.add_argument("--only", choices=("all", "jobs", "neardup", "ray"), default="all")
    ap.add_argument("--reps", type=int, default=1, help="rounds per figure (the best is printed)")
    ap.add_argument("--alpaca", default=ALPACA)
    args = ap.parse_args()
    sizes = [int(x) for x in args.records.split(",")]
    jobs = [int(x) for x in args.jobs.split(",")]
    try:
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    except OSError:
        pass
    base = tunelint() + ["check", "--isolated", "--exit-zero", "-q", "--output-format", "json"]

    def best(cmd):
        rs = [run(cmd) for _ in range(args.reps)]
        for r in rs:
            if r["rc"] not in (0, 1):
                print(f"    ! exit {r['rc']}: {r['err']}")
        return min(rs, key=lambda r: r["wall"])

    for kind in args.kinds.split(","):
        near_prev = None
        for n in sizes:
            t0 = time.perf_counter()
            path = generate(kind, n, args.alpaca)
            mb = os.path.getsize(path) / 1e6
            print(f"\n== {kind}: {n:,} records, {mb:.0f} MB ({path}; ready in {time.perf_counter() - t0:.0f}s)")
            if args.only in ("all", "jobs"):
                one = None
                for j in jobs:
                    r = best(base + ["-j", str(j), path])
                    one = one or r["wall"]
                    print(f"  check -j {j:<3} wall {r['wall']:7.2f}s  cpu {r['cpu']:7.2f}s  {n / r['wall']:9,.0f} rec/s  "
                          f"x{one / r['wall']:.2f} vs -j {jobs[0]}  peak RSS {r['rss_mb']:6.0f} MB")
            if args.only in ("all", "neardup"):
                r = best(base + ["-j", "1", "--select", NEAR, path])
                line = f"  near-dup rules only (-j 1): wall {r['wall']:7.2f}s  cpu {r['cpu']:7.2f}s"
                if near_prev is not None:
                    pn, pc = near_prev
                    line += f"  cost x{r['cpu'] / max(pc, 1e-9):.2f} for records x{n / pn:.2f} (linear = equal)"
                near_prev = (n, r["cpu"])
                print(line)
            if args.only in ("all", "ray"):
                why = has_engine_ray()
                if why:
                    print(f"  ray: skipped: {why}")
                else:
                    j = jobs[-1]
                    local = best(base + ["-j", str(j), path])
                    ray = best(base + ["--engine", "ray", "-j", str(j), path])
                    how = {}  # the keys grouped by Ray's shuffle / merged on the driver, whatever the file's size
                    for name, at in (("shuffle", "0"), ("driver", str(1 << 62))):
                        os.environ["TUNELINT_RAY_GROUP_KEYS_BYTES"] = at
                        try:
                            how[name] = best(base + ["--engine", "ray", "-j", str(j), path])
                        finally:
                            os.environ.pop("TUNELINT_RAY_GROUP_KEYS_BYTES")
                    print(f"  ray ({j} workers) wall {ray['wall']:7.2f}s vs -j {j} {local['wall']:7.2f}s: x{ray['wall'] / local['wall']:.2f} (target <= 1.5)")
                    print("    keys " + ", ".join(f"{k}: {r['wall']:7.2f}s x{r['wall'] / local['wall']:.2f}" for k, r in how.items()))
                    ray_fixed_and_cluster(base, j, path, best, local, ray)


if __name__ == "__main__":
    main()
