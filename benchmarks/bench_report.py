"""Time `tunelint report` (HTML + GX suite) on a real dataset and print the figures.

    python benchmarks/bench_report.py [PATH] [--repeat N]

Default PATH: the 52k Alpaca records in /work/shared/data (target: at most 20 s). Prints the
wall time of the whole command in a fresh process (start-up and imports included) and, in
this process, the split between the engine pass with the feature table, the HTML page and
the GX suite. Timings on a shared machine are noisy: compare medians of several runs.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT = "/work/shared/data/alpaca/alpaca_data.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    if not os.path.exists(a.path):
        sys.exit(f"{a.path}: not found")
    tmp = tempfile.mkdtemp(prefix="tunelint-bench-")
    try:
        _bench(a, tmp)
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _bench(a, tmp: str) -> None:
    html, suite = os.path.join(tmp, "r.html"), os.path.join(tmp, "s.json")
    walls, cpus = [], []
    for _ in range(a.repeat):
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "tunelint", "report", a.path, "--isolated", "--html", html,
                            "--gx-suite", suite], capture_output=True, text=True)
        walls.append(time.perf_counter() - t)
        ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(ru2.ru_utime - ru.ru_utime + ru2.ru_stime - ru.ru_stime)
        if r.returncode:
            sys.exit(r.stderr)
    print(f"tunelint report {a.path} --html --gx-suite: wall {statistics.median(walls):.2f} s "
          f"(median of {len(walls)}: {', '.join(f'{w:.2f}' for w in walls)}); CPU (user+sys, token worker included) "
          f"{statistics.median(cpus):.2f} s; HTML {os.path.getsize(html) / 1e6:.2f} MB")

    from tunelint.config import load_config
    from tunelint.features import collect
    from tunelint.gx import build_suite
    from tunelint.report import EXAMPLE_PRICES
    from tunelint.report.html import render

    cfg = load_config(data={})
    c0 = time.process_time()
    t0 = time.perf_counter()
    fc, res = collect([a.path], cfg)
    t1 = time.perf_counter()
    c1 = time.process_time()
    page = render(fc, res, cfg, {"epochs": 3, "prices": EXAMPLE_PRICES})
    t2 = time.perf_counter()
    build_suite(fc.frame(), target=cfg.target)
    t3 = time.perf_counter()
    print(f"in-process: engine pass + features {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU in the main process ({len(fc):,} records, {len(res.diagnostics):,} findings); "
          f"HTML {t2 - t1:.2f} s ({len(page) / 1e6:.2f} MB); GX suite {t3 - t2:.2f} s (GX import included)")
    t4 = time.perf_counter()
    c4 = time.process_time()
    from tunelint.engine import check_paths

    check_paths([a.path], cfg)
    print(f"for comparison, `check` alone (engine pass, no features): {time.perf_counter() - t4:.2f} s wall, "
          f"{time.process_time() - c4:.2f} s CPU")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
