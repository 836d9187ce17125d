"""Time `fix` against `check` on the same file, in one run (the target: fix <= 1.5x check).

    python benchmarks/bench_fix.py [FILE] [--unsafe] [--repeat N]

Default FILE: ../shared/data/alpaca/alpaca_data.jsonl (52k Alpaca records). Both run
in-process with the default configuration; the fix output goes to a temporary directory.
Timings on a shared machine are noisy: the best of N runs is reported for each.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "alpaca", "alpaca_data.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--unsafe", action="store_true", help="also time fix --unsafe-fixes")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    from tunelint.config import load_config
    from tunelint.engine import check_paths
    from tunelint.fixer import Fixer, FixPolicy

    cfg = load_config(isolated=True)
    size = os.path.getsize(a.file)
    print(f"file: {a.file} ({size / 1e6:.1f} MB), {os.cpu_count()} CPUs (shared: timings are noisy)")
    best: dict[str, float] = {}
    info: dict[str, str] = {}
    modes = ["check", "fix"] + (["fix --unsafe-fixes"] if a.unsafe else [])
    with tempfile.TemporaryDirectory() as d:
        for _ in range(a.repeat):
            for m in modes:
                t0 = time.perf_counter()
                if m == "check":
                    res = check_paths([a.file], cfg)
                    info[m] = f"{len(res.diagnostics):,} diagnostics, {res.files[0].records:,} records"
                else:
                    fx = Fixer(cfg, FixPolicy.from_config(cfg, unsafe="unsafe" in m))
                    r = fx.fix_file(a.file, os.path.join(d, "out.jsonl"), rejects=os.path.join(d, "rej.jsonl"))
                    info[m] = r.summary().split(": ", 1)[1]
                dt = time.perf_counter() - t0
                best[m] = min(best.get(m, dt), dt)
    for m in modes:
        ratio = f"  ({best[m] / best['check']:.2f}x check)" if m != "check" else ""
        print(f"{m:<20} {best[m]:8.2f} s{ratio}  {info[m]}")
    ok = best["fix"] <= 1.5 * best["check"]
    print(f"target fix <= 1.5x check: {'met' if ok else 'NOT met'}")
    sys.exit(0)


if __name__ == "__main__":
    main()
