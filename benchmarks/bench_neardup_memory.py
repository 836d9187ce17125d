"""Peak memory of near-duplicate detection on 1 million generated records (target: < 2 GB).

    python benchmarks/bench_neardup_memory.py [--records 1000000] [--keep FILE]

Generates Alpaca-style records (prompt 8-25 words, answer 20-80 words from a 20k-word
vocabulary, 1 % planted near-duplicates: one word changed), then runs
`tunelint check FILE --select D003,D004,D005,D006` in a child process and prints its wall
time, peak RSS (ru_maxrss of the child) and the findings per code. The planted count is printed
too, so recall can be judged. Timings are noisy on a shared 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter


def generate(path: str, n: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(20000)]
    planted = 0
    prev = None
    with open(path, "w") as f:
        for i in range(n):
            if prev is not None and rng.random() < 0.01:
                ins, out = prev
                w = out.split()
                w[rng.randrange(len(w))] = rng.choice(vocab)
                rec = {"instruction": ins + "?", "input": "", "output": " ".join(w)}
                planted += 1
            else:
                ins = " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 25)))
                out = " ".join(rng.choice(vocab) for _ in range(rng.randint(20, 80)))
                rec = {"instruction": ins, "input": "", "output": out}
                prev = (ins, out)
            f.write(json.dumps(rec) + "\n")
    return planted


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--keep", help="write the generated file here (and reuse it if it exists)")
    a = ap.parse_args()
    tmp = None
    if a.keep:
        path = a.keep
    else:
        tmp = tempfile.TemporaryDirectory()
        path = os.path.join(tmp.name, "gen.jsonl")
    t = time.perf_counter()
    planted = None
    if not (a.keep and os.path.exists(path)):
        planted = generate(path, a.records)
    print(f"generated {a.records} records ({os.path.getsize(path) / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s; "
          f"planted near-duplicates: {planted if planted is not None else 'unknown (reused file)'}")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "tunelint", "check", path, "--select", "D003,D004,D005,D006",
                        "--output-format", "json", "--exit-zero"], capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        out = json.loads(p.stdout)
        diags = out["diagnostics"] if isinstance(out, dict) else out
        counts = dict(sorted(Counter(d["code"] for d in diags).items()))
    except ValueError:
        counts = {"error": (p.stderr or p.stdout)[-300:]}
    print(f"tunelint check --select D003-D006: {wall:.1f} s wall, peak RSS {peak_kb / 1024:.0f} MB "
          f"({'under' if peak_kb < 2 * 1024 * 1024 else 'OVER'} the 2 GB target)")
    print("findings:", counts)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
