"""Start-up cost of `tunelint check` on a 100-record file (target: <= 0.35 s wall, interpreter included).

    python benchmarks/bench_startup.py [--runs 15] [--records 100]

Times the console script end to end (fork, interpreter start, imports, config and rule packs,
the check, output) N times and prints best and median, next to a bare ``python -c pass`` for
reference. Then runs the same check once in-process under ``python -X importtime`` and prints
which heavy modules got imported (great_expectations, spacy, pandas, numpy, matplotlib,
tiktoken, rapidfuzz, ftfy: none should be) and the slowest imports.

Prints figures; asserts nothing. The machine is shared: compare best times.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("great_expectations", "spacy", "pandas", "numpy", "matplotlib", "tiktoken", "rapidfuzz", "ftfy", "thinc", "scipy")


def make_file(path: str, n: int) -> None:
    import orjson

    rnd = random.Random(7)
    words = "the model learns answers from clear short examples about data tokens files and rules".split()
    with open(path, "wb") as f:
        for i in range(n):
            q = " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 20))).capitalize() + "?"
            a = " ".join(rnd.choice(words) for _ in range(rnd.randint(10, 60))).capitalize() + "."
            rec = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                                {"role": "user", "content": f"{q} ({i})"}, {"role": "assistant", "content": a}]}
            f.write(orjson.dumps(rec) + b"\n")


def tunelint_cmd() -> list[str]:
    exe = shutil.which("tunelint")
    return [exe] if exe else [sys.executable, "-m", "tunelint"]


def wall(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


PROBE = r"""
import sys, json
from tunelint.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout = sys.__stdout__
print("\n@@" + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r and "." not in m)))
""" % (HEAVY,)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--records", type=int, default=100)
    ap.add_argument("--top", type=int, default=12, help="slowest imports to list")
    args = ap.parse_args()

    d = tempfile.mkdtemp(prefix="tunelint-startup-")
    path = os.path.join(d, "train.jsonl")
    make_file(path, args.records)
    env = dict(os.environ, NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        # an installed package has its .pyc files; without them every start compiles every module
        print("note: PYTHONDONTWRITEBYTECODE is set here; unset for these runs so .pyc files are written and used")
    cmd = tunelint_cmd() + ["check", "--isolated", "--exit-zero", path]
    try:
        la = os.getloadavg()
        print(f"{os.cpu_count()} CPUs, load average {la[0]:.2f} (shared machine: wall times are noisy; compare best)")
    except OSError:
        pass
    print(f"file: {args.records} chat records, {os.path.getsize(path):,} bytes")

    wall(cmd, env)  # warm the page cache and .pyc files
    py = [wall([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
    tl = [wall(cmd, env) for _ in range(args.runs)]
    print(f"python -c pass       : best {min(py):.3f}s  median {statistics.median(py):.3f}s")
    print(f"tunelint check       : best {min(tl):.3f}s  median {statistics.median(tl):.3f}s  (n={args.runs}; target <= 0.35s)")

    p = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE, "check", "--isolated", "--exit-zero", path],
                       capture_output=True, text=True, env=env)
    mods = []
    for line in p.stdout.splitlines():
        if line.startswith("@@"):
            import json

            mods = json.loads(line[2:])
    print(f"heavy modules imported: {', '.join(mods) if mods else 'none'}")
    rows = []
    for line in p.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line[len("import time:"):].split("|")
            try:
                rows.append((int(parts[1]), parts[2].rstrip()))
            except ValueError:
                continue
    top_level = [(us, name) for us, name in rows if not name.startswith("  ")]
    total = sum(us for us, _ in top_level)
    print(f"imports total (top-level cumulative): {total / 1e6:.3f}s; slowest top-level imports:")
    for us, name in sorted(top_level, reverse=True)[: args.top]:
        print(f"  {us / 1e3:8.1f} ms  {name.strip()}")
    print("slowest imports at any depth (cumulative):")
    for us, name in sorted(rows, reverse=True)[: args.top]:
        print(f"  {us / 1e3:8.1f} ms  {name.strip()}")
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
