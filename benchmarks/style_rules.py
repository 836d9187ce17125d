"""What the S (style) rules add to `tunelint check`, and what `--profile` costs.

Usage: python benchmarks/style_rules.py [FILE] [ROUNDS]
(default: the 52k-record Alpaca file of /work/shared/data). Runs the engine in-process with
only F001 selected (parse + normalize baseline) and with F001 plus every S rule, interleaved,
and prints the best CPU and wall time of each; the difference is the S rules' cost. Timings on
a shared machine are noisy: compare best-of-N, not single runs.
"""
from __future__ import annotations

import os
import sys
import time

from tunelint.config import load_config
from tunelint.engine import FileRun

DEFAULT = "/work/shared/data/alpaca/alpaca_data.jsonl"


def timed(path: str, select: list[str]) -> tuple[float, float, int]:
    cfg = load_config(data={"select": select})
    c0, w0 = time.process_time(), time.perf_counter()
    n = len(FileRun(path, cfg).run())
    return time.process_time() - c0, time.perf_counter() - w0, n


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if not os.path.exists(path):
        sys.exit(f"no such file: {path}")
    best: dict[str, list[float]] = {}
    found = {}
    for _ in range(rounds):
        for name, sel in (("baseline (F001)", ["F001"]), ("F001 + S rules", ["F001", "S"])):
            cpu, wall, n = timed(path, sel)
            b = best.setdefault(name, [float("inf"), float("inf")])
            b[0], b[1] = min(b[0], cpu), min(b[1], wall)
            found[name] = n
    for name, (cpu, wall) in best.items():
        print(f"{name:18s} cpu {cpu:6.2f} s   wall {wall:6.2f} s   diagnostics {found[name]}")
    (c0, w0), (c1, w1) = best.values()
    print(f"S rules add        cpu {c1 - c0:6.2f} s   wall {w1 - w0:6.2f} s   (best of {rounds}, {os.cpu_count()} cores, shared machine: noisy)")
    from tunelint.profile import collect

    c0, w0 = time.process_time(), time.perf_counter()
    turn_rows, _ = collect([path], load_config(data={"select": ["F001"]}))
    print(f"profile rows       cpu {time.process_time() - c0:6.2f} s   wall {time.perf_counter() - w0:6.2f} s   ({len(turn_rows)} turns)")


if __name__ == "__main__":
    main()
